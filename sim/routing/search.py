"""Candidate routes: the ways from one station to another worth considering, found by a bounded
search, and kept for the next demand on the same network.

A route is a sequence of legs (ride on one line in one direction from a boarding to an alighting
station, on any train whose pattern serves both: common lines) joined by transfers. Candidates
come from a bounded search guided by exact lower bounds (reverse Bellman-Ford per destination)
that alights only at the destination or at transfer points. The search cost of a leg is its
in-vehicle time plus wait_weight times its expected wait, taken for each hour in which commuters
start (the shortest expected wait over the following hours, so that a service running only part
of the day is a candidate when it runs). `choice` prices the candidates and picks one per commuter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import Problem, UserError
from ..network import Network
from ..schema import RoutingSpec
from .access import Access
from .legs import LegNetwork, LegOption


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

    def __init__(self, network: Network, legs: LegNetwork, access: Access, spec: RoutingSpec) -> None:
        self.net, self.legs, self.spec = network, legs, spec
        self.street_walk = access.street_walk
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
        self.search_costs = legs.ivt_s + spec.wait_weight * legs.band_wait
        """Search cost (s) of each leg for commuters starting in each band [band, leg]."""
        self.found: dict[tuple[int, int], list[Route]] = {}
        """Candidate routes found so far, by (OD code, start band) (see candidate_sets)."""

    def lower_bounds(self, dests: np.ndarray, band: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Least search cost to each destination in `dests` (rows) from 'just alighted at s' (hA)
        and 'about to board at s' (hB), over routes of at most max_transfers + 1 legs, for commuters
        starting in `band`: a vectorised Bellman-Ford on legs and transfers (exact lower bounds for
        the bounded search)."""
        search_cost, legs = self.search_costs[band], self.legs
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

    def candidates(self, origin: int, dest: int, band: int = 0) -> list[Route]:
        """Candidate routes from one origin to dest for commuters starting in `band` (see
        candidates_many)."""
        hA, hB = self.lower_bounds(np.asarray([dest]), band)
        return self.candidates_many(dest, np.asarray([origin]), hA[0], hB[0], band)[0]

    def _starts(self, origins: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Start states (origin row, station, cost so far): board at the origin, or walk in the
        street to a station joined to it."""
        n_o = len(origins)
        org_parts, sta_parts, g_parts = [np.arange(n_o)], [origins], [np.zeros(n_o)]
        for (a, b), w in self.street_walk.items():
            hit = np.flatnonzero(origins == a)
            org_parts.append(hit)
            sta_parts.append(np.full(len(hit), b, dtype=np.int64))
            g_parts.append(np.full(len(hit), self.spec.walk_weight * w))
        return np.concatenate(org_parts), np.concatenate(sta_parts), np.concatenate(g_parts)

    def candidates_many(self, dest: int, origins: np.ndarray, hA: np.ndarray, hB: np.ndarray,
                        band: int = 0, widen: bool = False) -> list[list[Route]]:
        """Loop-free routes from each origin to dest within the cost band, cheapest first (at most
        max_routes each), given the lower bounds hA, hB to dest (rows of lower_bounds).

        A level-by-level search over all origins at once: each level boards a leg (to the
        destination, to a station with a street walk to it, or to a transfer point) and changes
        trains; partial routes whose cost plus lower bound exceeds the origin's band are dropped.
        A route may begin with a walk in the street from the origin to a station joined to it by
        an interchange and enter there, and end by leaving the last station and walking to the
        destination. No leg follows one on the same line and direction, none goes back along the
        track just ridden (except a change of branch at a junction), and no station is visited
        twice. `widen`: no band from the lower bounds (which may count a route the rules above
        forbid, and so shut out every route there is): the band is set by the cheapest route found."""
        spec, legs, search_cost = self.spec, self.legs, self.search_costs[band]
        max_legs = spec.max_transfers + 1
        origins = np.asarray(origins, dtype=np.int64)
        org, sta, g = self._starts(origins)
        best = np.full(len(origins), np.inf)
        np.minimum.at(best, org, g + hB[sta])
        bound = np.full(len(origins), np.inf) if widen else best * (1 + spec.cost_band_rel) + spec.cost_band_abs_s + 1e-6
        live = np.ones(len(org), dtype=bool) if widen else np.isfinite(bound[org])
        org, sta, g = org[live], sta[live], g[live]
        chosen = np.full((len(org), max_legs), -1, dtype=np.int64)  # the legs of each partial route
        visited = np.full((len(org), 2 * max_legs + 2), -1, dtype=np.int64)
        visited[:, 0], visited[:, 1] = origins[org], sta
        # legs into the destination or a station with a street walk to it
        near = {dest: 0.0}
        near.update({a: spec.walk_weight * w for (a, b), w in self.street_walk.items() if b == dest})
        final = np.flatnonzero(np.isin(legs.alight, list(near)))
        final = final[np.argsort(legs.board[final], kind="stable")]
        final_tail = np.asarray([near[int(a)] for a in legs.alight[final]])
        done_org, done_cost, done_legs = [], [], []
        for level in range(max_legs):
            # finish: ride a leg to the destination (or a station with a street walk to it)
            si, k = _expand(sta, legs.board[final])
            tail = final_tail[k]
            k = final[k]
            cost = g[si] + search_cost[k] + tail
            ok = cost <= bound[org[si]]
            if level:
                ok &= _may_follow(legs, chosen[si, level - 1], k)
            si, k, cost = si[ok], k[ok], cost[ok]
            row = chosen[si].copy()
            row[:, level] = k
            done_org.append(org[si])
            done_cost.append(cost)
            done_legs.append(row)
            if level + 1 >= max_legs:
                break
            # ride on to a transfer point
            si, k = _expand(sta, self.tp_board_sorted, self.tp_leg_sorted)
            a = legs.alight[k]
            g2 = g[si] + search_cost[k]
            ok = (g2 + hA[a] <= bound[org[si]]) & (a != dest) & ~(visited[si] == a[:, None]).any(axis=1)
            if level:
                ok &= _may_follow(legs, chosen[si, level - 1], k)
            si, k, a, g2 = si[ok], k[ok], a[ok], g2[ok]
            org, g, chosen, visited = org[si], g2, chosen[si].copy(), visited[si].copy()
            chosen[:, level] = k
            visited[:, 2 + 2 * level] = a
            # change trains: at the same station or through an interchange
            si, t = _expand(a, self.tr_from)
            b = self.tr_to[t]
            g2 = g[si] + self.tr_cost[t]
            ok = (g2 + hB[b] <= bound[org[si]]) & ((b == a[si]) | ~(visited[si] == b[:, None]).any(axis=1))
            si, b, g2 = si[ok], b[ok], g2[ok]
            org, sta, g, chosen, visited = org[si], b, g2, chosen[si], visited[si].copy()
            visited[:, 3 + 2 * level] = b
        d_org, d_cost, d_legs = np.concatenate(done_org), np.concatenate(done_cost), np.concatenate(done_legs)
        if widen and len(d_org):  # the band around the cheapest route each origin has
            cheapest = np.full(len(origins), np.inf)
            np.minimum.at(cheapest, d_org, d_cost)
            ok = d_cost <= cheapest[d_org] * (1 + spec.cost_band_rel) + spec.cost_band_abs_s + 1e-6
            d_org, d_cost, d_legs = d_org[ok], d_cost[ok], d_legs[ok]
        return _best_routes(self.legs.options, spec.max_routes, origins, dest, d_org, d_cost, d_legs)


def _may_follow(legs: LegNetwork, prev: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Whether leg k may follow leg prev: not the same line and direction again where common lines
    already cover it (a train from prev's platform to k's station) unless k is a through train onto
    another line, and not back along the track just ridden (only a change of branch at a junction
    may reverse direction on the same line). A change on the same line and direction is a way
    where no train runs straight through (a station some trains serve to one others serve)."""
    same_line = (legs.line[prev] == legs.line[k]) & ~legs.through[k]
    same_dir = legs.up[prev] == legs.up[k]
    retrace = (legs.alight[prev] == legs.board[k]) & (legs.last_hop[prev] == legs.first_hop[k])
    covered = legs.direct(legs.platform[prev], legs.alight[k])
    return ~same_line | (~same_dir & ~retrace) | (same_dir & ~covered)


def _best_routes(options: tuple[LegOption, ...], max_routes: int, origins: np.ndarray, dest: int, org: np.ndarray,
                 cost: np.ndarray, legs: np.ndarray) -> list[list[Route]]:
    """Per origin: distinct leg sequences (rows of `legs`, reaching dest from origins[org] at
    `cost`), cheapest first (ties: shorter, then lower leg ids), at most max_routes."""
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
    keep = rank < max_routes
    for o, row in zip(org[keep].tolist(), legs[keep].tolist()):
        seq = tuple(k for k in row if k >= 0)
        label = ">".join(options[k].label for k in seq)
        out[o].append(Route(int(origins[o]), seq, dest, label))
    return out


def candidate_sets(search: CandidateSearch, od: np.ndarray, band: np.ndarray,
                   file: str = "") -> tuple[list[Route], list[list[int]]]:
    """Candidate routes of each (OD code, band) pair (OD code = origin * n_stations + destination):
    the distinct routes, and per pair the indices of its candidates, cheapest first. UserError
    naming the pairs without any route. Pairs searched before (search.found) are not searched again."""
    stations = search.net.stations
    n_st = len(stations)
    routes: list[Route] = []
    route_index: dict[tuple, int] = {}
    cand: list[list[int]] = [[] for _ in od]
    problems: list[Problem] = []
    found_by = search.found  # kept with the search: a search reused for other demand searches less
    same_as: dict[int, int] = {}
    for b in sorted(set(band.tolist())):
        same_as[b] = next((c for c in same_as if np.array_equal(search.search_costs[c], search.search_costs[b])), b)
    chunk = max(1, 2_000_000 // max(1, len(search.legs.options)))
    for b in sorted(set(same_as.values())):
        wanted = sorted({int(code) for code, bb in zip(od.tolist(), band.tolist())
                         if same_as[bb] == b and (int(code), b) not in found_by})
        by_dest: dict[int, list[int]] = {}
        for code in wanted:
            by_dest.setdefault(code % n_st, []).append(code // n_st)
        dests = sorted(by_dest)
        for c0 in range(0, len(dests), chunk):
            block = dests[c0: c0 + chunk]
            hA, hB = search.lower_bounds(np.asarray(block), b)
            for row, d in enumerate(block):
                origins = np.asarray(by_dest[d])
                for o, found in zip(origins.tolist(), search.candidates_many(d, origins, hA[row], hB[row], b)):
                    found_by[(o * n_st + d, b)] = found
                # the bounds may count a route the search rules forbid: then search without them
                missed = np.asarray([o for o in origins.tolist() if not found_by[(o * n_st + d, b)]], dtype=np.int64)
                if len(missed):
                    for o, found in zip(missed.tolist(), search.candidates_many(d, missed, hA[row], hB[row], b,
                                                                                 widen=True)):
                        found_by[(o * n_st + d, b)] = found
    for i, (code, b) in enumerate(zip(od.tolist(), band.tolist())):
        found = found_by[(code, same_as[b])]
        if not found:
            problems.append(Problem(file, "demand", f"no route from '{stations[code // n_st].id}' to "
                                                    f"'{stations[code % n_st].id}' (no trains join them after the "
                                                    "commuters' start: leave such stations out of the demand, e.g. "
                                                    "with a weight of 0 in the generator)"))
        for r in found:
            if r.key not in route_index:
                route_index[r.key] = len(routes)
                routes.append(r)
            cand[i].append(route_index[r.key])
    if problems:
        raise UserError(list(dict.fromkeys(problems))[:20])
    return routes, cand
