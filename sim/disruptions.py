"""Disruptions: sections of line closed for a time, applied to the train runs.

A closure of line L between stations a and b closes the track on L's path from a to b, both ways.
A train's hop from one call to the next (a stop, or a station passed) is closed when its track
path uses a closed piece of track and the train is timetabled to leave the first call in the
closure's [start, end). The train's calls are split at closed hops into runs; a run of a single
call is dropped, and passed stations at either end of a run are trimmed so that every run starts
and ends at a stop. Each run is a train: the first keeps the train's id, the others add '/2',
'/3', ... (trains turned back on either side of the section, keeping the timetable there).

From a closure's start, boarding shows the shortened run: at a call timetabled at or after the
start of the closure that cuts it, riders board only for stops up to where the run ends. Riders
who boarded before, for beyond, learn of it at the train's first stop once it is announced and
choose there: stay aboard to the end of the run (and choose again there), or get off (the engines).

Commuters who start once a closure is announced and while it lasts know of it: they choose their
route on the network as it then runs (`network_during`, `informed_choice`); the others chose
without knowing, and choose again on the way (sim.replan: aboard a train it cuts, when a train cut
short puts them off, when the closure is announced while they wait, when they reach a platform
while it lasts).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .choice import Assignment, Chooser
from .closures import Closure
from .graphs import shortest_path
from .network import Network
from .routing import WAIT_BIN_S, Access, CandidateSearch, LegNetwork, Route
from .schema import RoutingSpec
from .timetable import Trains


def apply(network: Network, trains: Trains, closures: tuple[Closure, ...]) -> tuple[Trains, dict[str, int]]:
    """The train runs with every closure applied (see the module docstring), and per closure the
    number of trains it cut."""
    if not closures:
        return trains, {}
    adjacency = network.track_adjacency()
    paths: dict[tuple[int, int], list[tuple[int, int]]] = {}
    cut = {c.id: 0 for c in closures}
    cols = ("call_station", "call_platform", "call_seq", "call_t_arr", "call_t_dep", "call_stop", "call_serves_to")
    parts: dict[str, list] = {c: [] for c in cols}
    ids, pats, caps, starts = [], [], [], [0]
    for k in range(trains.n_trains):
        lo, hi = int(trains.call_start[k]), int(trains.call_start[k + 1])
        st, dep = trains.call_station[lo:hi], trains.call_t_dep[lo:hi]
        mine = on_track_of(network, network.patterns[int(trains.pattern[k])], closures)
        closed_by: list[Closure | None] = []
        for i in range(hi - lo - 1):
            key = (int(st[i]), int(st[i + 1]))
            if key not in paths:
                path = shortest_path(adjacency, *key) or list(key)
                paths[key] = list(zip(path, path[1:]))
            hit = next((c for c in mine if c.start <= dep[i] < c.end and any(e in c.edges for e in paths[key])), None)
            closed_by.append(hit)
        runs: list[tuple[int, int, Closure | None]] = []
        begin = 0
        for i, c in enumerate(closed_by):
            if c is not None:
                runs.append((begin, i, c))
                begin = i + 1
        runs.append((begin, hi - lo - 1, None))
        stop = trains.call_stop[lo:hi]
        kept = []
        for a, b, closure in runs:
            while a <= b and not stop[a]:
                a += 1
            while b >= a and not stop[b]:
                b -= 1
            if b > a:
                kept.append((a, b, closure))
        if any(c is not None for _, _, c in runs):
            for cid in {c.id for _, _, c in runs if c is not None}:
                cut[cid] += 1
        for r, (a, b, closure) in enumerate(kept):
            ids.append(trains.train_id[k] if r == 0 else f"{trains.train_id[k]}/{r + 1}")
            pats.append(trains.pattern[k])
            caps.append(trains.capacity[k])
            for col in cols:
                parts[col].append(getattr(trains, col)[lo + a: lo + b + 1].copy())
            if closure is not None:  # shown shortened from the closure's start on
                serves, t = parts["call_serves_to"][-1], parts["call_t_dep"][-1]
                serves[t >= closure.start] = trains.call_seq[lo + b]
            parts["call_t_dep"][-1][-1] = parts["call_t_arr"][-1][-1]  # the run ends there
            starts.append(starts[-1] + b - a + 1)
    return replace(
        trains, train_id=tuple(ids), pattern=np.asarray(pats, dtype=np.int32), capacity=np.asarray(caps, dtype=np.int64),
        call_start=np.asarray(starts, dtype=np.int64),
        **{col: np.concatenate(parts[col]) if parts[col] else getattr(trains, col)[:0] for col in cols}), cut


def on_track_of(network: Network, pattern, closures: tuple[Closure, ...]) -> tuple[Closure, ...]:
    """The closures of a line whose track `pattern` runs on (its own line's, or, through-running, another
    line's): a bus bridge along the same stations is not closed."""
    lines = {pattern.line} | {piece[0] for hop in pattern.hops for piece in hop}
    return tuple(c for c in closures if network.line_index[c.line] in lines)


def network_during(network: Network, closures: tuple[Closure, ...]) -> Network:
    """The network as commuters who know of the closures plan on it: each pattern keeps the
    departures no closure touches; the others run as partial patterns up to the station before the
    section and from the station after it (see the module docstring), named
    `<pattern id>~<first stop>-<last stop>`."""
    adjacency = network.track_adjacency()
    paths: dict[tuple[int, int], list[tuple[int, int]]] = {}
    kept: dict[int, list[tuple[float, int]]] = {p.index: [] for p in network.patterns}
    parts: dict[tuple[int, int, int], list[float]] = {}
    for p in network.patterns:
        stops = p.stops
        mine = on_track_of(network, p, closures)
        for t, entry in zip(p.departures, p.entry_of().tolist()):
            cuts = []
            for i in range(len(stops) - 1):
                key = (stops[i], stops[i + 1])
                if key not in paths:
                    path = shortest_path(adjacency, *key) or list(key)
                    paths[key] = list(zip(path, path[1:]))
                leave = t + p.dep_offset[i]
                if any(c.start <= leave < c.end and any(e in c.edges for e in paths[key]) for c in mine):
                    cuts.append(i)
            if not cuts:
                kept[p.index].append((t, entry))
                continue
            bounds = [-1] + cuts + [len(stops) - 1]
            for a, b in zip(bounds, bounds[1:]):
                if b > a + 1:
                    parts.setdefault((p.index, a + 1, b), []).append(t + p.dep_offset[a + 1])
    patterns = [p if len(kept[p.index]) == len(p.departures) else
                replace(p, departures=tuple(t for t, _ in kept[p.index]),
                        entry=tuple(e for _, e in kept[p.index]) if p.entry else ())
                for p in network.patterns]
    for (pi, a, b), deps in sorted(parts.items()):
        p = network.patterns[pi]
        base = p.dep_offset[a]
        ids = network.stations
        patterns.append(replace(
            p, index=len(patterns), id=f"{p.id}~{ids[p.stops[a]].id}-{ids[p.stops[b]].id}", stops=p.stops[a:b + 1],
            km=p.km[a:b + 1], arr_offset=tuple(x - base for x in p.arr_offset[a:b + 1]),
            dep_offset=tuple(x - base for x in p.dep_offset[a:b]) + (p.arr_offset[b] - base,),
            departures=tuple(sorted(deps)), platforms=p.platforms[a:b + 1],
            passes=tuple((after - a, s, plat, at - base) for after, s, plat, at in p.passes if a <= after < b),
            entry=(), hops=p.hops[a:b] if p.hops else ()))
    return replace(network, patterns=tuple(patterns))


@dataclass(frozen=True)
class Informed:
    """Commuters who start while a closure is in force (they know of it) and the routes they choose
    on the network as it then runs (legs as indices of the full network's legs)."""

    commuters: np.ndarray
    routes: tuple[Route, ...]

    def and_then(self, later: Informed) -> Informed:
        """These commuters and `later`'s (who start in another window)."""
        return Informed(np.concatenate([self.commuters, later.commuters]), self.routes + later.routes)

    def merge(self, assignment: Assignment) -> tuple[Assignment, np.ndarray]:
        """`assignment` with the informed commuters' routes in place, and which of them differ."""
        routes = list(assignment.routes)
        index = {r.key: i for i, r in enumerate(routes)}
        route_of = assignment.route_of.copy()
        changed = np.zeros(len(route_of), dtype=bool)
        for c, r in zip(self.commuters.tolist(), self.routes):
            if r.key not in index:
                index[r.key] = len(routes)
                routes.append(r)
            changed[c] = index[r.key] != route_of[c]
            route_of[c] = index[r.key]
        return Assignment(tuple(routes), route_of), changed


def search_during(network: Network, legs: LegNetwork, spec: RoutingSpec, closures: tuple[Closure, ...]) -> CandidateSearch:
    """The candidate search on `network_during` (expected waits of the trains that actually run,
    per quarter hour), for choices made while a closure is in force."""
    net = network_during(network, closures)
    known = LegNetwork(net, legs.t_start, legs.t_end, band_s=WAIT_BIN_S, horizon_s=0.0)
    return CandidateSearch(net, known, Access(net), spec, whole_period=False)


def informed_choice(network: Network, legs: LegNetwork, spec: RoutingSpec, closures: tuple[Closure, ...],
                    windows: list[tuple[float, float]], origin: np.ndarray, destination: np.ndarray,
                    payment: np.ndarray, media: tuple[str, ...], t_depart: np.ndarray, rng: np.random.Generator,
                    file: str = "") -> Informed:
    """Route choice of the commuters starting in one of the `windows` ([from, to) s, one per
    closure: while they believe it in force), on `network_during(closures)` (expected waits from
    the trains that would run) with the routing parameters `spec`; their routes as leg indices of
    `legs` (the full network's, for its period)."""
    during = np.zeros(len(t_depart), dtype=bool)
    for start, end in windows:
        during |= (t_depart >= start) & (t_depart < end)
    who = np.flatnonzero(during)
    if not len(who):
        return Informed(who, ())
    # candidates per quarter hour on that quarter hour's waits alone, so that a closed section's
    # service resuming later does not hide the ways around it
    search = search_during(network, legs, spec, closures)
    net, known, access = search.net, search.legs, Access(search.net)
    chosen = Chooser(net, known, access, search, origin[who], destination[who], payment[who], media, t_depart[who],
                     rng, file).choose()
    key_of = {(leg.platform, leg.alight): k for k, leg in enumerate(legs.options)}
    mapped = [Route(r.start, tuple(key_of[(known.options[k].platform, known.options[k].alight)] for k in r.legs),
                    r.end, r.label) for r in chosen.routes]
    return Informed(who, tuple(mapped[i] for i in chosen.route_of.tolist()))
