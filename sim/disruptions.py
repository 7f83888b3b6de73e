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
who boarded before, for beyond, stay aboard to the end of the run and wait there (the engines).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace

import numpy as np

from .errors import UserError
from .loading import Document
from .network import Network
from .schema import DisruptionSpec
from .timetable import Trains


@dataclass(frozen=True)
class Closure:
    id: str
    line: str
    stations: tuple[int, ...]
    """The track path from one end of the section to the other."""
    start: float
    end: float

    @property
    def edges(self) -> frozenset[tuple[int, int]]:
        return frozenset((a, b) for x, y in zip(self.stations, self.stations[1:]) for a, b in ((x, y), (y, x)))


def _path(adjacency: dict[int, set[int]], a: int, b: int) -> list[int] | None:
    prev = {a: a}
    queue = deque([a])
    while queue:
        u = queue.popleft()
        if u == b:
            out = [b]
            while out[-1] != a:
                out.append(prev[out[-1]])
            return out[::-1]
        for v in sorted(adjacency.get(u, ())):
            if v not in prev:
                prev[v] = u
                queue.append(v)
    return None


def resolve(network: Network, specs: list[DisruptionSpec], doc: Document) -> tuple[Closure, ...]:
    """The closures of a scenario's `disruptions`; UserError naming the field of each mistake."""
    problems, out = [], []
    for i, spec in enumerate(specs):
        li = network.line_index.get(spec.line)
        if li is None:
            problems.append(doc.problem(("disruptions", i, "line"), f"unknown line '{spec.line}'"))
            continue
        line = network.lines[li]
        ends = [network.station_index.get(sid) for sid in spec.between]
        wrong = [k for k, s in enumerate(ends) if s is None or s not in line.km]
        for k in wrong:
            problems.append(doc.problem(("disruptions", i, "between", k),
                                        f"'{spec.between[k]}' is not a station of line {spec.line}"))
        if wrong:
            continue
        adjacency: dict[int, set[int]] = {}
        for branch in line.branches:
            for x, y in zip(branch, branch[1:]):
                adjacency.setdefault(x, set()).add(y)
                adjacency.setdefault(y, set()).add(x)
        out.append(Closure(spec.id, spec.line, tuple(_path(adjacency, ends[0], ends[1]) or ()), spec.start, spec.end))
    if problems:
        raise UserError(problems)
    return tuple(out)


def apply(network: Network, trains: Trains, closures: tuple[Closure, ...]) -> tuple[Trains, dict[str, int]]:
    """The train runs with every closure applied (see the module docstring), and per closure the
    number of trains it cut."""
    if not closures:
        return trains, {}
    adjacency = network.track_adjacency()
    paths: dict[tuple[int, int], list[int]] = {}
    cut = {c.id: 0 for c in closures}
    cols = ("call_station", "call_platform", "call_seq", "call_t_arr", "call_t_dep", "call_stop", "call_serves_to")
    parts: dict[str, list] = {c: [] for c in cols}
    ids, pats, caps, starts = [], [], [], [0]
    for k in range(trains.n_trains):
        lo, hi = int(trains.call_start[k]), int(trains.call_start[k + 1])
        st, dep = trains.call_station[lo:hi], trains.call_t_dep[lo:hi]
        closed_by: list[Closure | None] = []
        for i in range(hi - lo - 1):
            key = (int(st[i]), int(st[i + 1]))
            if key not in paths:
                path = _path(adjacency, *key) or list(key)
                paths[key] = list(zip(path, path[1:]))
            hit = next((c for c in closures if c.start <= dep[i] < c.end and any(e in c.edges for e in paths[key])), None)
            closed_by.append(hit)
        runs, begin = [], 0
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
            for c in {c.id for _, _, c in runs if c is not None}:
                cut[c] += 1
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
