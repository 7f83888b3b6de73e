"""The network as legs: every way to ride one line in one direction from a boarding platform to an
alighting station (a leg option), with its departures and arrivals, the expected waits tabulated
by time bin and by start band, and next-train lookups.

A leg option takes any train whose pattern serves both stations, whatever its line (common lines;
through trains share the platforms of the lines they run onto). `LegNetwork` depends only on the
network and the period, never on the routing parameters or the demand, and is not changed once
built: runs that share the network and period share it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from ..network import Network

BAND_S = 3600.0
"""Width of the start-time bands (s) for which candidate routes are searched."""
HORIZON_S = 7200.0
"""How far after its start band a leg may be reached, for its search cost (s)."""
WAIT_BIN_S = 900.0
"""Width of the time bins (s) in which expected waits are tabulated."""
DAY_KEY_S = 1e6
"""Spacing (s) of the legs' departures in one sorted array (more than any clock time)."""


@numba.njit(cache=True, nogil=True)
def departure_key(leg: int, t: float) -> float:
    """The search key of time t (s) on leg `leg` (see LegNetwork.last_keys), for compiled loops: the
    same operations as LegNetwork.departs_before's."""
    if np.isnan(t):
        t = 0.0
    elif t == np.inf:
        t = 1e12
    elif t == -np.inf:
        t = -1.7976931348623157e308
    return leg * DAY_KEY_S + min(t, DAY_KEY_S - 1)


@dataclass(frozen=True)
class LegOption:
    """Riding from `board` to `alight` on platform `platform` (one line and direction)."""

    platform: int
    board: int
    alight: int
    line: int
    operator: int
    ivt_s: float
    km: float
    departures: np.ndarray
    """Every departure from the boarding station of a train serving both stations, sorted (s)."""
    arrivals: np.ndarray
    """The arrival at the alighting station of the train of each departure (s)."""
    first_hop: int
    """The next station along the track from `board` towards `alight`."""
    last_hop: int
    """The station along the track just before `alight`, coming from `board`."""
    pieces: tuple[tuple[int, float, int, int], ...] = ()
    """(operator, km, first station, last station) of the track ridden, in order, one piece per
    operator (fares by operator section); empty: all on `operator`, `km` long, from `board` to
    `alight`. Where operators meet between two stops, the pieces either side both name those stops."""
    label: str = ""
    """The lines whose track the leg rides, joined by '+' (e.g. 'SZ11+SH11' for a through train)."""


def mean_wait_s(departures: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mean wait (s) until the next departure for arrivals uniform in each interval between
    consecutive `edges` (random incidence: the integral of the time to the next departure over the
    interval, divided by its length). After the last departure the wait runs to a notional
    departure 2 h after the later of the last departure and the last edge."""
    edges = np.asarray(edges, dtype=float)
    tail = max(float(edges[-1]), float(departures[-1]) if len(departures) else -np.inf) + 7200.0
    dep = np.append(np.asarray(departures, dtype=float), tail)
    cum = np.concatenate([[0.0], np.cumsum(np.diff(dep) ** 2 / 2.0)])  # integral from dep[0] to dep[k]
    k = np.searchsorted(dep, edges, side="left")  # dep[k-1] < t <= dep[k]
    integral = cum[k] - (dep[k] - edges) ** 2 / 2.0
    return np.diff(integral) / np.diff(edges)


def build_leg_options(network: Network) -> list[LegOption]:
    """Every (platform, alighting station) pair served by at least one pattern, with the mean
    in-vehicle time over its departures, and every departure from the boarding station with its
    train's arrival at the alighting station (any train whose pattern serves both stations,
    whatever its line: through trains share the platforms of the lines they run onto). Where the
    platform gates close before a departure, the departure is when they close (the last moment a
    rider can reach the train), and the in-vehicle time includes the time from then on."""
    acc: dict[tuple[int, int], list] = {}
    for p in network.patterns:
        all_dep = np.asarray(p.departures, dtype=float)
        entry_at = p.entry_of()
        for i in range(len(p.stops) - 1):
            dep = all_dep[entry_at <= i]  # trains in service at stop i
            closes = network.stations[p.stops[i]].boarding_closes_s
            for j in range(i + 1, len(p.stops)):
                key = (p.platforms[i], p.stops[j])
                if key not in acc:
                    acc[key] = [[], [], abs(p.km[j] - p.km[i]), _through(network, p, i, j)]
                acc[key][0].append(dep + p.dep_offset[i] - closes)
                acc[key][1].append(dep + p.arr_offset[j])
    hops = [_next_hops(line) for line in network.lines]
    out = []
    for (plat, alight), (deps, arrs, km, (pieces, label)) in sorted(acc.items()):
        pl = network.platforms[plat]
        line = network.lines[pl.line]
        toward = hops[pl.line]
        dep, arr = np.concatenate(deps), np.concatenate(arrs)
        order = np.lexsort((arr, dep))
        ivt = float((arr - dep).mean()) if len(dep) else math.inf
        # a leg that leaves its line's own track (through trains onto another line's track, or between two
        # pieces of its own track joined only by another line's) counts as one hop for the retrace rule
        on_own_track = alight in toward and pl.station in toward[alight]
        first, last = (toward[alight][pl.station], toward[pl.station][alight]) if on_own_track else (alight, pl.station)
        out.append(LegOption(plat, pl.station, alight, pl.line, line.operator, ivt, km, dep[order], arr[order],
                             first, last, pieces, label or line.id))
    return out


def _through(network: Network, p, i: int, j: int) -> tuple[tuple[tuple[int, float, int, int], ...], str]:
    """Operator pieces (see LegOption.pieces) and line label of riding pattern p from stop i to
    stop j when it runs over several lines' tracks (empty and '' otherwise)."""
    if not p.hops:
        return (), ""
    pieces: list[list] = []
    lines: list[str] = []
    for h, hop in enumerate(p.hops[i:j], start=i):
        for part, (line, op, km) in enumerate(hop):
            if pieces and pieces[-1][0] == op:
                pieces[-1][1] += km
            else:
                pieces.append([op, km, p.stops[h] if part == 0 else p.stops[h + 1], p.stops[h + 1]])
            pieces[-1][3] = p.stops[h + 1]
            if line >= 0 and (not lines or lines[-1] != network.lines[line].id):
                lines.append(network.lines[line].id)
    return tuple((op, km, a, b) for op, km, a, b in pieces), "+".join(lines)


def _next_hops(line) -> dict[int, dict[int, int]]:
    """toward[t][s]: the neighbour of s on the track path from s to t (breadth-first from t)."""
    adjacency: dict[int, set[int]] = {}
    for branch in line.branches:
        for a, b in zip(branch, branch[1:]):
            adjacency.setdefault(a, set()).add(b)
            adjacency.setdefault(b, set()).add(a)
    toward: dict[int, dict[int, int]] = {}
    for t in adjacency:
        parent = {t: t}
        frontier = [t]
        while frontier:
            nxt = []
            for u in frontier:
                for v in sorted(adjacency[u]):
                    if v not in parent:
                        parent[v] = u
                        nxt.append(v)
            frontier = nxt
        toward[t] = parent
    return toward


class LegNetwork:
    """The leg options of one network over one period as arrays (leg index k = position in
    `options`), their expected waits, and when their next train leaves. Not changed once built."""

    def __init__(self, network: Network, t_start: float, t_end: float | None = None,
                 band_s: float = BAND_S, horizon_s: float = HORIZON_S) -> None:
        """Legs for the period from `t_start` (s) to `t_end` (s; default three bands later), with
        start bands of `band_s` (s) whose waits look `horizon_s` (s) past the band (see band_wait)."""
        self.options: tuple[LegOption, ...] = tuple(build_leg_options(network))
        self.t_start = t_start
        self.t_end = t_start + 3 * BAND_S if t_end is None else t_end
        self.band_s, self.horizon_s = band_s, horizon_s
        opts = self.options
        self.board: np.ndarray = np.asarray([leg.board for leg in opts], dtype=np.int64)
        self.alight: np.ndarray = np.asarray([leg.alight for leg in opts], dtype=np.int64)
        self.line: np.ndarray = np.asarray([leg.line for leg in opts], dtype=np.int64)
        self.operator: np.ndarray = np.asarray([leg.operator for leg in opts], dtype=np.int64)
        self.ivt_s: np.ndarray = np.asarray([leg.ivt_s for leg in opts], dtype=float)
        """Mean in-vehicle time of each leg (s)."""
        self.through: np.ndarray = np.asarray([len(leg.pieces) > 1 or "+" in leg.label for leg in opts], dtype=bool)
        """Whether each leg runs over more than one line's track (a through train)."""
        self.up: np.ndarray = np.asarray([network.platforms[leg.platform].direction == "up" for leg in opts])
        self.platform: np.ndarray = np.asarray([leg.platform for leg in opts], dtype=np.int64)
        self._n_stations = len(network.stations)
        self.leg_table: np.ndarray = np.full(len(network.platforms) * self._n_stations, -1, dtype=np.int64)
        self.leg_table[self.platform * self._n_stations + self.alight] = np.arange(len(opts))
        """The leg from each platform to each station [platform * n_stations + station] (-1: none):
        where one train goes straight through."""
        self.first_hop: np.ndarray = np.asarray([leg.first_hop for leg in opts], dtype=np.int64)
        self.last_hop: np.ndarray = np.asarray([leg.last_hop for leg in opts], dtype=np.int64)
        # the track of every leg by operator (fares.LegPieces): leg k owns pieces
        # piece_start[k] .. piece_start[k + 1] - 1; a leg without pieces is one on its own operator
        pieces = [leg.pieces or ((leg.operator, leg.km, leg.board, leg.alight),) for leg in opts]
        self.n_pieces: np.ndarray = np.asarray([len(x) for x in pieces], dtype=np.int64)
        self.piece_start: np.ndarray = np.concatenate([[0], np.cumsum(self.n_pieces)]).astype(np.int64)
        self.piece_operator: np.ndarray = np.asarray([x[0] for leg_pieces in pieces for x in leg_pieces],
                                                     dtype=np.int64)
        self.piece_km: np.ndarray = np.asarray([x[1] for leg_pieces in pieces for x in leg_pieces], dtype=float)
        self.piece_board: np.ndarray = np.asarray([x[2] for leg_pieces in pieces for x in leg_pieces], dtype=np.int64)
        """First station of each piece (its boarding station, or where it enters the operator's track)."""
        self.piece_alight: np.ndarray = np.asarray([x[3] for leg_pieces in pieces for x in leg_pieces],
                                                   dtype=np.int64)
        """Last station of each piece."""
        self.piece_line: np.ndarray = np.asarray([leg.line for leg in opts], dtype=np.int64)[
            np.repeat(np.arange(len(opts)), self.n_pieces)]
        """The line of each piece's leg (the boarding platform's line)."""
        self._lines = network.lines
        self._zone_bits: dict[int, np.ndarray] = {}
        self._index_departures()
        self._tabulate_waits()

    def direct(self, platform: np.ndarray, alight: np.ndarray) -> np.ndarray:
        """Whether some train goes from `platform` to station `alight` without a change (bool array)."""
        return self.leg_at(platform, alight) >= 0

    def leg_at(self, platform: np.ndarray | int, alight: np.ndarray | int) -> np.ndarray:
        """The leg from each `platform` to each station `alight` (int64, -1: none; of one platform and
        one station, a scalar)."""
        return self.leg_table[np.asarray(platform, dtype=np.int64) * self._n_stations + np.asarray(alight, dtype=np.int64)]

    def zone_bits(self, operator: int, zone_of: np.ndarray) -> np.ndarray:
        """Per piece of `operator` (others 0): the bits 1 << zone_of[s] of every station s along the
        track it rides, its ends included (zone_of: a zone index per station, -1 for none); kept
        for the next call."""
        if operator not in self._zone_bits:
            out = np.zeros(len(self.piece_operator), dtype=np.int64)
            toward_of: dict[int, dict] = {}
            for q in np.flatnonzero(self.piece_operator == operator).tolist():
                line = int(self.piece_line[q])
                toward = toward_of.setdefault(line, _next_hops(self._lines[line]))
                s, end = int(self.piece_board[q]), int(self.piece_alight[q])
                path = [s, end]
                while end in toward and s != end and s in toward[end]:  # walk the track to the last station
                    s = toward[end][s]
                    path.append(s)
                z = zone_of[np.asarray(path)]
                out[q] = np.bitwise_or.reduce(np.left_shift(1, z[z >= 0]), initial=0)
            self._zone_bits[operator] = out
        return self._zone_bits[operator]

    def _index_departures(self) -> None:
        """Every departure (and its train's arrival) of every leg in one array, leg by leg: leg k
        owns dep_all[dep_start[k]:dep_start[k + 1]]; and a sort key (leg, departure) for lookups."""
        counts = np.asarray([len(leg.departures) for leg in self.options], dtype=np.int64)
        self.dep_start: np.ndarray = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.dep_all: np.ndarray = (np.concatenate([leg.departures for leg in self.options]) if self.options
                                    else np.zeros(0))
        self.arr_all: np.ndarray = (np.concatenate([leg.arrivals for leg in self.options]) if self.options
                                    else np.zeros(0))
        leg_of = np.repeat(np.arange(len(self.options), dtype=np.int64), counts)
        self._dep_key = leg_of * DAY_KEY_S + self.dep_all

    def _tabulate_waits(self) -> None:
        """Expected waits per leg in bins of WAIT_BIN_S from the period start to HORIZON_S after the
        last start band (wait_bins), and each leg's shortest expected wait for each start band
        (band_wait)."""
        self.n_bands = max(1, int(math.ceil((self.t_end - self.t_start) / self.band_s - 1e-9)))
        per_band = int(self.band_s // WAIT_BIN_S)
        n_bins = per_band * self.n_bands + int(math.ceil(HORIZON_S / WAIT_BIN_S))
        edges = self.t_start + WAIT_BIN_S * np.arange(n_bins + 1)
        self.wait_bins: np.ndarray = np.asarray([mean_wait_s(leg.departures, edges)
                                                 for leg in self.options]).reshape(len(self.options), -1)
        """Expected wait (s) [leg, bin]: random incidence over the bin's departures."""
        reach = per_band + int(math.ceil(self.horizon_s / WAIT_BIN_S))
        self.band_wait: np.ndarray = np.stack([self.wait_bins[:, b * per_band: b * per_band + reach].min(axis=1)
                                               for b in range(self.n_bands)])
        """Shortest expected wait (s) [band, leg] over the band and the horizon_s after it (a
        service running only part of the day counts when it runs)."""

    def band_of(self, t: np.ndarray) -> np.ndarray:
        """Start band (hour of the period) of clock times t."""
        return np.clip(((np.asarray(t) - self.t_start) // self.band_s).astype(np.int64), 0, self.n_bands - 1)

    def wait_bin(self, t: np.ndarray) -> np.ndarray:
        """Index of the WAIT_BIN_S bin of clock times t (clipped to the tabulated range)."""
        return np.clip(((np.nan_to_num(t, posinf=1e12) - self.t_start) // WAIT_BIN_S).astype(np.int64), 0,
                       self.wait_bins.shape[1] - 1)

    def expected_wait(self, legs: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Expected wait (s) for legs reached at clock times t (random incidence over their bin)."""
        return self.wait_bins[legs, self.wait_bin(t)]

    def _next_index(self, legs: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Clock times t (NaN and inf made finite); for each leg the index into dep_all of its first
        train leaving at or after t (clipped into range), and whether there is one."""
        t = np.nan_to_num(np.asarray(t, dtype=float), posinf=1e12)
        # one binary search over all legs at once: keys (leg, time) sort leg by leg
        i = np.searchsorted(self._dep_key, legs * DAY_KEY_S + np.minimum(t, DAY_KEY_S - 1), side="left")
        found = i < self.dep_start[legs + 1]
        return t, np.minimum(i, len(self.dep_all) - 1), found

    def next_departure(self, legs: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Departure (s) of the first train of each leg leaving at or after t; inf where none does."""
        _, i, found = self._next_index(legs, t)
        return np.where(found, self.dep_all[i], np.inf)

    def departs_before(self, legs: np.ndarray, t: np.ndarray, t_end: float) -> np.ndarray:
        """Whether a train of each leg leaves at or after t and before t_end (s; next_departure < t_end)."""
        if not len(self.dep_all):
            return np.zeros(np.shape(legs), dtype=bool)
        t = np.nan_to_num(np.asarray(t, dtype=float), posinf=1e12)
        return legs * DAY_KEY_S + np.minimum(t, DAY_KEY_S - 1) <= self.last_keys(t_end)[legs]

    def last_keys(self, t_end: float) -> np.ndarray:
        """Per leg, the search key of its last train leaving before t_end (-inf: none). A train of
        leg k leaves at or after t and before t_end exactly when departure_key(k, t) <= this[k]."""
        # the first train at or after t leaves before t_end exactly when the search key of t is at most
        # that of the leg's last train before t_end: one look-up per leg rather than a search per t
        below = np.concatenate([[0], np.cumsum(self.dep_all < t_end)])
        first_late = self.dep_start[:-1] + below[self.dep_start[1:]] - below[self.dep_start[:-1]]
        return np.where(first_late > self.dep_start[:-1], self._dep_key[np.maximum(first_late - 1, 0)], -np.inf)

    def next_train(self, legs: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Departure and arrival (s) of the first train of each leg leaving at or after t; where
        none does, a notional one 2 h after t at the leg's mean in-vehicle time."""
        t, i, found = self._next_index(legs, t)
        dep = np.where(found, self.dep_all[i], t + 7200.0)
        arr = np.where(found, self.arr_all[i], dep + self.ivt_s[legs])
        return dep, arr
