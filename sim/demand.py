"""Synthetic commuters: who travels from where to where, when, and paying with what.

Each demand segment gets its share of `demand.total` (largest remainder; shares are fractions that
add up to 1, or weights normalised over the segments when `demand.segment_shares` is `weights`),
draws OD pairs from a gravity generator or an OD table (station pairs) or between zones (zone
pairs, whose commuters choose a mode and stations later: sim.zones), departure times from a
piecewise-linear profile and payment media from its payment shares (fractions that add up to 1;
the schema checks both sums), each from its own named random stream. A segment with a `tour`
sends each of its commuters back too: a second journey, destination to origin, whose start is the
outbound start plus a drawn stay (sim.tours adds the outbound trip's expected time; Demand.tour_leg,
Demand.partner). Journeys are numbered in
order of departure time (ties in generation order); demand.total counts commuters, so a segment
of tours has twice as many journeys.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from . import rng as rngmod
from .errors import Problem, UserError, unknown
from .loading import read_bytes
from .network import Network
from .schema import MAX_WEIGHT, DemandSpec, GeneratorSpec, PeriodSpec, ProfileSpec, StationSelector, TourSpec


@dataclass(frozen=True)
class Demand:
    """Commuters as arrays; row i is commuter i. Times in seconds since midnight."""

    origin: np.ndarray  # int32 station index
    destination: np.ndarray  # int32 station index
    t_depart: np.ndarray  # float64, arrival at the origin station entrance
    segment: np.ndarray  # int16 index into segment_names
    payment: np.ndarray  # int16 index into media
    segment_names: tuple[str, ...]
    media: tuple[str, ...]
    origin_zone: np.ndarray | None = None
    """int32 zone index of commuters drawn between zones (their origin and destination stations -1
    until they choose; t_depart their departure from home), -1 for the others; None: no zones."""
    destination_zone: np.ndarray | None = None
    tour_leg: np.ndarray | None = None
    """int8 per commuter: ONE_WAY, OUTBOUND or RETURN (None: nobody makes a tour)."""
    partner: np.ndarray | None = None
    """int64 per commuter: the row of the other journey of their tour, -1 for one-way journeys."""

    @property
    def size(self) -> int:
        return len(self.t_depart)


ONE_WAY, OUTBOUND, RETURN = 0, 1, 2
"""Demand.tour_leg values."""
TOUR_LEGS = ("one_way", "outbound", "return")


def truncated_normal(u: np.ndarray, mean: float, sd: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Inverse CDF, at uniforms u, of the normal (mean, sd) truncated to [lo, hi] per element (hi
    wins where hi < lo; sd 0: the mean clipped to the bounds)."""
    lo = np.minimum(lo, hi)
    if sd <= 0:
        return np.clip(np.full(len(u), float(mean)), lo, hi)
    a, b = (lo - mean) / sd, (hi - mean) / sd
    # in the upper tail, Phi(a) and Phi(b) both round to 1: invert the mirrored (lower-tail) problem there
    upper = a > 0
    pa, pb = ndtr(np.where(upper, -b, a)), ndtr(np.where(upper, -a, b))
    z = ndtri(pa + u * (pb - pa))
    return np.clip(mean + sd * np.where(upper, -z, z), lo, hi)


def return_starts(tour: TourSpec, t_out: np.ndarray, period_end: float, u: np.ndarray) -> np.ndarray:
    """Provisional starts (s) of the return journeys of tours whose outbound journeys start at
    t_out: t_out + stay, the stay (h) normal (tour.mean_h, tour.sd_h) truncated to [tour.min_h, the
    period's end] (sim.tours then adds the outbound journey's expected travel time)."""
    room_h = (np.nextafter(period_end, 0.0) - t_out) / 3600.0
    stay_h = truncated_normal(u, tour.mean_h, tour.sd_h, np.full(len(t_out), tour.min_h), room_h)
    return t_out + stay_h * 3600.0


def tour_partners(key: np.ndarray, leg: np.ndarray) -> np.ndarray:
    """Per row: the row of the other journey of its tour (tours numbered by `key` 0, 1, ..., each
    with one OUTBOUND and one RETURN row in `leg`; -1 for one-way journeys), -1 for one-way journeys."""
    partner = np.full(len(key), -1, dtype=np.int64)
    out, ret = np.flatnonzero(leg == OUTBOUND), np.flatnonzero(leg == RETURN)
    row_of = np.empty(int(key.max(initial=-1)) + 1, dtype=np.int64)  # per tour: a row of it (no sort by key)
    row_of[key[out]] = out
    partner[ret] = row_of[key[ret]]
    row_of[key[ret]] = ret
    partner[out] = row_of[key[out]]
    return partner


def routable_pairs(network: Network) -> np.ndarray:
    """[origin, destination] -> True if a route exists: ride from the origin, change trains (at a
    station or through an interchange) any number of times, and alight at the destination. Two
    stations joined by an interchange are one place: no trips between them."""
    n = len(network.stations)
    ride = np.zeros((n, n), dtype=bool)
    for p in network.patterns:
        stops = np.asarray(p.stops)
        for i in range(len(stops) - 1):
            ride[stops[i], stops[i + 1:]] = True
    change = np.eye(n, dtype=bool)
    for a, b in network.transfers:
        change[a, b] = True
    step = (change.astype(np.int64) @ ride.astype(np.int64)) > 0
    reach = ride.copy()
    while True:
        grown = reach | ((reach.astype(np.int64) @ step.astype(np.int64)) > 0)
        if (grown == reach).all():
            break
        reach = grown
    np.fill_diagonal(reach, False)
    for a, b in network.transfers:
        reach[a, b] = False
    return reach


def resolve_selector(sel: StationSelector, network: Network, where: str, problems: list[Problem],
                     file: str = "") -> np.ndarray:
    """Weight per station (0 = not selected) for a station selector."""
    n = len(network.stations)
    chosen = np.zeros(n, dtype=bool)
    any_filter = bool(sel.operators or sel.lines or sel.stations)
    for k, op in enumerate(sel.operators):
        oi = network.operator_index.get(op)
        if oi is None:
            problems.append(Problem(file, f"{where}.operators[{k}]", unknown("operator", op, network.operator_index)))
            continue
        chosen |= np.asarray([s.operator == oi for s in network.stations], dtype=bool)
    for k, ln in enumerate(sel.lines):
        li = network.line_index.get(ln)
        if li is None:
            problems.append(Problem(file, f"{where}.lines[{k}]", unknown("line", ln, network.line_index)))
            continue
        chosen[list(network.lines[li].km)] = True
    for k, sid in enumerate(sel.stations):
        si = network.station_index.get(sid)
        if si is None:
            problems.append(Problem(file, f"{where}.stations[{k}]", unknown("station", sid, network.station_index)))
            continue
        chosen[si] = True
    if not any_filter:
        chosen[:] = True
    weights = np.where(chosen, sel.default_weight, 0.0)
    for sid, w in sel.weights.items():
        si = network.station_index.get(sid)
        if si is None:
            problems.append(Problem(file, f"{where}.weights.{sid}", unknown("station", sid, network.station_index)))
            continue
        if not chosen[si]:
            problems.append(Problem(file, f"{where}.weights.{sid}", "station is weighted but not selected"))
            continue
        weights[si] = w
    return weights


def split_total(total: int, shares: list[float]) -> list[int]:
    """Integer counts proportional to shares that add up to total (largest remainder, ties first)."""
    s = np.asarray(shares, dtype=float)
    exact = total * s / s.sum()
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts.tolist()


def sample_profile(profile: ProfileSpec, u: np.ndarray) -> np.ndarray:
    """Inverse CDF of the piecewise-linear density through the profile points, at uniforms u."""
    t = np.asarray([p[0] for p in profile.points], dtype=float)
    d = np.asarray([p[1] for p in profile.points], dtype=float)
    width = np.diff(t)
    mass = (d[:-1] + d[1:]) / 2 * width
    cum = np.concatenate([[0.0], np.cumsum(mass)])
    target = u * cum[-1]
    k = np.clip(np.searchsorted(cum, target, side="right") - 1, 0, len(mass) - 1)
    while True:  # skip zero-mass pieces (flat zero density)
        bad = mass[k] <= 0
        if not bad.any():
            break
        k = np.where(bad, k + 1, k)
    rem = target - cum[k]
    d0 = d[k]
    slope = (d[k + 1] - d0) / width[k]
    flat = np.abs(slope) < 1e-12
    with np.errstate(divide="ignore", invalid="ignore"):
        x_lin = (-d0 + np.sqrt(np.maximum(d0 * d0 + 2 * slope * rem, 0.0))) / slope
        x_flat = rem / d0
    x = np.where(flat, x_flat, x_lin)
    return t[k] + np.clip(x, 0.0, width[k])


def _generator_weights(gen: GeneratorSpec, network: Network, km: np.ndarray, where: str,
                       problems: list[Problem], file: str) -> np.ndarray:
    wo = resolve_selector(gen.origins, network, f"{where}.generator.origins", problems, file)
    wd = resolve_selector(gen.destinations, network, f"{where}.generator.destinations", problems, file)
    w = np.outer(wo, wd) * np.exp(-gen.distance_decay_per_km * km)
    w[km < gen.min_km] = 0.0
    np.fill_diagonal(w, 0.0)
    return w


def _table_weights(path: Path, network: Network, where: str, problems: list[Problem]) -> np.ndarray:
    n = len(network.stations)
    w = np.zeros((n, n))
    try:
        table = pd.read_csv(io.BytesIO(read_bytes(path, "OD table")), dtype={"origin": str, "destination": str})
    except UserError as err:
        problems.extend(Problem(p.file, p.path, f"{p.message} (from {where}.od_table)") for p in err.problems)
        return w
    except ValueError as exc:  # pandas' parser errors and undecodable text
        problems.append(Problem(str(path), "", f"cannot read the OD table as CSV: {exc}"))
        return w
    missing = {"origin", "destination", "weight"} - set(table.columns)
    if missing:
        problems.append(Problem(str(path), "", f"expected columns origin, destination, weight; missing {sorted(missing)}"))
        return w
    weight = pd.to_numeric(table["weight"], errors="coerce").to_numpy()
    for row in range(len(table)):
        o = network.station_index.get(str(table["origin"].iat[row]))
        d = network.station_index.get(str(table["destination"].iat[row]))
        wt = weight[row]
        line = row + 2
        if o is None:
            problems.append(Problem(str(path), "origin", f"unknown station '{table['origin'].iat[row]}'", line))
        if d is None:
            problems.append(Problem(str(path), "destination", f"unknown station '{table['destination'].iat[row]}'", line))
        if not 0 <= wt <= MAX_WEIGHT:  # NaN too
            problems.append(Problem(str(path), "weight", f"expected a number from 0 to {MAX_WEIGHT:g}", line))
            continue
        if o is not None and d is not None:
            if o == d and wt > 0:
                problems.append(Problem(str(path), "destination", "origin and destination are the same station", line))
                continue
            w[o, d] += wt
        if len(problems) > 50:
            break
    return w


def generate_demand(spec: DemandSpec, period: PeriodSpec, network: Network, base_dir: Path, seed: int,
                    replication: int, file: str = "", zone_weights: dict[int, np.ndarray] | None = None) -> Demand:
    """Draw `spec.total` commuters (see module docstring); UserError for inconsistent inputs.
    `zone_weights`: per segment drawn between zones (by its index), the weights of its zone pairs
    [origin zone, destination zone] (sim.zones.segment_weights); missing when its zones could not
    be read (their problems are reported elsewhere)."""
    if not network.stations:
        raise UserError([Problem(file, "network", "the network has no stations (is it a part that complete "
                                                  "networks include, such as the operators' file?)")])
    problems: list[Problem] = []
    media = tuple(sorted(network.media))
    medium_index = {m: i for i, m in enumerate(media)}
    km = network.station_km_matrix()
    connected = routable_pairs(network)
    names = [s.name for s in spec.segments]
    if len(set(names)) != len(names):
        problems.append(Problem(file, "demand.segments", "segment names must be unique"))
    for pid, prof in spec.profiles.items():
        for k in (0, len(prof.points) - 1):
            if not period.start - 1e-9 <= prof.points[k][0] <= period.end + 1e-9:
                problems.append(Problem(file, f"demand.profiles.{pid}.points[{k}]",
                                        "profile points must lie within the period"))
    weights = []
    for i, seg in enumerate(spec.segments):
        where = f"demand.segments[{i}]"
        if seg.profile not in spec.profiles:
            problems.append(Problem(file, f"{where}.profile", f"unknown profile '{seg.profile}' "
                                                              f"(known: {', '.join(spec.profiles)})"))
        for m in seg.payment:
            if m not in medium_index:
                problems.append(Problem(file, f"{where}.payment.{m}", f"unknown medium (known: {', '.join(media)})"))
        if seg.zones is not None:
            w = (zone_weights or {}).get(i, np.zeros((1, 1)))
            if i not in (zone_weights or {}):
                problems.append(Problem(file, f"{where}.zones", "its zones could not be read (see demand.zones.file)"))
        elif seg.generator is not None:
            w = _generator_weights(seg.generator, network, km, where, problems, file)
            w = np.where(connected, w, 0.0)
        else:
            assert seg.od_table is not None  # the schema requires one of generator and od_table
            w = _table_weights(base_dir / seg.od_table, network, where, problems)
            bad = np.argwhere((w > 0) & ~connected)
            for o, d in bad[:10]:
                problems.append(Problem(str(base_dir / seg.od_table), "",
                                        f"no route from '{network.stations[o].id}' to '{network.stations[d].id}' "
                                        "(a trip must ride from its origin and alight at its destination)"))
        if w.sum() <= 0 and not problems:
            kind = "zone pair" if seg.zones is not None else "OD pair"
            problems.append(Problem(file, where, f"no {kind} has positive weight (check selectors and min_km)"))
        weights.append(w)
    if problems:
        raise UserError(problems)

    counts = split_total(spec.total, [s.share for s in spec.segments])  # normalises fractions and weights alike
    parts: list[tuple[np.ndarray, ...]] = []
    n_tours = 0
    for i, (seg, w, n) in enumerate(zip(spec.segments, weights, counts)):
        p = (w / w.sum()).ravel()
        od_counts = rngmod.stream(seed, replication, f"demand/{seg.name}/od").multinomial(n, p)
        flat = np.repeat(np.arange(p.size), od_counts)
        u = rngmod.stream(seed, replication, f"demand/{seg.name}/time").random(n)
        t = sample_profile(spec.profiles[seg.profile], u)
        t = np.clip(t, period.start, np.nextafter(period.end, period.start))
        shares = np.asarray([seg.payment.get(m, 0.0) for m in media], dtype=float)
        pay = rngmod.stream(seed, replication, f"demand/{seg.name}/payment").choice(
            len(media), size=n, p=shares / shares.sum())  # they add up to 1 within 1e-6: exactly 1 here
        side = len(w)  # stations, or zones for a segment drawn between zones
        o, d = flat // side, flat % side
        none = np.full(n, -1)
        part = ((none, none, o, d) if seg.zones is not None else (o, d, none, none)) + (t, np.full(n, i), pay)
        if seg.tour is None:
            parts.append(part + (none, np.full(n, ONE_WAY)))
            continue
        key = np.arange(n_tours, n_tours + n)
        n_tours += n
        u_stay = rngmod.stream(seed, replication, f"demand/{seg.name}/tour").random(n)
        back = (part[1], part[0], part[3], part[2], return_starts(seg.tour, t, period.end, u_stay), part[5], pay)
        parts.append(part + (key, np.full(n, OUTBOUND)))
        parts.append(back + (key, np.full(n, RETURN)))
    columns = [np.concatenate([p[k] for p in parts]) for k in range(9)]
    origin, dest, o_zone, d_zone = (c.astype(np.int32) for c in columns[:4])
    t_dep, seg_idx, pay = columns[4].astype(float), columns[5].astype(np.int16), columns[6].astype(np.int16)
    order = np.argsort(t_dep, kind="stable")
    zoned = any(seg.zones is not None for seg in spec.segments)
    leg = columns[8].astype(np.int8)[order]
    toured = n_tours > 0
    return Demand(origin[order], dest[order], t_dep[order], seg_idx[order], pay[order], tuple(names), media,
                  o_zone[order] if zoned else None, d_zone[order] if zoned else None,
                  leg if toured else None, tour_partners(columns[7][order], leg) if toured else None)


def group_masks(groups: dict, network: Network, origin: np.ndarray, destination: np.ndarray,
                problems: list[Problem] | None = None, file: str = "") -> dict[str, np.ndarray]:
    """Boolean mask per named OD group over commuters with the given origins and destinations."""
    out = {}
    sink = problems if problems is not None else []
    for name, g in groups.items():
        a = resolve_selector(g.from_, network, f"demand.groups.{name}.from", sink, file) > 0
        b = resolve_selector(g.to, network, f"demand.groups.{name}.to", sink, file) > 0
        mask = a[origin] & b[destination]
        if g.both_ways:
            mask |= b[origin] & a[destination]
        out[name] = mask
    return out
