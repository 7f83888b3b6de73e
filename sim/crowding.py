"""Crowding as route choice sees it: in-vehicle time multipliers and the extra wait full trains
cause, per leg and time bin, measured from a run's tables; averaged over the route-choice
iterations (method of successive averages).

A rider's in-vehicle time multiplier on a train with `load` riders, `seats` seats: 1 + (m_seated
- 1) * load / seats while everyone can sit, then the mix of seated riders at m_seated and standing
riders at m_standing (Wardman & Whelan 2011: averages 1.19 seated and 2.32 standing on crowded
trains). The extra wait of a leg is the mean, over riders reaching its boarding platform in the bin
(on any leg from there), of the wait beyond the random-incidence expectation (time lost to full
trains), never below 0.

A leg's multiplier for riders reaching its platform in a bin is the mean, over the platforms its
train leaves along the ride, of the mean multiplier of the trains leaving each platform in the bin
in which the rider's train is expected there: the middle of the bin, plus the expected wait (random
incidence and extra), plus the scheduled time from the boarding platform to that platform. A long
ride boarded before the peak thus meets the peak loads on the platforms it reaches in the peak.
Times past the tabulated bins clip to the last one (which thus holds every train leaving after its
start). Both are indexed as route choice reads them: by the bin in which the rider reaches the
leg's platform.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .network import Network
from .routing import WAIT_BIN_S, LegNetwork
from .schema import CrowdingSpec


@dataclass(frozen=True)
class CrowdingField:
    """Per leg option and wait bin of the legs (the bin in which the rider reaches the leg's
    platform): in-vehicle time multiplier and extra wait (s)."""

    ivt_factor: np.ndarray
    extra_wait: np.ndarray


@dataclass(frozen=True)
class LegPaths:
    """The platforms the trains of every leg option leave along the ride (boarding platform up to
    the stop before the alighting station), flattened in leg option order: those of option k are
    entries start[k]:start[k + 1]."""

    platform: np.ndarray
    """Platform index of each entry (int64)."""
    offset_s: np.ndarray
    """Scheduled time (s) from leaving the boarding platform to leaving the entry's platform."""
    start: np.ndarray
    """First entry of each leg option, and the number of entries at the end (int64)."""


def neutral(legs: LegNetwork) -> CrowdingField:
    shape = legs.wait_bins.shape
    return CrowdingField(np.ones(shape), np.zeros(shape))


def multiplier(load: np.ndarray, seats: np.ndarray, spec: CrowdingSpec) -> np.ndarray:
    """Mean in-vehicle time multiplier of the riders of trains with `load` riders and `seats`
    seats (1 where a line gives no seat count)."""
    load = np.asarray(load, dtype=float)
    seats = np.asarray(seats, dtype=float)
    out = np.ones_like(load)
    known = seats > 0
    sitting = known & (load <= seats)
    out[sitting] = 1 + (spec.seated_multiplier - 1) * load[sitting] / seats[sitting]
    full = known & (load > seats)
    s, ld = seats[full], load[full]
    out[full] = (s * spec.seated_multiplier + (ld - s) * spec.standing_multiplier) / ld
    return out


def leg_paths(network: Network, legs: LegNetwork) -> LegPaths:
    """The platforms every leg option's trains leave and when, from the first pattern serving it
    (see LegPaths)."""
    at: dict[tuple[int, int], tuple[tuple[int, ...], np.ndarray]] = {}
    for p in network.patterns:
        dep = np.asarray(p.dep_offset, dtype=float)
        for i, plat in enumerate(p.platforms[:-1]):
            for j in range(i + 1, len(p.stops)):
                if (plat, p.stops[j]) not in at:
                    at[(plat, p.stops[j])] = (p.platforms[i:j], dep[i:j] - dep[i])
    paths = [at[(leg.platform, leg.alight)] for leg in legs.options]
    sizes = np.asarray([len(plats) for plats, _ in paths], dtype=np.int64)
    return LegPaths(np.asarray([x for plats, _ in paths for x in plats], dtype=np.int64),
                    np.concatenate([off for _, off in paths]) if paths else np.zeros(0),
                    np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64))


def _codes(column: pd.Series, index: dict[str, int]) -> np.ndarray:
    """Network indices of a categorical (or string) column of ids."""
    col = column if isinstance(column.dtype, pd.CategoricalDtype) else column.astype("category")
    lookup = np.asarray([index[c] for c in col.cat.categories] + [-1], dtype=np.int64)
    return lookup[col.cat.codes.to_numpy()]


class PlatformLookup:
    """Platform of a train call (its pattern and station), and leg option of (platform, alighting
    station), vectorised."""

    def __init__(self, network: Network, legs: LegNetwork) -> None:
        self.net = net = network
        n_st = len(net.stations)
        self.pattern_index = {p.id: p.index for p in net.patterns}
        self.call_plat = np.full((len(net.patterns), n_st), -1, dtype=np.int64)
        for p in net.patterns:
            self.call_plat[p.index, list(p.stops)] = p.platforms
            for _, station, plat, _ in p.passes:
                self.call_plat[p.index, station] = plat
        keys = np.asarray([leg.platform * n_st + leg.alight for leg in legs.options], dtype=np.int64)
        self.order = np.argsort(keys)
        self.sorted_keys = keys[self.order]

    def call_platform(self, pattern: np.ndarray, station: np.ndarray) -> np.ndarray:
        return self.call_plat[pattern, station]

    def boarding_platform(self, legs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Boarding platform and alighting station of every boarded row of a legs table (by the
        pattern of the train boarded)."""
        net = self.net
        b, a = _codes(legs["board_station"], net.station_index), _codes(legs["alight_station"], net.station_index)
        ids = legs["train_id"].astype("category")
        pattern = np.asarray([self.pattern_index.get(str(t).rsplit("@", 1)[0], -1) for t in ids.cat.categories] + [-1],
                             dtype=np.int64)[ids.cat.codes.to_numpy()]
        return self.call_platform(pattern, b), a

    def leg_option(self, platform: np.ndarray, alight: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self.sorted_keys, platform * len(self.net.stations) + alight)
        return self.order[np.minimum(pos, len(self.order) - 1)]


def platform_multipliers(network: Network, legs: LegNetwork, trains: pd.DataFrame, spec: CrowdingSpec,
                         lookup: PlatformLookup) -> np.ndarray:
    """Mean multiplier of the trains leaving each platform in each wait bin of `legs` [platform,
    bin]; 1 where none leaves."""
    n_plat, n_bins = len(network.platforms), legs.wait_bins.shape[1]
    dep = trains[trains["t_depart"].notna() & (trains["load_after"] > 0)]
    line = _codes(dep["line"], network.line_index)
    call_plat = lookup.call_platform(_codes(dep["service"], lookup.pattern_index),
                                     _codes(dep["station"], network.station_index))
    seats = np.asarray([float(ln.ops.seats) if ln.ops else 0.0 for ln in network.lines])[line]
    m = multiplier(dep["load_after"].to_numpy(), seats, spec)
    cell = call_plat * n_bins + legs.wait_bin(dep["t_depart"].to_numpy())
    total = np.bincount(cell, weights=m, minlength=n_plat * n_bins)
    count = np.bincount(cell, minlength=n_plat * n_bins)
    return np.where(count > 0, total / np.maximum(count, 1), 1.0).reshape(n_plat, n_bins)


def extra_waits(network: Network, legs: LegNetwork, legs_table: pd.DataFrame, lookup: PlatformLookup) -> np.ndarray:
    """Extra wait (s) per leg option and bin [leg option, bin]: that of its boarding platform,
    over the riders (rows of a run's legs table) who reached it in the bin and boarded (see the
    module docstring)."""
    n_plat, n_bins = len(network.platforms), legs.wait_bins.shape[1]
    boarded = legs_table[legs_table["t_board"].notna()]
    lp, alight = lookup.boarding_platform(boarded)
    ok = lp >= 0  # not: riders put off a train cut short who went on with a train of another pattern
    boarded, lp, alight = boarded[ok], lp[ok], alight[ok]
    k = lookup.leg_option(lp, alight)
    t_plat = boarded["t_platform"].to_numpy()
    ride = boarded["ride_before_s"].to_numpy() if "ride_before_s" in boarded else 0.0
    lost = np.maximum(0.0, boarded["t_board"].to_numpy() - ride - t_plat - legs.expected_wait(k, t_plat))
    cell = lp * n_bins + legs.wait_bin(t_plat)
    total = np.bincount(cell, weights=lost, minlength=n_plat * n_bins)
    count = np.bincount(cell, minlength=n_plat * n_bins)
    plat_extra = np.where(count > 0, total / np.maximum(count, 1), 0.0).reshape(n_plat, n_bins)
    return plat_extra[[leg.platform for leg in legs.options]] if legs.options else np.zeros((0, n_bins))


def ride_multipliers(legs: LegNetwork, plat_m: np.ndarray, paths: LegPaths, extra: np.ndarray) -> np.ndarray:
    """In-vehicle time multiplier per leg option and bin of reaching its platform [leg option,
    bin], from the platform multipliers `plat_m` at the times the train is expected on each
    platform of the ride (see the module docstring; `extra`: extra waits as from extra_waits)."""
    n_legs, n_bins = legs.wait_bins.shape
    if n_legs == 0:
        return np.ones((0, n_bins))
    mid = legs.t_start + (np.arange(n_bins) + 0.5) * WAIT_BIN_S
    leaves = mid[None, :] + legs.wait_bins + extra  # expected departure from the boarding platform
    # all legs and bins at once; the loop would be, per leg k and bin b, the mean over the entries e
    # of leg k of plat_m[platform[e], bin of (leaves[k, b] + offset_s[e])]
    sizes = np.diff(paths.start)
    at = np.repeat(leaves, sizes, axis=0) + paths.offset_s[:, None]  # [path entry, bin]
    m = plat_m[paths.platform[:, None], legs.wait_bin(at)]
    return np.add.reduceat(m, paths.start[:-1], axis=0) / sizes[:, None]


def measure(network: Network, legs: LegNetwork, legs_table: pd.DataFrame, trains: pd.DataFrame, spec: CrowdingSpec,
            paths: LegPaths, lookup: PlatformLookup) -> CrowdingField:
    """The crowding field of one run from its legs and trains tables (see the module docstring)."""
    extra = extra_waits(network, legs, legs_table, lookup)
    plat_m = platform_multipliers(network, legs, trains, spec, lookup)
    return CrowdingField(ride_multipliers(legs, plat_m, paths, extra), extra)


def average(previous: CrowdingField, new: CrowdingField, n: int) -> CrowdingField:
    """Method of successive averages: the mean of the first n fields, given the mean of n - 1."""
    return CrowdingField(previous.ivt_factor + (new.ivt_factor - previous.ivt_factor) / n,
                         previous.extra_wait + (new.extra_wait - previous.extra_wait) / n)
