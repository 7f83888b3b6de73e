"""Candidate routes: the ways from one station to another worth considering, and the station
paths they use.

A route is a sequence of legs (ride on one line in one direction from a boarding to an alighting
station, on any train whose pattern serves both: common lines) joined by transfers. Candidates
come from a bounded search guided by exact lower bounds (reverse Bellman-Ford per destination)
that alights only at the destination or at transfer points. The search cost of a leg is its
in-vehicle time plus wait_weight times its expected wait, taken for each hour in which commuters
start (the shortest expected wait over the following hours, so that a service running only part
of the day is a candidate when it runs). `choice` prices the candidates and picks one per commuter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import Problem, UserError
from .fares import FareSystem
from .network import FACILITY, Network, TransferPath, path_walk_s
from .schema import RoutingSpec

BAND_S = 3600.0
"""Width of the start-time bands (s) for which candidate routes are searched."""
HORIZON_S = 7200.0
"""How far after its start band a leg may be reached, for its search cost (s)."""
WAIT_BIN_S = 900.0
"""Width of the time bins (s) in which expected waits are tabulated."""
DAY_KEY_S = 1e6
"""Spacing (s) of the legs' departures in one sorted array (more than any clock time)."""


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
    pieces: tuple[tuple[int, float], ...] = ()
    """(operator, km) of the track ridden, in order, one piece per operator (fares by operator
    section); empty: all on `operator`, `km` long."""
    label: str = ""
    """The lines whose track the leg rides, joined by '+' (e.g. 'SZ11+SH11' for a through train)."""


@dataclass(frozen=True)
class Route:
    start: int
    """Origin station; the first leg boards here or at a station reached from it by an interchange."""
    legs: tuple[int, ...]
    """Indices into the leg options."""
    end: int
    """Destination station; the last leg alights here or at a station with an interchange to it."""
    label: str
    """The legs' labels joined by '>', e.g. 'SH11>SZ11' (a change of train at Huaqiao) or
    'SZ11+SH11' (a through train)."""

    @property
    def key(self) -> tuple:
        return (self.start, self.legs, self.end)


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
    whatever its line: through trains share the platforms of the lines they run onto)."""
    acc: dict[tuple[int, int], list] = {}
    for p in network.patterns:
        all_dep = np.asarray(p.departures, dtype=float)
        entry_at = p.entry_of()
        for i in range(len(p.stops) - 1):
            dep = all_dep[entry_at <= i]  # trains in service at stop i
            for j in range(i + 1, len(p.stops)):
                key = (p.platforms[i], p.stops[j])
                if key not in acc:
                    acc[key] = [[], [], abs(p.km[j] - p.km[i]), _through(network, p, i, j)]
                acc[key][0].append(dep + p.dep_offset[i])
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
        first, last = (toward[alight][pl.station], toward[pl.station][alight]) if alight in toward else (alight, pl.station)
        out.append(LegOption(plat, pl.station, alight, pl.line, line.operator, ivt, km, dep[order], arr[order],
                             first, last, pieces, label or line.id))
    return out


def _through(network: Network, p, i: int, j: int) -> tuple[tuple[tuple[int, float], ...], str]:
    """Operator pieces and line label of riding pattern p from stop i to stop j when it runs over
    several lines' tracks (empty and '' otherwise)."""
    if not p.hops:
        return (), ""
    pieces: list[list] = []
    lines: list[str] = []
    for hop in p.hops[i:j]:
        for line, op, km in hop:
            if pieces and pieces[-1][0] == op:
                pieces[-1][1] += km
            else:
                pieces.append([op, km])
            if line >= 0 and (not lines or lines[-1] != network.lines[line].id):
                lines.append(network.lines[line].id)
    return tuple((op, km) for op, km in pieces), "+".join(lines)


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


def _expand(at: np.ndarray, keys_sorted: np.ndarray, values: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each i and each position j with keys_sorted[j] == at[i]: the pairs (i, j), or (i,
    values[j]) when values are given. keys_sorted must be sorted ascending."""
    lo = np.searchsorted(keys_sorted, at, side="left")
    hi = np.searchsorted(keys_sorted, at, side="right")
    count = hi - lo
    i = np.repeat(np.arange(len(at)), count)
    j = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count) + np.repeat(lo, count)
    return i, (values[j] if values is not None else j)


def transfer_points(network: Network) -> frozenset[int]:
    """Stations where changing trains can make sense: served by several lines, joined to another
    station by an interchange, or a junction of a line's branches."""
    lines_at: dict[int, set[int]] = {}
    for pl in network.platforms:
        lines_at.setdefault(pl.station, set()).add(pl.line)
    out = {s for s, ls in lines_at.items() if len(ls) > 1}
    out |= {a for a, _ in network.transfers}
    for line in network.lines:
        degree: dict[int, set[int]] = {}
        for branch in line.branches:
            for a, b in zip(branch, branch[1:]):
                degree.setdefault(a, set()).add(b)
                degree.setdefault(b, set()).add(a)
        out |= {s for s, nb in degree.items() if len(nb) > 2}
    return frozenset(out)


class Router:
    """Candidate routes for one network, routing spec and period, and the station paths, walks and
    fares that routes use."""

    def __init__(self, network: Network, spec: RoutingSpec, t_start: float, t_end: float | None = None,
                 band_s: float = BAND_S, search_horizon_s: float = HORIZON_S) -> None:
        """Candidates are searched per start band of `band_s`, each leg at its shortest expected wait
        over the band and the `search_horizon_s` after it."""
        self.net = network
        self.spec = spec
        self.t_start = t_start
        self.band_s, self.search_horizon_s = band_s, search_horizon_s
        self.t_end = t_start + 3 * BAND_S if t_end is None else t_end
        self.media = tuple(sorted(network.media))
        self.fares = FareSystem(network, self.media)
        self.legs = build_leg_options(network)
        self.transfer_points = transfer_points(network)
        self.legs_to_transfer: dict[int, list[int]] = {}
        for k, leg in enumerate(self.legs):
            if leg.alight in self.transfer_points:
                self.legs_to_transfer.setdefault(leg.board, []).append(k)
        self._tabulate_waits()
        # transfers: from station -> [(to station, min walk cost over paths)]
        self.transfer_out: dict[int, list[tuple[int, float]]] = {}
        for s in network.stations:
            self.transfer_out.setdefault(s.index, []).append((s.index, s.transfer_walk_s))
        for (a, b), paths in network.transfers.items():
            self.transfer_out.setdefault(a, []).append(
                (b, min(path_walk_s(p.steps, network, needs_ticket=False) for p in paths)))
        # walking outside the stations between two stations joined by an interchange
        self.street_walk: dict[tuple[int, int], float] = {
            key: min(sum(st.value for st in p.steps if st.kind != FACILITY) for p in paths)
            for key, paths in network.transfers.items()}
        # arrays for the vectorised searches
        self.leg_board = np.asarray([leg.board for leg in self.legs], dtype=np.int64)
        self.leg_alight = np.asarray([leg.alight for leg in self.legs], dtype=np.int64)
        tp = np.asarray(sorted(k for ks in self.legs_to_transfer.values() for k in ks), dtype=np.int64)
        order = np.argsort(self.leg_board[tp], kind="stable")
        self.tp_leg_sorted = tp[order]
        self.tp_board_sorted = self.leg_board[self.tp_leg_sorted]
        self.leg_line = np.asarray([leg.line for leg in self.legs], dtype=np.int64)
        self.leg_through = np.asarray([len(leg.pieces) > 1 or "+" in leg.label for leg in self.legs], dtype=bool)
        self.leg_up = np.asarray([network.platforms[leg.platform].direction == "up" for leg in self.legs])
        self.leg_first_hop = np.asarray([leg.first_hop for leg in self.legs], dtype=np.int64)
        self.leg_last_hop = np.asarray([leg.last_hop for leg in self.legs], dtype=np.int64)
        pairs = sorted((a, b, self._transfer_cost(w)) for a, outs in self.transfer_out.items() for b, w in outs)
        self.tr_from = np.asarray([x[0] for x in pairs], dtype=np.int64)
        self.tr_to = np.asarray([x[1] for x in pairs], dtype=np.int64)
        self.tr_cost = np.asarray([x[2] for x in pairs], dtype=float)
        self.leg_ivt = np.asarray([leg.ivt_s for leg in self.legs], dtype=float)
        self.leg_km = np.asarray([leg.km for leg in self.legs], dtype=float)
        self.leg_operator = np.asarray([leg.operator for leg in self.legs], dtype=np.int64)
        pieces = [leg.pieces or ((leg.operator, leg.km),) for leg in self.legs]
        self.leg_n_pieces = np.asarray([len(x) for x in pieces], dtype=np.int64)
        self.leg_piece_start = np.concatenate([[0], np.cumsum(self.leg_n_pieces)]).astype(np.int64)
        self.piece_operator = np.asarray([op for x in pieces for op, _ in x], dtype=np.int64)
        self.piece_km = np.asarray([km for x in pieces for _, km in x], dtype=float)
        self.entry_walk = np.asarray([[path_walk_s(st.entry, network, self.needs_ticket(m, st.operator))
                                       for m in self.media] for st in network.stations]).reshape(-1, len(self.media))
        self.exit_walk = np.asarray([path_walk_s(st.exit, network, False) for st in network.stations])
        self.transfer_walk = np.asarray([st.transfer_walk_s for st in network.stations])
        self._change_walk: dict[tuple[int, int], np.ndarray] = {}
        self.found: dict[tuple[int, int], list[Route]] = {}
        """Candidate routes found so far, by (OD code, start band) (see candidate_sets)."""

    def _tabulate_waits(self) -> None:
        """Expected waits per leg in bins of WAIT_BIN_S from the period start to HORIZON_S after the
        last start band, every departure of every leg in one sorted array (for real-time lookups),
        and the search cost of every leg for each start band."""
        self.n_bands = max(1, int(math.ceil((self.t_end - self.t_start) / self.band_s - 1e-9)))
        per_band = int(self.band_s // WAIT_BIN_S)
        n_bins = per_band * self.n_bands + int(math.ceil(HORIZON_S / WAIT_BIN_S))
        edges = self.t_start + WAIT_BIN_S * np.arange(n_bins + 1)
        self.wait_bins = np.asarray([mean_wait_s(leg.departures, edges) for leg in self.legs]).reshape(len(self.legs), -1)
        reach = per_band + int(math.ceil(self.search_horizon_s / WAIT_BIN_S))
        self.search_costs = [np.asarray([leg.ivt_s for leg in self.legs]) + self.spec.wait_weight * (
            self.wait_bins[:, b * per_band: b * per_band + reach].min(axis=1) if len(self.legs) else 0.0)
            for b in range(self.n_bands)]
        counts = np.asarray([len(leg.departures) for leg in self.legs], dtype=np.int64)
        self.dep_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.dep_all = np.concatenate([leg.departures for leg in self.legs]) if self.legs else np.zeros(0)
        self.arr_all = np.concatenate([leg.arrivals for leg in self.legs]) if self.legs else np.zeros(0)
        leg_of = np.repeat(np.arange(len(self.legs), dtype=np.int64), counts)
        self._dep_key = leg_of * DAY_KEY_S + self.dep_all

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
        i = np.searchsorted(self._dep_key, legs * DAY_KEY_S + np.minimum(t, DAY_KEY_S - 1), side="left")
        found = i < self.dep_start[legs + 1]
        return t, np.minimum(i, len(self.dep_all) - 1), found

    def next_departure(self, legs: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Departure (s) of the first train of each leg leaving at or after t; inf where none does."""
        _, i, found = self._next_index(legs, t)
        return np.where(found, self.dep_all[i], np.inf)

    def next_train(self, legs: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Departure and arrival (s) of the first train of each leg leaving at or after t; where
        none does, a notional one 2 h after t at the leg's mean in-vehicle time."""
        t, i, found = self._next_index(legs, t)
        dep = np.where(found, self.dep_all[i], t + 7200.0)
        arr = np.where(found, self.arr_all[i], dep + self.leg_ivt[legs])
        return dep, arr

    # -- candidate search -------------------------------------------------------------------------

    def _transfer_cost(self, walk_s: float) -> float:
        return self.spec.transfer_penalty_s + self.spec.walk_weight * walk_s

    def lower_bounds(self, dests: np.ndarray, band: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Least search cost to each destination in `dests` (rows) from 'just alighted at s' (hA)
        and 'about to board at s' (hB), over routes of at most max_transfers + 1 legs, for commuters
        starting in `band`: a vectorised Bellman-Ford on legs and transfers (exact lower bounds for
        the bounded search)."""
        search_cost = self.search_costs[band]
        n = len(self.net.stations)
        dests = np.asarray(dests, dtype=np.int64)
        a0 = np.full((len(dests), n), np.inf)
        a0[np.arange(len(dests)), dests] = 0.0
        row_of = {int(d): i for i, d in enumerate(dests)}
        for (a, b), walk in self.street_walk.items():
            i = row_of.get(b)
            if i is not None:
                a0[i, a] = min(a0[i, a], self.spec.walk_weight * walk)
        hA, hB = a0, np.full((len(dests), n), np.inf)
        ob = np.argsort(self.leg_board, kind="stable")
        boards, starts = np.unique(self.leg_board[ob], return_index=True)
        ot = np.argsort(self.tr_from, kind="stable")
        froms, tstarts = np.unique(self.tr_from[ot], return_index=True)
        for _ in range(self.spec.max_transfers + 1):
            if len(ob):
                hB = np.full((len(dests), n), np.inf)
                hB[:, boards] = np.minimum.reduceat(search_cost[ob] + hA[:, self.leg_alight[ob]], starts, axis=1)
            via = np.full((len(dests), n), np.inf)
            via[:, froms] = np.minimum.reduceat(self.tr_cost[ot] + hB[:, self.tr_to[ot]], tstarts, axis=1)
            hA = np.minimum(a0, via)
        return hA, hB

    def candidates(self, origin: int, dest: int, band: int = 0) -> list[Route]:
        """Candidate routes from one origin to dest for commuters starting in `band` (see
        candidates_many)."""
        hA, hB = self.lower_bounds(np.asarray([dest]), band)
        return self.candidates_many(dest, np.asarray([origin]), hA[0], hB[0], band)[0]

    def candidates_many(self, dest: int, origins: np.ndarray, hA: np.ndarray, hB: np.ndarray,
                        band: int = 0) -> list[list[Route]]:
        """Loop-free routes from each origin to dest within the cost band, cheapest first (at most
        max_routes each), given the lower bounds hA, hB to dest (rows of lower_bounds).

        A level-by-level search over all origins at once: each level boards a leg (to the
        destination, to a station with a street walk to it, or to a transfer point) and changes
        trains; partial routes whose cost plus lower bound exceeds the origin's band are dropped.
        A route may begin with a walk in the street from the origin to a station joined to it by
        an interchange and enter there, and end by leaving the last station and walking to the
        destination. No leg follows one on the same line and direction, none goes back along the
        track just ridden (except a change of branch at a junction), and no station is visited
        twice."""
        spec = self.spec
        search_cost = self.search_costs[band]
        walk_w = spec.walk_weight
        max_legs = spec.max_transfers + 1
        origins = np.asarray(origins, dtype=np.int64)
        n_o = len(origins)
        # start states: board at the origin, or walk in the street to a station joined to it
        org_parts, sta_parts, g_parts = [np.arange(n_o)], [origins], [np.zeros(n_o)]
        for (a, b), w in self.street_walk.items():
            hit = np.flatnonzero(origins == a)
            org_parts.append(hit)
            sta_parts.append(np.full(len(hit), b, dtype=np.int64))
            g_parts.append(np.full(len(hit), walk_w * w))
        org, sta, g = np.concatenate(org_parts), np.concatenate(sta_parts), np.concatenate(g_parts)
        best = np.full(n_o, np.inf)
        np.minimum.at(best, org, g + hB[sta])
        bound = best * (1 + spec.cost_band_rel) + spec.cost_band_abs_s + 1e-6
        live = np.isfinite(bound[org])
        org, sta, g = org[live], sta[live], g[live]
        legs = np.full((len(org), max_legs), -1, dtype=np.int64)
        visited = np.full((len(org), 2 * max_legs + 2), -1, dtype=np.int64)
        visited[:, 0], visited[:, 1] = origins[org], sta
        # legs into the destination or a station with a street walk to it
        near = {dest: 0.0}
        near.update({a: walk_w * w for (a, b), w in self.street_walk.items() if b == dest})
        final = np.flatnonzero(np.isin(self.leg_alight, list(near)))
        final = final[np.argsort(self.leg_board[final], kind="stable")]
        final_tail = np.asarray([near[int(a)] for a in self.leg_alight[final]])
        done_org, done_cost, done_legs = [], [], []
        for level in range(max_legs):
            # finish: ride a leg to the destination (or a station with a street walk to it)
            si, k = _expand(sta, self.leg_board[final])
            tail = final_tail[k]
            k = final[k]
            cost = g[si] + search_cost[k] + tail
            ok = cost <= bound[org[si]]
            if level:
                ok &= self._sensible(legs[si, level - 1], k)
            si, k, cost = si[ok], k[ok], cost[ok]
            row = legs[si].copy()
            row[:, level] = k
            done_org.append(org[si])
            done_cost.append(cost)
            done_legs.append(row)
            if level + 1 >= max_legs:
                break
            # ride on to a transfer point
            si, k = _expand(sta, self.tp_board_sorted, self.tp_leg_sorted)
            a = self.leg_alight[k]
            g2 = g[si] + search_cost[k]
            ok = (g2 + hA[a] <= bound[org[si]]) & (a != dest) & ~(visited[si] == a[:, None]).any(axis=1)
            if level:
                ok &= self._sensible(legs[si, level - 1], k)
            si, k, a, g2 = si[ok], k[ok], a[ok], g2[ok]
            org, g, legs, visited = org[si], g2, legs[si].copy(), visited[si].copy()
            legs[:, level] = k
            visited[:, 2 + 2 * level] = a
            # change trains: at the same station or through an interchange
            si, t = _expand(a, self.tr_from)
            b = self.tr_to[t]
            g2 = g[si] + self.tr_cost[t]
            ok = (g2 + hB[b] <= bound[org[si]]) & ((b == a[si]) | ~(visited[si] == b[:, None]).any(axis=1))
            si, b, g2 = si[ok], b[ok], g2[ok]
            org, sta, g, legs, visited = org[si], b, g2, legs[si], visited[si].copy()
            visited[:, 3 + 2 * level] = b
        return self._best_routes(origins, dest, np.concatenate(done_org), np.concatenate(done_cost),
                                 np.concatenate(done_legs))

    def _best_routes(self, origins: np.ndarray, dest: int, org: np.ndarray, cost: np.ndarray,
                     legs: np.ndarray) -> list[list[Route]]:
        """Per origin: distinct leg sequences, cheapest first (ties: shorter, then lower leg ids),
        at most max_routes."""
        out: list[list[Route]] = [[] for _ in origins]
        if len(org) == 0:
            return out
        order = np.lexsort(tuple(legs[:, c] for c in range(legs.shape[1] - 1, -1, -1)) + (cost, org))
        org, legs = org[order], legs[order]
        fresh = np.ones(len(org), dtype=bool)
        fresh[1:] = (org[1:] != org[:-1]) | (legs[1:] != legs[:-1]).any(axis=1)
        org, legs = org[fresh], legs[fresh]
        group_start = np.flatnonzero(np.concatenate([[True], org[1:] != org[:-1]]))
        rank = np.arange(len(org)) - np.repeat(group_start, np.diff(np.append(group_start, len(org))))
        keep = rank < self.spec.max_routes
        for o, row in zip(org[keep].tolist(), legs[keep].tolist()):
            seq = tuple(k for k in row if k >= 0)
            label = ">".join(self.legs[k].label for k in seq)
            out[o].append(Route(int(origins[o]), seq, dest, label))
        return out

    def _sensible(self, prev: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Whether leg k may follow leg prev: not the same line and direction again (common lines
        already cover it) unless k is a through train onto another line, and not back along the
        track just ridden (only a change of branch at a junction may reverse direction on the same
        line)."""
        same_line = (self.leg_line[prev] == self.leg_line[k]) & ~self.leg_through[k]
        same_dir = self.leg_up[prev] == self.leg_up[k]
        retrace = (self.leg_alight[prev] == self.leg_board[k]) & (self.leg_last_hop[prev] == self.leg_first_hop[k])
        return ~same_line | (~same_dir & ~retrace)

    # -- station paths --------------------------------------------------------------------------

    def needs_ticket(self, medium: str, operator: int) -> bool:
        return self.net.media[self.effective_medium(medium, operator)].needs_ticket

    def effective_medium(self, medium: str, operator: int) -> str:
        """The medium actually used on an operator (its fallback if it does not accept `medium`)."""
        return self.fares.effective_medium(medium, operator)

    def transfer_path(self, a: int, b: int, medium: str) -> TransferPath | None:
        """The cheapest path from station a to b open to `medium` (None: none is)."""
        paths = [p for p in self.net.transfers.get((a, b), ()) if p.media is None or medium in p.media]
        if not paths:
            return None
        op_b = self.net.stations[b].operator
        return min(paths, key=lambda p: path_walk_s(p.steps, self.net, self.needs_ticket(medium, op_b)))

    def change_walk(self, a: int, b: int) -> np.ndarray:
        """Walk plus mean service (s) of the cheapest path from station a to b, per medium (inf
        where no path is open to it)."""
        key = (a, b)
        if key not in self._change_walk:
            out = np.full(len(self.media), np.inf)
            for m, name in enumerate(self.media):
                path = self.transfer_path(a, b, name)
                if path is not None:
                    out[m] = path_walk_s(path.steps, self.net, self.needs_ticket(name, self.net.stations[b].operator))
            self._change_walk[key] = out
        return self._change_walk[key]

    def leg_matrix(self, routes: list[Route] | tuple[Route, ...]) -> np.ndarray:
        """Leg indices of each route as rows, padded with -1 to the longest route."""
        width = max((len(r.legs) for r in routes), default=1)
        out = np.full((len(routes), width), -1, dtype=np.int64)
        for i, r in enumerate(routes):
            out[i, : len(r.legs)] = r.legs
        return out

    def section_fares(self, legs: np.ndarray, medium: np.ndarray) -> np.ndarray:
        """Fare (CNY) attributed to each leg of each row of `legs` (leg indices, -1 padded) paid
        with medium code `medium` (per row): see fares.FareSystem; a through leg's operator
        sections are charged as the policy says and added up."""
        col, op, _, fare = self.piece_fares(legs, medium)
        out = np.zeros(legs.shape)
        rows = np.repeat(np.arange(legs.shape[0]), op.shape[1])
        ok = (op >= 0).ravel()
        np.add.at(out, (rows[ok], col.ravel()[ok]), fare.ravel()[ok])
        return out

    def piece_fares(self, legs: np.ndarray, medium: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per row of `legs` (leg indices, -1 padded), its track pieces (one per operator section of
        each leg, in order) as matrices padded with -1 / 0: the leg column of each piece, its
        operator, km and the fare (CNY) attributed to it (fares.FareSystem on the pieces)."""
        legs = np.asarray(legs)
        n_p = np.where(legs >= 0, self.leg_n_pieces[np.maximum(legs, 0)], 0)
        width = max(1, int(n_p.sum(axis=1).max(initial=1)))
        col = np.full((len(legs), width), -1, dtype=np.int64)
        op = np.full((len(legs), width), -1, dtype=np.int64)
        km = np.zeros((len(legs), width))
        if (self.leg_n_pieces == 1).all():  # no through leg: one piece per leg
            valid = legs >= 0
            col[:, :legs.shape[1]] = np.where(valid, np.arange(legs.shape[1]), -1)
            op[:, :legs.shape[1]] = np.where(valid, self.leg_operator[np.maximum(legs, 0)], -1)
            km[:, :legs.shape[1]] = np.where(valid, self.piece_km[self.leg_piece_start[np.maximum(legs, 0)]], 0.0)
        else:
            at = np.zeros(len(legs), dtype=np.int64)
            rows = np.arange(len(legs))
            for c in range(legs.shape[1]):
                has = legs[:, c] >= 0
                for q in range(int(n_p[:, c].max(initial=0))):
                    sel = has & (n_p[:, c] > q)
                    r, piece = rows[sel], self.leg_piece_start[legs[sel, c]] + q
                    col[r, at[sel]] = c
                    op[r, at[sel]] = self.piece_operator[piece]
                    km[r, at[sel]] = self.piece_km[piece]
                    at[sel] += 1
        fare = self.fares.section_fares(op, km, np.asarray(medium))
        return col, op, km, fare


def candidate_sets(router: Router, od: np.ndarray, band: np.ndarray, file: str = "") -> tuple[list[Route], list[list[int]]]:
    """Candidate routes of each (OD code, band) pair (OD code = origin * n_stations + destination):
    the distinct routes, and per pair the indices of its candidates, cheapest first. UserError
    naming the pairs without any route."""
    n_st = len(router.net.stations)
    routes: list[Route] = []
    route_index: dict[tuple, int] = {}
    cand: list[list[int]] = [[] for _ in od]
    problems: list[Problem] = []
    found_by = router.found  # kept with the router: a router reused for other demand searches less
    same_as: dict[int, int] = {}
    for b in sorted(set(band.tolist())):
        same_as[b] = next((c for c in same_as if np.array_equal(router.search_costs[c], router.search_costs[b])), b)
    chunk = max(1, 2_000_000 // max(1, len(router.legs)))
    for b in sorted(set(same_as.values())):
        wanted = sorted({int(code) for code, bb in zip(od.tolist(), band.tolist())
                         if same_as[bb] == b and (int(code), b) not in found_by})
        by_dest: dict[int, list[int]] = {}
        for code in wanted:
            by_dest.setdefault(code % n_st, []).append(code // n_st)
        dests = sorted(by_dest)
        for c0 in range(0, len(dests), chunk):
            block = dests[c0: c0 + chunk]
            hA, hB = router.lower_bounds(np.asarray(block), b)
            for row, d in enumerate(block):
                origins = np.asarray(by_dest[d])
                for o, found in zip(origins.tolist(), router.candidates_many(d, origins, hA[row], hB[row], b)):
                    found_by[(o * n_st + d, b)] = found
    for i, (code, b) in enumerate(zip(od.tolist(), band.tolist())):
        found = found_by[(code, same_as[b])]
        if not found:
            problems.append(Problem(file, "demand", f"no route from '{router.net.stations[code // n_st].id}' to "
                                                    f"'{router.net.stations[code % n_st].id}'"))
        for r in found:
            if r.key not in route_index:
                route_index[r.key] = len(routes)
                routes.append(r)
            cand[i].append(route_index[r.key])
    if problems:
        raise UserError(list(dict.fromkeys(problems))[:20])
    return routes, cand
