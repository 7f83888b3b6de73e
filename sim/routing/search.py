"""Candidate routes: the ways from one station to another worth considering, found by a bounded
search, and kept for the next demand on the same network.

A route is a sequence of legs (ride on one line in one direction from a boarding to an alighting
station, on any train whose pattern serves both: common lines) joined by transfers. Candidates
come from a bounded search guided by exact lower bounds (reverse Bellman-Ford per destination)
that alights only at the destination or at transfer points. The search cost of a leg is its
in-vehicle time plus wait_weight times its expected wait. Each station pair is searched once, with
each leg at its shortest expected wait of the whole period (its best service of the day), so that
the search grows with the pairs used, not with the hours in which they are used; a pair is searched
again for an hour in which a commuter starts (each leg at its shortest expected wait over that hour
and the following ones) where one of its candidates has no train then (a service that stopped for
the night) or the best of them misses that hour's least cost by more than RESEARCH_GAP_S (see
candidate_sets). `choice` prices the candidates at each commuter's own start time and picks one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..arrays import unique_inverse, with_room
from ..errors import Problem, UserError
from ..network import Network
from ..schema import RoutingSpec
from .access import Access
from .bounded import bounded_routes
from .legs import LegNetwork


@dataclass(frozen=True, slots=True)
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


SEARCH_THREADS = 2
"""Destinations searched at once (threads): the compiled search (bounded.bounded_routes) releases
the interpreter while it runs, so two keep both cores of a two-core machine busy."""

THREADED_PAIRS = 2000
"""The fewest pairs searched in one go for which threads are started: fewer take less time than
starting them (a decision on the way searches a few at a time)."""

BOUNDS_KEPT_BYTES = 256 * 2**20
"""The most memory the lower bounds kept by a search may take (bytes); beyond it they are computed
at each call."""


@dataclass(frozen=True, slots=True)
class Found:
    """The candidate routes of one origin and destination in one search regime, cheapest first."""
    routes: tuple[Route, ...]
    search_cost: np.ndarray
    """Search cost (s) of each route in the regime in which it was found."""


def leg_matrix(routes: list[Route] | tuple[Route, ...]) -> np.ndarray:
    """Leg indices of each route as rows, padded with -1 to the longest route."""
    width = max((len(r.legs) for r in routes), default=1)
    out = np.full((len(routes), width), -1, dtype=np.int64)
    for i, r in enumerate(routes):
        out[i, : len(r.legs)] = r.legs
    return out


def transfer_points(network: Network) -> frozenset[int]:
    """Stations where changing trains can make sense: served by several lines, joined to another
    station by an interchange, a junction of a line's branches, or a platform where one train's
    riders may change to another that goes on where the first does not (see _change_gains)."""
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
    calls: dict[tuple[int, int], set[tuple[frozenset[int], frozenset[int]]]] = {}
    for p in network.patterns:
        for i, s in enumerate(p.stops):
            calls.setdefault((s, p.platforms[i]), set()).add((frozenset(p.stops[:i]), frozenset(p.stops[i + 1:])))
    out |= {s for (s, _), seen in calls.items() if _change_gains(seen)}
    return frozenset(out)


def _change_gains(seen: set[tuple[frozenset[int], frozenset[int]]]) -> bool:
    """Whether, of the trains calling at one platform (each as the stations it served before and
    serves after), one brings riders from a station another never served to the platform and the
    other takes them on to a station the first never reaches: a change there joins two stations no
    one train does (a local train's stop and a station only the express goes on to). Branches
    meeting at a trunk do not count: their trains serve the same stations on one side."""
    return any(before_p - before_q and after_q - after_p
               for before_p, after_p in seen for before_q, after_q in seen)


def _expand(at: np.ndarray, keys_sorted: np.ndarray, values: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each i and each position j with keys_sorted[j] == at[i]: the pairs (i, j), or (i,
    values[j]) when values are given. keys_sorted must be sorted ascending."""
    # the loop would be: for i, a in enumerate(at): for j in range(lo[i], hi[i]): yield i, j
    lo = np.searchsorted(keys_sorted, at, side="left")
    hi = np.searchsorted(keys_sorted, at, side="right")
    count = hi - lo
    i = np.repeat(np.arange(len(at)), count)
    j = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count) + np.repeat(lo, count)
    return i, (values[j] if values is not None else j)


class CandidateSearch:
    """The bounded search for candidate routes on one network as legs with its access, for one set
    of routing parameters; `found` keeps every candidate set searched (see candidate_sets)."""

    def __init__(self, network: Network, legs: LegNetwork, access: Access, spec: RoutingSpec,
                 whole_period: bool = True) -> None:
        self.net, self.legs, self.spec = network, legs, spec
        self.whole_period = whole_period
        """Whether a pair's candidates are searched once for the whole period (see candidate_sets);
        else once per start band, on that band's waits alone."""
        self.street_walk = access.street_walk
        walks = list(access.street_walk.items())
        walk_from = np.asarray([a for (a, _), _ in walks], dtype=np.int64)
        self._walk_order = np.argsort(walk_from, kind="stable")
        """The street walks (in street_walk's order) sorted by the station they leave from."""
        self._walk_from = walk_from[self._walk_order]
        self._walk_to = np.asarray([b for (_, b), _ in walks], dtype=np.int64)
        self._walk_cost = np.asarray([spec.walk_weight * w for _, w in walks], dtype=float)
        self._labels = [leg.label for leg in legs.options]
        self._finals: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        """Per destination: the legs into it or into a station with a street walk to it, by boarding
        station, their boarding stations, and the search cost after each (see _final_legs)."""
        self.transfer_points = transfer_points(network)
        # legs alighting at a transfer point, ordered by boarding station (ties: by leg index)
        tp = np.flatnonzero(np.isin(legs.alight, sorted(self.transfer_points)))
        self.tp_leg_sorted = tp[np.argsort(legs.board[tp], kind="stable")]
        self.tp_board_sorted = legs.board[self.tp_leg_sorted]
        # every change of trains (from station, to station, search cost), sorted
        pairs = sorted((a, b, spec.transfer_penalty_s + spec.walk_weight * w)
                       for a, outs in access.transfer_out.items() for b, w in outs)
        self.tr_from = np.asarray([x[0] for x in pairs], dtype=np.int64)
        self.tr_to = np.asarray([x[1] for x in pairs], dtype=np.int64)
        self.tr_cost = np.asarray([x[2] for x in pairs], dtype=float)
        band_costs = legs.ivt_s + spec.wait_weight * legs.band_wait
        self.search_costs = np.vstack([band_costs.min(axis=0, keepdims=True), band_costs])
        """Search cost (s) of each leg [regime, leg]: regime 0 the whole period (each leg at its
        best expected wait of the day), regime 1 + b commuters starting in band b."""
        self._bounds: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        """Lower bounds kept (see bounds): per regime, hA and hB [destination, station] and which
        destinations' rows are filled."""
        self.found: dict[tuple[int, int], Found] = {}
        """Candidate routes found so far, by (OD code, regime) (see candidate_sets)."""

    def lower_bounds(self, dests: np.ndarray, regime: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Least search cost to each destination in `dests` (rows) from 'just alighted at s' (hA)
        and 'about to board at s' (hB), over routes of at most max_transfers + 1 legs, in search
        `regime` (see search_costs): a vectorised Bellman-Ford on legs and transfers (exact lower
        bounds for the bounded search)."""
        search_cost, legs = self.search_costs[regime], self.legs
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
        ob = np.argsort(legs.board, kind="stable")
        boards, starts = np.unique(legs.board[ob], return_index=True)
        ot = np.argsort(self.tr_from, kind="stable")
        froms, tstarts = np.unique(self.tr_from[ot], return_index=True)
        for _ in range(self.spec.max_transfers + 1):
            # relax every leg (grouped by boarding station), then every change, for all dests at once
            if len(ob):
                hB = np.full((len(dests), n), np.inf)
                hB[:, boards] = np.minimum.reduceat(search_cost[ob] + hA[:, legs.alight[ob]], starts, axis=1)
            via = np.full((len(dests), n), np.inf)
            via[:, froms] = np.minimum.reduceat(self.tr_cost[ot] + hB[:, self.tr_to[ot]], tstarts, axis=1)
            hA = np.minimum(a0, via)
        return hA, hB

    def bounds(self, dests: np.ndarray, regime: int) -> tuple[np.ndarray, np.ndarray]:
        """lower_bounds(dests, regime), kept for the next call when the bounds of every regime to
        every station fit in BOUNDS_KEPT_BYTES."""
        dests = np.asarray(dests, dtype=np.int64)
        n = len(self.net.stations)
        if 16 * n * n * len(self.search_costs) > BOUNDS_KEPT_BYTES:
            return self.lower_bounds(dests, regime)
        if regime not in self._bounds:
            self._bounds[regime] = (np.empty((n, n)), np.empty((n, n)), np.zeros(n, dtype=bool))
        h_a, h_b, known = self._bounds[regime]
        todo = np.unique(dests[~known[dests]])
        if len(todo):
            h_a[todo], h_b[todo] = self.lower_bounds(todo, regime)
            known[todo] = True
        return h_a[dests], h_b[dests]

    def candidates(self, origin: int, dest: int, regime: int = 0) -> list[Route]:
        """Candidate routes from one origin to dest in search `regime` (see candidates_many)."""
        hA, hB = self.lower_bounds(np.asarray([dest]), regime)
        return list(self.candidates_many(dest, np.asarray([origin]), hA[0], hB[0], regime)[0].routes)

    def _starts(self, origins: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Start states (origin row, station, cost so far): board at the origin, or walk in the
        street to a station joined to it."""
        n_o = len(origins)
        row, walk = _expand(origins, self._walk_from, self._walk_order)
        # in the order a loop over the street walks would give: walk by walk, origins in order within each
        order = np.lexsort((row, walk))
        row, walk = row[order], walk[order]
        return (np.concatenate([np.arange(n_o), row]), np.concatenate([origins, self._walk_to[walk]]),
                np.concatenate([np.zeros(n_o), self._walk_cost[walk]]))

    def _final_legs(self, dest: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The legs into `dest` or into a station with a street walk to it, ordered by boarding
        station (ties: by leg index), their boarding stations, and the search cost of the walk after
        each (0 into dest)."""
        if dest not in self._finals:
            legs = self.legs
            near = {dest: 0.0}
            near.update({a: self.spec.walk_weight * w for (a, b), w in self.street_walk.items() if b == dest})
            final = np.flatnonzero(np.isin(legs.alight, list(near)))
            final = final[np.argsort(legs.board[final], kind="stable")]
            self._finals[dest] = (final, legs.board[final],
                                  np.asarray([near[int(a)] for a in legs.alight[final]], dtype=float))
        return self._finals[dest]

    def candidates_many(self, dest: int, origins: np.ndarray, hA: np.ndarray, hB: np.ndarray,
                        regime: int = 0, widen: bool = False) -> list[Found]:
        """Loop-free routes from each origin to dest within the cost band, cheapest first (at most
        max_routes each), given the lower bounds hA, hB to dest (rows of lower_bounds).

        A depth-first search from each origin (bounded.bounded_routes): each level boards a leg (to
        the destination, to a station with a street walk to it, or to a transfer point) and changes
        trains; partial routes whose cost plus lower bound exceeds the origin's band are dropped.
        A route may begin with a walk in the street from the origin to a station joined to it by
        an interchange and enter there, and end by leaving the last station and walking to the
        destination. No leg follows one on the same line and direction, none goes back along the
        track just ridden (except a change of branch at a junction), and no station is visited
        twice. `widen`: no band from the lower bounds (which may count a route the rules above
        forbid, and so shut out every route there is): the band is set by the cheapest route found."""
        origins = np.asarray(origins, dtype=np.int64)
        d_org, d_cost, d_legs = self.within_band(dest, origins, hA, hB, regime, widen)
        return _best_routes(self._labels, self.spec.max_routes, origins, dest, d_org, d_cost, d_legs)

    def within_band(self, dest: int, origins: np.ndarray, hA: np.ndarray, hB: np.ndarray, regime: int = 0,
                    widen: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every route candidates_many ranks, in no particular order: its origin's position in
        `origins`, its search cost (s) and its legs (a row padded with -1 to max_transfers + 1)."""
        spec, legs, search_cost = self.spec, self.legs, self.search_costs[regime]
        max_legs = spec.max_transfers + 1
        org, sta, g = self._starts(origins)
        best = np.full(len(origins), np.inf)
        np.minimum.at(best, org, g + hB[sta])
        bound = np.full(len(origins), np.inf) if widen else best * (1 + spec.cost_band_rel) + spec.cost_band_abs_s + 1e-6
        live = np.ones(len(org), dtype=bool) if widen else np.isfinite(bound[org])
        org, sta, g = org[live], sta[live], g[live]
        final, final_board, final_tail = self._final_legs(dest)
        d_org, d_cost, d_legs = bounded_routes(
            origins, org, sta, g, bound, hA, hB, dest, max_legs, legs.board, legs.alight, legs.line, legs.up,
            legs.through, legs.last_hop, legs.first_hop, legs.platform, legs.leg_table, len(self.net.stations),
            search_cost, final, final_board, final_tail, self.tp_leg_sorted, self.tp_board_sorted,
            self.tr_from, self.tr_to, self.tr_cost)
        if widen and len(d_org):  # the band around the cheapest route each origin has
            cheapest = np.full(len(origins), np.inf)
            np.minimum.at(cheapest, d_org, d_cost)
            ok = d_cost <= cheapest[d_org] * (1 + spec.cost_band_rel) + spec.cost_band_abs_s + 1e-6
            d_org, d_cost, d_legs = d_org[ok], d_cost[ok], d_legs[ok]
        return d_org, d_cost, d_legs

    def found_to(self, dest: int, origins: np.ndarray, hA: np.ndarray, hB: np.ndarray, regime: int) -> list[Found]:
        """candidates_many, and again without the band from the lower bounds for the origins it
        finds no route from (the bounds may count a route the search rules forbid)."""
        found = self.candidates_many(dest, origins, hA, hB, regime)
        missed = np.asarray([i for i, f in enumerate(found) if not f.routes], dtype=np.int64)
        if len(missed):
            for i, f in zip(missed.tolist(), self.candidates_many(dest, origins[missed], hA, hB, regime, widen=True)):
                found[i] = f
        return found


def _best_routes(labels: list[str], max_routes: int, origins: np.ndarray, dest: int, org: np.ndarray,
                 cost: np.ndarray, legs: np.ndarray) -> list[Found]:
    """Per origin: distinct leg sequences (rows of `legs`, reaching dest from origins[org] at
    `cost`), cheapest first (ties: shorter, then lower leg ids), at most max_routes, with their
    search costs; `labels`: the label of each leg."""
    out: list[tuple[list[Route], list[float]]] = [([], []) for _ in origins]
    if len(org) > 0:
        order = np.lexsort(tuple(legs[:, c] for c in range(legs.shape[1] - 1, -1, -1)) + (cost, org))
        org, legs, cost = org[order], legs[order], cost[order]
        fresh = np.ones(len(org), dtype=bool)
        fresh[1:] = (org[1:] != org[:-1]) | (legs[1:] != legs[:-1]).any(axis=1)
        org, legs, cost = org[fresh], legs[fresh], cost[fresh]
        group_start = np.flatnonzero(np.concatenate([[True], org[1:] != org[:-1]]))
        rank = np.arange(len(org)) - np.repeat(group_start, np.diff(np.append(group_start, len(org))))
        keep = rank < max_routes
        width = legs.shape[1]
        for o, row, c in zip(org[keep].tolist(), legs[keep].tolist(), cost[keep].tolist()):
            seq = tuple(row[: width - row.count(-1)])  # the legs, then -1 padding
            label = sys.intern(">".join([labels[k] for k in seq]))  # shared by the many routes of one label
            out[o][0].append(Route(int(origins[o]), seq, dest, label))
            out[o][1].append(c)
    return [Found(tuple(r), np.asarray(c, dtype=float)) for r, c in out]


RESEARCH_GAP_S = 60.0
"""A pair is searched again for a start band when the best of its candidates (found for the whole
period), at that band's waits, costs more than this (s of search cost) above the least cost of any
route in that band (its lower bound): a route the choice would clearly prefer may be missing."""


def candidate_sets(search: CandidateSearch, od: np.ndarray, band: np.ndarray, file: str = "",
                   pool: RoutePool | None = None, unrouted_ok: bool = False) -> tuple[list[Route], np.ndarray]:
    """Candidate routes of each (OD code, start band) pair (OD code = origin * n_stations +
    destination): the distinct routes, and per pair the indices of its candidates, cheapest first
    (rows, -1 padded to max_routes). Each OD code is searched once for the whole period; a pair is
    searched again for its band where one of those candidates has no train in the band (a service
    that stopped for the night, a closure) or the best of them, at the band's waits, misses the
    band's least cost by more than RESEARCH_GAP_S. A search per band (search.whole_period False)
    searches every pair for its band alone. UserError naming the pairs without any route. What was
    searched before (search.found) is not searched again. `pool`: the routes of earlier candidate
    sets, whose indices stay the same (the routes returned are its routes, with any new ones after
    them). `unrouted_ok`: pairs without any route get a row of -1 instead of the error."""
    od, band = np.asarray(od, dtype=np.int64), np.asarray(band, dtype=np.int64)
    pool = RoutePool(search) if pool is None else pool
    assert pool.search is search, "a pool holds the routes of one search"
    if search.whole_period:
        codes, code_of = unique_inverse(od)
        cand = pool.gather(codes, np.zeros(len(codes), dtype=np.int64))[code_of]
        stale = _stale(pool, od, band, cand)
    else:
        cand = np.full((len(od), search.spec.max_routes), -1, dtype=np.int64)
        stale = np.ones(len(od), dtype=bool)
    stale_at = np.flatnonzero(stale)
    if len(stale_at):
        n_bands = search.legs.n_bands
        pairs, pair_of = unique_inverse(od[stale_at] * n_bands + band[stale_at])
        cand[stale_at] = pool.gather(pairs // n_bands, 1 + pairs % n_bands)[pair_of]
    empty = np.flatnonzero(cand[:, 0] < 0)
    if len(empty) and not unrouted_ok:
        stations, n_st = search.net.stations, len(search.net.stations)
        raise UserError(list(dict.fromkeys(
            Problem(file, "demand", f"no route from '{stations[code // n_st].id}' to '{stations[code % n_st].id}' "
                                    "(no trains join them after the commuters' start: leave such stations out of "
                                    "the demand, e.g. with a weight of 0 in the generator)")
            for code in od[empty].tolist()))[:20])
    return pool.routes, cand


def _stale(pool: RoutePool, od: np.ndarray, band: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """Whether each (OD code, band) pair's candidates (found for the whole period) are to be searched
    again for its band: one has no train in the band, or the best costs more than RESEARCH_GAP_S
    above the band's least cost."""
    out = np.zeros(len(od), dtype=bool)
    for b in np.unique(band).tolist():
        at = np.flatnonzero(band == b)
        cost = pool.costs(cand[at], 1 + b)
        out[at] = ~(cost.min(axis=1) <= _least_costs(pool.search, od[at], 1 + b) + RESEARCH_GAP_S)
        out[at] |= (np.isinf(cost) & (cand[at] >= 0)).any(axis=1)
    return out


class RoutePool:
    """The distinct routes of the candidate sets gathered from a search, in the order gathered,
    with the part of each route's search cost that does not depend on the regime (walks and
    changes)."""

    def __init__(self, search: CandidateSearch) -> None:
        self.search = search
        self.routes: list[Route] = []
        self._index: dict[tuple, int] = {}
        self._rows: dict[tuple[int, int], list[int]] = {}
        """Per (OD code, regime) gathered before: the indices of its candidates (a city's day gathers
        the same pairs again for its decisions on the way and its return trips)."""
        # per route, in rows grown by doubling (a city day's decisions on the way gather new routes
        # thousands of times: copying every route's row each time cost more than the search)
        self._fixed = np.zeros(64)
        self._matrix = np.full((64, 1), -1, dtype=np.int64)

    def gather(self, codes: np.ndarray, regimes: np.ndarray) -> np.ndarray:
        """The candidates of each (OD code, regime), searched where not found before, as rows of
        route indices (-1 padded to max_routes)."""
        search = self.search
        _search(search, codes, regimes)
        out = np.full((len(codes), search.spec.max_routes), -1, dtype=np.int64)
        new: list[tuple[Route, int, float]] = []
        lo = len(self.routes)
        for i, (code, regime) in enumerate(zip(codes.tolist(), regimes.tolist())):
            row = self._rows.get((code, regime))
            if row is None:
                row = self._rows[(code, regime)] = self._indices(search.found[(code, regime)], regime, new)
            out[i, : len(row)] = row
        if new:
            matrix = leg_matrix([r for r, _, _ in new])
            regime_of = np.asarray([g for _, g, _ in new], dtype=np.int64)
            legs_cost = np.where(matrix >= 0, search.search_costs[regime_of[:, None], np.maximum(matrix, 0)], 0.0)
            self._matrix = with_room(self._matrix, len(self.routes), matrix.shape[1], -1)
            self._fixed = with_room(self._fixed[:, None], len(self._matrix), 1, 0.0)[:, 0]
            self._fixed[lo: len(self.routes)] = np.asarray([c for _, _, c in new]) - legs_cost.sum(axis=1)
            self._matrix[lo: len(self.routes), : matrix.shape[1]] = matrix
        return out

    def _indices(self, found: Found, regime: int, new: list[tuple[Route, int, float]]) -> list[int]:
        """The index of each of the routes `found` (for a pair in `regime`), those not met before
        added to the pool and to `new` (with the regime and their search cost)."""
        out = []
        for r, c in zip(found.routes, found.search_cost.tolist()):
            k = self._index.get(r.key)
            if k is None:
                k = self._index[r.key] = len(self.routes)
                self.routes.append(r)
                new.append((r, regime, c))
            out.append(k)
        return out

    def costs(self, cand: np.ndarray, regime: int) -> np.ndarray:
        """Search cost in `regime` (s) of each of the candidates (route indices, -1 padded; inf for
        none, or a route with a leg that has no train in the regime)."""
        if not self.routes:
            return np.full(cand.shape, np.inf)
        used = np.zeros(len(self.routes), dtype=bool)
        used[cand[cand >= 0]] = True  # the routes in use, found without sorting every candidate
        rows = np.flatnonzero(used)
        sub = self._matrix[rows]
        cost = np.full(len(self.routes), np.inf)
        cost[rows] = self._fixed[rows] + np.where(
            sub >= 0, self.search.search_costs[regime][np.maximum(sub, 0)], 0.0).sum(axis=1)
        return np.where(cand >= 0, cost[np.maximum(cand, 0)], np.inf)


def _least_costs(search: CandidateSearch, codes: np.ndarray, regime: int) -> np.ndarray:
    """Lower bound of the search cost (s) of any route for each OD code in `regime`: the least over
    its start states of the cost so far plus the lower bound from there (inf: no route)."""
    n_st = len(search.net.stations)
    dest, origin = codes % n_st, codes // n_st
    out = np.full(len(codes), np.inf)
    for block in _blocks(search, np.unique(dest)):
        _, hB = search.bounds(block, regime)
        at = np.flatnonzero((dest >= block[0]) & (dest <= block[-1]))
        row_of = np.searchsorted(block, dest[at])
        pair, sta, g = search._starts(origin[at])
        part = np.full(len(at), np.inf)
        np.minimum.at(part, pair, g + hB[row_of[pair], sta])
        out[at] = part
    return out


def _blocks(search: CandidateSearch, dests: np.ndarray) -> list[np.ndarray]:
    """`dests` (sorted) in blocks whose lower bounds (a row of every leg per destination) stay near
    2,000,000 entries."""
    size = max(1, 2_000_000 // max(1, len(search.legs.options)))
    return [dests[i: i + size] for i in range(0, len(dests), size)]


def _search(search: CandidateSearch, codes: np.ndarray, regimes: np.ndarray) -> None:
    """Search the candidates of each (OD code, regime) not searched before into search.found,
    destination by destination (the lower bounds of many destinations at once; SEARCH_THREADS
    destinations at a time when there are at least THREADED_PAIRS to search)."""
    n_st = len(search.net.stations)
    wanted: dict[int, dict[int, list[int]]] = {}
    """Per regime, per destination: the origins to search."""
    for code, regime in zip(codes.tolist(), regimes.tolist()):
        if (code, regime) not in search.found:
            wanted.setdefault(regime, {}).setdefault(code % n_st, []).append(code // n_st)
    if sum(len(origins) for by_dest in wanted.values() for origins in by_dest.values()) < THREADED_PAIRS:
        _search_wanted(search, wanted, map)
        return
    with ThreadPoolExecutor(max_workers=SEARCH_THREADS) as pool:
        _search_wanted(search, wanted, pool.map)


def _search_wanted(search: CandidateSearch, wanted: dict[int, dict[int, list[int]]], run: Callable) -> None:
    """_search's searches, mapped over destinations by `run` (map, or a thread pool's), the results
    taken in order."""
    n_st = len(search.net.stations)
    for regime in sorted(wanted):
        by_dest = wanted[regime]
        for block in _blocks(search, np.asarray(sorted(by_dest), dtype=np.int64)):
            hA, hB = search.bounds(block, regime)
            jobs = [(d, np.asarray(by_dest[d]), hA[row], hB[row], regime) for row, d in enumerate(block.tolist())]
            for (d, origins, *_), found in zip(jobs, run(lambda job: search.found_to(*job), jobs)):
                for o, routes in zip(origins.tolist(), found):
                    search.found[(o * n_st + d, regime)] = routes
