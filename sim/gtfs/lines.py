"""Lines from routes: each route's track (branches and km posts), its service patterns with their
departures, and run times and dwells from stop_times.

Our timetable gives each line one run time per segment and direction (`run_s`) and one dwell per
station (`dwell_s_at`). Both are taken as the most frequent values over the day's trips, chosen so
that departures stay exact when a trip's dwells are the usual ones: the run time of a segment is
the time from departing its first stop to departing the next, less the usual dwell there (to
arriving, at a trip's last stop). Trips that differ keep their first departure; the notes say by
how much their later times differ.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .. import schema
from ..network import timetable_departures
from ..units import format_time
from . import defaults
from .blocks import Run, chain
from .ids import IdMap
from .topology import Track, build_tracks
from .trips import Route, Trip


@dataclass
class Line:
    """A line under construction: its route, track, the timing samples of its trips (value ->
    weight per station or directed segment) and the values chosen."""

    id: str
    route: Route
    track: Track
    also: tuple[Route, ...] = ()
    """Other routes whose trains share its platforms (see shared_platforms)."""
    dwell_samples: dict[str, Counter] = field(default_factory=dict)
    run_samples: dict[tuple[str, str], Counter] = field(default_factory=dict)
    dwell_s: float = defaults.DWELL_S
    dwell_at: dict[str, float] = field(default_factory=dict)
    run_s: dict[tuple[str, str], float] = field(default_factory=dict)

    def dwell(self, station: str) -> float:
        """Dwell (s) of the line's trains at a station."""
        return self.dwell_at.get(station, self.dwell_s)

    def choose_dwells(self) -> None:
        """The line's dwell (the most frequent over all its stops) and each station's (where it
        differs)."""
        total = sum(self.dwell_samples.values(), Counter())
        self.dwell_s = _mode(total) if total else defaults.DWELL_S
        self.dwell_at = {s: _mode(c) for s, c in self.dwell_samples.items() if _mode(c) != self.dwell_s}


@dataclass
class Pattern:
    """One service pattern (forward: `stations` in order; backward: reversed) and its runs."""

    lines: tuple[Line, ...]
    """The line it belongs to, then those it runs onto."""
    stations: tuple[str, ...]
    runs: dict[str, list[Run]] = field(default_factory=lambda: {"forward": [], "backward": []})
    timing: dict[str, list[tuple[Profile | None, list[Run]]]] = field(default_factory=dict)
    """Each direction's runs grouped by timing profile (see by_profile), once time_patterns ran."""


def shared_platforms(trips: list[Trip], routes: dict[str, Route]) -> list[list[str]]:
    """Groups of two or more routes of one agency and mode whose trains run between the same two
    platforms (consecutive stop_ids of their trips, either way), each group in routes.txt order:
    their trains share those platforms."""
    parent = {r: r for r in {t.route for t in trips}}

    def root(r: str) -> str:
        while parent[r] != r:
            parent[r] = parent[parent[r]]
            r = parent[r]
        return r

    first_on: dict[tuple, str] = {}
    for route, stops in dict.fromkeys((t.route, t.stops) for t in trips):  # each stopping sequence once
        kind = (routes[route].agency, routes[route].mode.name)
        for a, b in zip(stops, stops[1:]):
            other = first_on.setdefault((kind, min(a, b), max(a, b)), route)
            parent[root(other)] = root(route)
    groups: dict[str, list[str]] = {}
    for r in parent:
        groups.setdefault(root(r), []).append(r)
    return [sorted(g, key=lambda r: routes[r].row) for g in groups.values() if len(g) > 1]


def make_lines(trips: list[Trip], routes: dict[str, Route], edge_km, ids: IdMap,
               notes: list[str]) -> dict[str, Line]:
    """Lines for the routes (a route whose trips fit no one tree becomes several lines; routes
    sharing platforms become one line when their trips fit one tree), keyed by trip id."""
    by_route: dict[str, Counter] = {}
    for t in trips:
        by_route.setdefault(t.route, Counter())[t.stations] += len(t.departures)
    line_of: dict[tuple[str, tuple], Line] = {}
    merged: set[str] = set()
    for group in shared_platforms(trips, routes):
        union = sum((by_route[r] for r in group), Counter())
        tracks, loops = build_tracks(union, edge_km)
        if len(tracks) != 1 or loops:
            notes.append(f"routes {', '.join(group)} share platforms but their trips fit no single line: imported as "
                         "lines of their own (a rider waits for the trains of the route chosen)")
            continue
        line = Line(ids.take(group[0]), routes[group[0]], tracks[0], tuple(routes[r] for r in group[1:]))
        for r in group:
            for seq in by_route[r]:
                line_of[(r, seq)] = line
        merged.update(group)
        notes.append(f"routes {', '.join(group)} share platforms: one line {line.id} (with the colour of route "
                     f"{group[0]}), whose trains of every route serve a leg between two of its stations")
    dropped = 0
    for rid in sorted(set(by_route) - merged, key=lambda r: routes[r].row):
        tracks, loops = build_tracks(by_route[rid], edge_km)
        if len(tracks) > 1:  # an express route: its stations ordered along its siblings' trips
            siblings = [r for r in by_route if r != rid and (routes[r].agency, routes[r].mode) ==
                        (routes[rid].agency, routes[rid].mode)]
            context = sum((by_route[r] for r in siblings), Counter())
            ordered, _ = build_tracks(by_route[rid], edge_km, context)
            if len(ordered) < len(tracks):
                tracks = ordered
                notes.append(f"route {rid}: stations ordered along the trips of route(s) {', '.join(sorted(siblings))} "
                             "of the same agency and mode, which stop where its trains pass")
        dropped += sum(by_route[rid][s] for s in loops)
        for k, track in enumerate(tracks):
            line = Line(ids.take(rid if k == 0 else f"{rid}-{k + 1}"), routes[rid], track)
            for seq in track.sequences:
                line_of[(rid, seq)] = line
        if len(tracks) > 1:
            notes.append(f"route {rid}: its trips fit no single line (a loop, or branches beyond the ends); "
                         f"imported as {len(tracks)} lines")
    if dropped:
        notes.append(f"{dropped} trips not imported: they call at a station twice (loops cannot be expressed)")
    return {t.id: line_of[(t.route, t.stations)] for t in trips if (t.route, t.stations) in line_of}


def make_patterns(runs: list[Run], line_of: dict[str, Line], notes: list[str]) -> list[Pattern]:
    """Runs grouped into patterns by their stations and lines (a pattern and its reverse are one,
    forward running away from the root of its line's track). A line has patterns of its own: trains
    running onto a line that has none are split into their trips."""
    runs = [r for r in runs if all(t.id in line_of for t in r.trips)]
    patterns = _group(runs, line_of)
    own = {id(p.lines[0]) for p in patterns}
    orphans = {id(ln) for p in patterns for ln in p.lines if id(ln) not in own}
    if orphans:
        split = [r for r in runs if len(r.trips) > 1 and any(id(line_of[t.id]) in orphans for t in r.trips)]
        notes.append(f"{len(split)} in-seat continuations not imported as through-running: onto a line with no "
                     "trains of its own")
        runs = [r for r in runs if r not in split] + [chain([t]) for r in split for t in r.trips]
        patterns = _group(runs, line_of)
    return patterns


def _group(runs: list[Run], line_of: dict[str, Line]) -> list[Pattern]:
    patterns: dict[tuple, Pattern] = {}
    for run in runs:
        parts = tuple(line_of[t.id] for t in run.trips)
        lines = _used(run, parts)
        home = lines[0]
        if len(lines) == 1:
            forward = home.track.depth[run.stations[0]] < home.track.depth[run.stations[-1]]
        else:
            forward = parts[0] is home or parts[-1] is not home
        stations = run.stations if forward else run.stations[::-1]
        key = (stations, tuple(p.id for p in (parts if forward else parts[::-1])))
        pattern = patterns.setdefault(key, Pattern(lines, stations))
        pattern.runs["forward" if forward else "backward"].append(run)
    return list(patterns.values())


def _used(run: Run, parts: tuple[Line, ...]) -> tuple[Line, ...]:
    """The run's lines: the one it calls at most stops of first, then the others in order."""
    calls = Counter(parts[k].id for k in run.part)
    home = max(parts, key=lambda ln: (calls[ln.id], -parts.index(ln)))
    others: list[Line] = []
    for p in parts:
        if p is not home and all(p is not o for o in others):
            others.append(p)
    return (home, *others)


def owner(pattern: Pattern, station: str) -> Line:
    """The line whose platform a pattern's train uses at a station (its own line first)."""
    return next(ln for ln in pattern.lines if station in ln.track.depth)


def segment_line(pattern: Pattern, a: str, b: str) -> Line | None:
    """The line whose run time times the run between consecutive stops a and b (None: a track link)."""
    return next((ln for ln in pattern.lines if a in ln.track.depth and b in ln.track.depth
                 and ln.track.between(a, b) is not None), None)


def sample_timing(patterns: list[Pattern], links: dict[tuple[str, str], Counter]) -> None:
    """Dwells, then run times, of every run into its lines' (and track links') samples, each run
    weighted by its trains."""
    for p in patterns:
        for direction, rs in p.runs.items():
            if rs:
                seq, (arr, dep, w) = _seq(p, direction), _stacked(rs)
                for i in range(1, len(seq) - 1):
                    _add(owner(p, seq[i]).dwell_samples.setdefault(seq[i], Counter()), dep[:, i] - arr[:, i], w)
    for ln in {id(ln): ln for p in patterns for ln in p.lines}.values():
        ln.choose_dwells()
    for p in patterns:
        for direction, rs in p.runs.items():
            if not rs:
                continue
            seq, (arr, dep, w) = _seq(p, direction), _stacked(rs)
            for i, (a, b) in enumerate(zip(seq, seq[1:])):
                last = i + 2 == len(seq)
                t = (arr[:, i + 1] if last else dep[:, i + 1] - owner(p, b).dwell(b)) - dep[:, i]
                line = segment_line(p, a, b)
                _add(links.setdefault((a, b), Counter()) if line is None else line.run_samples.setdefault((a, b), Counter()),
                     t, w)
    for ln in {id(ln): ln for p in patterns for ln in p.lines}.values():
        ln.run_s = {k: max(1, _mode(c)) for k, c in ln.run_samples.items()}


def _stacked(rs: list[Run]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrival and departure offsets of runs along one station sequence, a row per run, and each
    run's number of trains."""
    return (np.stack([r.arr for r in rs]), np.stack([r.dep for r in rs]),
            np.asarray([len(r.departures) for r in rs], dtype=np.int64))


def _add(counter: Counter, values: np.ndarray, weights: np.ndarray) -> None:
    """counter[v] += the weights of the values v (the loop over runs, done per distinct value)."""
    distinct, at = np.unique(values, return_inverse=True)
    for v, n in zip(distinct.tolist(), np.bincount(at.ravel(), weights=weights).tolist()):
        counter[v] += int(round(n))


def _seq(p: Pattern, direction: str) -> tuple[str, ...]:
    return p.stations if direction == "forward" else p.stations[::-1]


def _mode(counter: Counter) -> int:
    """The most frequent value (the smallest of equals), in whole seconds."""
    return round(min(counter, key=lambda v: (-counter[v], v)))


def model_offsets(p: Pattern, direction: str, link_run: dict[tuple[str, str], float]) -> tuple[np.ndarray, np.ndarray]:
    """Arrival and departure offsets (s) of a pattern's stops as our timetable will run them."""
    seq = _seq(p, direction)
    arr, dep = [0.0], [0.0]
    for a, b in zip(seq, seq[1:]):
        line = segment_line(p, a, b)
        arr.append(dep[-1] + (link_run[(a, b)] if line is None else line.run_s[(a, b)]))
        dep.append(arr[-1] + owner(p, b).dwell(b))
    dep[-1] = arr[-1]
    return np.asarray(arr), np.asarray(dep)


Profile = tuple[tuple[float, float], ...]
"""A timing profile: (arrival, departure) offsets (s) at each stop of a pattern in travel order."""


def time_patterns(patterns: list[Pattern], link_run: dict) -> None:
    """Each pattern's `timing`: its runs grouped by timing profile per direction (by_profile)."""
    for p in patterns:
        p.timing = {direction: by_profile(p, direction, link_run) for direction, rs in p.runs.items() if rs}


def by_profile(p: Pattern, direction: str, link_run: dict) -> list[tuple[Profile | None, list[Run]]]:
    """A direction's runs grouped by timing profile, in whole seconds (the first stop's arrival is its
    departure, the last stop's departure its arrival): first those that the line's run times and
    dwells time exactly (profile None), then each other profile, most trains first."""
    arr, dep = model_offsets(p, direction, link_run)
    model = tuple((float(a), float(d)) for a, d in zip(arr, dep))
    rs = p.runs[direction]
    run_arr, run_dep, _ = _stacked(rs)
    calls = np.rint(np.stack([np.c_[np.zeros(len(rs)), run_arr[:, 1:]], np.c_[run_dep[:, :-1], run_arr[:, -1]]],
                             axis=2))  # [run, stop, (arrival, departure)]
    distinct, at = np.unique(calls.reshape(len(rs), -1), axis=0, return_inverse=True)
    groups: dict[Profile, list[Run]] = {}
    for k, run in zip(at.ravel().tolist(), rs):
        groups.setdefault(tuple(map(tuple, distinct[k].reshape(-1, 2).tolist())), []).append(run)
    own = groups.pop(model, [])
    others = sorted(groups.items(), key=lambda g: (-sum(len(r.departures) for r in g[1]), g[0]))
    return ([(None, own)] if own else []) + [(prof, rs) for prof, rs in others]


def deviations(patterns: list[Pattern]) -> tuple[int, int, int]:
    """Trains that the line's run times and dwells time exactly, all trains, and the timing profiles
    of the others (each written as a pattern with `times` of its own); after time_patterns."""
    exact = total = profiles = 0
    for p in patterns:
        for groups in p.timing.values():
            for prof, group in groups:
                n = sum(len(r.departures) for r in group)
                total += n
                exact += n if prof is None else 0
                profiles += prof is not None
    return exact, total, profiles


def timetable(runs: list[Run]) -> dict:
    """A direction's timetable: headway bands when every run is frequency-based and the bands give
    exactly its departures, else the departures."""
    deps = sorted(t for r in runs for t in r.departures)
    bands = sorted({b for r in runs for b in r.trips[0].bands})
    if bands and all(r.trips[0].bands for r in runs) and bands[0][0] <= deps[0]:
        spec = {"first": format_time(deps[0]), "last": format_time(deps[-1]),
                "headways": [{"from": format_time(s), "headway_s": round(h)} for s, h in bands]}
        if list(timetable_departures(schema.TimetableSpec.model_validate(spec))) == deps:
            return spec
    return {"departures": [format_time(t) for t in deps]}


def pattern_specs(p: Pattern, ids: IdMap, station_id: dict[str, str]) -> list[dict]:
    """The pattern as network-file patterns (see pattern_spec): the trains that the line's run times
    and dwells time exactly, then one pattern per other timing profile, with its `times`, so that
    every train keeps the feed's times to the second."""
    base = f"{station_id[p.stations[0]]}-{station_id[p.stations[-1]]}"
    groups = p.timing
    own = {d: runs for d, g in groups.items() for prof, runs in g if prof is None}
    out = [pattern_spec(p, ids.take(base), station_id, own)] if own else []
    for direction, g in groups.items():
        for prof, runs in g:
            if prof is not None:
                spec = pattern_spec(p, ids.take(f"{base}-timed"), station_id, {direction: runs})
                spec["timetable"][direction]["times"] = [list(call) for call in prof]
                out.append(spec)
    return out


def pattern_spec(p: Pattern, pid: str, station_id: dict[str, str], runs: dict[str, list[Run]]) -> dict:
    """The pattern as network-file data: first and last stop (every stop when it runs onto other
    lines), the stations it passes, the timetable of `runs` (per direction)."""
    home = p.lines[0]
    if len(p.lines) == 1:
        full = home.track.full(p.stations)
        assert full is not None  # a line's track is fitted to run every trip of it straight (topology._fit)
        stops = [p.stations[0], p.stations[-1]]
    else:
        full = [p.stations[0]]
        for a, b in zip(p.stations, p.stations[1:]):
            line = segment_line(p, a, b)
            path = line.track.between(a, b) if line is not None else None  # segment_line found it not None
            full.extend(path[1:] if path is not None else [b])
        stops = list(p.stations)
    spec: dict = {"id": pid, "stops": [station_id[s] for s in stops]}
    skip = [station_id[s] for s in full if s not in set(p.stations)]
    if skip:
        spec["skip"] = skip
    if len(p.lines) > 1:
        spec["runs_onto"] = [ln.id for ln in p.lines[1:]]
    spec["timetable"] = {d: timetable(rs) for d, rs in runs.items() if rs}
    return spec


def run_s_spec(line: Line, station_id: dict[str, str]) -> dict[str, float]:
    """The line's run times as `run_s` ('a>b'; one key for both directions when they agree)."""
    out = {}
    for (a, b), t in sorted(line.run_s.items()):
        back = line.run_s.get((b, a))
        if back == t and (b, a) < (a, b):
            continue
        out[f"{station_id[a]}>{station_id[b]}"] = t
    return out
