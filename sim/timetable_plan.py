"""Timetable planning: the train runs of every line with a passing track retimed before the run, so
that the track of dynamic operations (engine.trains.Tracks) can run them as planned.

This module owns the planning rule and the notes and warnings on what it changed. On a planned
line a platform holds one train (two with a passing track), consecutive trains keep the line's
`min_headway_s` at every arrival and departure, and trains keep their order between stations.
Where a train would catch the one ahead of it (arrive, or pass a platform, too soon after it), the
train ahead is held at the last passing track before, where it stops, until the faster train has
left plus the minimum headway, if that hold is at most MAX_HOLD_S; otherwise the faster train is
retimed to follow it. A train timetabled to leave a passing track after one that arrived there after
it waits for it, whatever the wait. Other trains closer than the minimum headway are spaced. Each change moves the
train's later calls with it, and conflicts are resolved earliest first until none is left (at
most MAX_STEPS_PER_TRAIN changes per train). Trains are ordered at each platform by their planned
times there, so trains entering service at depots along the line take their place by time.

Lines without a passing track keep their written timetable: dynamic operations resolve their
conflicts as they happen (see plausibility.track_warnings). Planned times replace the written
ones in `Trains`, so `timetable` operations keep exactly to them and delays are measured against
them. Times stay whole seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .network import Network
from .timetable import Trains, build_trains
from .units import format_time

MAX_HOLD_S = 300.0
"""Longest a train is held at a passing track for a faster one to overtake it (s). Planning choice:
at the 7-9 min headways of the shipped lines a longer hold costs the held train's riders more than
half a headway, and a held train closes in on the one behind it (which must stay a minimum headway
away); beyond it the faster train follows instead."""
PLAN_WARN_S = 60.0
"""A train retimed to follow another, or spaced, that reaches its last stop more than this (s)
later than written cannot run its timetable: a warning. Less is a note."""
MAX_STEPS_PER_TRAIN = 50
"""Bound on the changes planning makes, per train of the planned lines (a timetable needing more
does not settle: a warning, and dynamic operations resolve the rest as they happen)."""

_ORDER, _CAPACITY, _ARRIVAL, _DEPARTURE = range(4)
"""Conflict kinds: a train reaches a platform before the one that left the previous platform
ahead of it (plus the headway), or while the platform is full, or too soon after the previous
arrival, or leaves too soon after the previous departure."""


@dataclass(frozen=True)
class PlannedTrains:
    """Train runs as planned, the lines planned (indices) and what planning changed."""

    trains: Trains
    lines: frozenset[int]
    notes: list[str]
    """Holds at passing tracks and small retimings."""
    warnings: list[str]
    """Trains that cannot run as timetabled (retimed or spaced by more than PLAN_WARN_S at their
    last stop), and planning that did not settle."""


def plan_trains(network: Network, t_from: float, t_to: float, passes: bool) -> PlannedTrains:
    """Every train overlapping [t_from, t_to) (see timetable.build_trains), the runs of lines with
    a passing track planned (see the module docstring); with `passes`, the calls at stations an
    express passes without stopping are kept (dynamic operations need them)."""
    written = build_trains(network, t_from, t_to, passes=True)  # planning needs the passes in any mode
    lines = frozenset(ln.index for ln in network.lines if ln.ops is not None and ln.passing)
    planner = _Planner(network, written, lines)
    settled = planner.run()
    notes, warnings = planner.report(settled)
    trains = replace(written, call_t_arr=planner.arr, call_t_dep=planner.dep)
    return PlannedTrains(trains if passes else _stops_only(trains), lines, notes, warnings)


def _stops_only(trains: Trains) -> Trains:
    """The runs without the calls at stations passed without stopping."""
    keep = trains.call_stop
    train_of = np.repeat(np.arange(trains.n_trains), np.diff(trains.call_start))
    starts = np.concatenate([[0], np.cumsum(np.bincount(train_of[keep], minlength=trains.n_trains))]).astype(np.int64)
    per_call = {f: getattr(trains, f)[keep] for f in ("call_station", "call_platform", "call_seq", "call_t_arr",
                                                       "call_t_dep", "call_stop", "call_serves_to")}
    return replace(trains, call_start=starts, **per_call)


@dataclass(frozen=True)
class _Conflict:
    """Call `follower` at a platform is timetabled at `t`, before `required` (s), because of call
    `leader` of the train ahead of it there."""

    t: float
    kind: int
    leader: int
    follower: int
    required: float


class _Planner:
    """The planned times (arr, dep, per call) and what changed them, for the platforms of `lines`."""

    def __init__(self, network: Network, trains: Trains, lines: frozenset[int]) -> None:
        self.net, self.tr = network, trains
        self.arr, self.dep = trains.call_t_arr.copy(), trains.call_t_dep.copy()
        n_calls = len(trains.call_station)
        self.train_of = np.repeat(np.arange(trains.n_trains), np.diff(trains.call_start))
        first = trains.call_start[:-1][np.diff(trains.call_start) > 0]
        self.prev = np.arange(n_calls) - 1
        self.prev[first] = -1
        plat_line = np.asarray([pl.line for pl in network.platforms], dtype=np.int64)
        self.capacity = np.asarray([2 if pl.station in network.lines[pl.line].passing else 1
                                    for pl in network.platforms], dtype=np.int64)
        self.headway = np.asarray([math.ceil(ln.ops.min_headway_s) if ln.ops else 0.0
                                   for ln in network.lines], dtype=float)[plat_line] if len(plat_line) else np.zeros(0)
        planned = np.isin(plat_line[trains.call_platform], list(lines)) if n_calls else np.zeros(0, dtype=bool)
        by_platform = np.argsort(trains.call_platform[planned], kind="stable")
        calls = np.flatnonzero(planned)[by_platform]
        bounds = np.flatnonzero(np.diff(trains.call_platform[calls])) + 1
        groups = np.split(calls, bounds) if len(calls) else []
        self.calls_at = {int(trains.call_platform[c[0]]): c for c in groups}
        """Calls at each platform of the planned lines."""
        self.at = [c for c in groups if len(c) > 1]
        """The same, at platforms more than one train calls at (where conflicts can be)."""
        self.max_steps = MAX_STEPS_PER_TRAIN * len(np.unique(self.train_of[calls]))
        self.holds: dict[int, tuple[float, int]] = {}
        """Call of a held train -> (seconds held, call of the train it waits for)."""
        self.retimed: dict[int, tuple[int, int, int]] = {}
        """Train -> its first retiming not at a passing track: (kind, its call, the other train's call)."""

    def run(self) -> bool:
        """Resolve conflicts, earliest first, until none is left; False if max_steps did not do."""
        for _ in range(self.max_steps):
            found = [c for c in (self._earliest_at(calls) for calls in self.at) if c is not None]
            if not found:
                return True
            self._resolve(min(found, key=lambda c: (c.t, c.kind, c.follower)))
        return False

    def _earliest_at(self, calls: np.ndarray) -> _Conflict | None:
        """The earliest conflict among the calls at one platform."""
        a, d = self.arr[calls], self.dep[calls]
        p = int(self.tr.call_platform[calls[0]])
        h, cap = self.headway[p], self.capacity[p]
        u = self.prev[calls]
        came_from = np.where(u >= 0, self.tr.call_platform[u], -1)
        left = np.where(u >= 0, self.dep[u], a)  # when the train left its previous call (entering here: arrival)
        train = self.train_of[calls]
        out: list[_Conflict] = []

        def earliest(kind: int, order: np.ndarray, bad: np.ndarray, required: np.ndarray) -> None:
            if bad.any():  # followers are order[1:]
                j = int(np.flatnonzero(bad)[np.argmin(a[order][1:][bad] if kind < _DEPARTURE else d[order][1:][bad])])
                t = (a if kind < _DEPARTURE else d)[order][j + 1]
                out.append(_Conflict(float(t), kind, int(calls[order][j]), int(calls[order][j + 1]), float(required[j])))

        # trains that left the same platform arrive in that order
        o = np.lexsort((train, left, came_from))
        same = (came_from[o][1:] == came_from[o][:-1]) & (came_from[o][1:] >= 0)
        earliest(_ORDER, o, same & (a[o][1:] < a[o][:-1] + h), a[o][:-1] + h)
        # arrivals keep the headway; a train arrives when no more than capacity - 1 others are there
        o = np.lexsort((train, left, a))
        earliest(_ARRIVAL, o, a[o][1:] < a[o][:-1] + h, a[o][:-1] + h)
        before = np.maximum.accumulate(d[o])[:-1]  # latest departure of the trains arrived before each
        if cap >= 2:  # second latest: max over j of min(d_j, max of d before j)
            top = np.concatenate([[-np.inf], before])
            before = np.maximum.accumulate(np.minimum(d[o], top))[:-1]
        blocked = a[o][1:] < before
        if blocked.any():
            j = int(np.flatnonzero(blocked)[np.argmin(a[o][1:][blocked])])
            present = o[: j + 1][d[o][: j + 1] > a[o][j + 1]]  # the train it catches: the last one to arrive there
            out.append(_Conflict(float(a[o][j + 1]), _CAPACITY, int(calls[present[-1]]), int(calls[o][j + 1]),
                                 float(before[j])))
        o = np.lexsort((train, a, d))
        earliest(_DEPARTURE, o, d[o][1:] < d[o][:-1] + h, d[o][:-1] + h)
        return min(out, key=lambda c: (c.t, c.kind)) if out else None

    def _resolve(self, cf: _Conflict) -> None:
        """Hold a train at a passing track for one overtaking it, or retime the follower."""
        delta = math.ceil(cf.required - cf.t)
        if cf.kind == _DEPARTURE and self._overtaken_at(cf.follower, cf.leader):
            self._hold(cf.follower, cf.leader, delta)  # it waits until the train overtaking it has left
        elif not self._overtake(cf):
            k = int(self.train_of[cf.follower])
            self.retimed.setdefault(k, (cf.kind, cf.follower, cf.leader))
            first = cf.follower == self.tr.call_start[k]
            waits = cf.kind == _DEPARTURE and bool(self.tr.call_stop[cf.follower]) and not first
            self._shift(cf.follower, delta, keep_arrival=waits)

    def _overtaken_at(self, slow: int, fast: int) -> bool:
        """Whether call `slow` stops at a passing track (not at the end of its run) that the train
        of call `fast` (same platform) reaches next after it: only those two need the platform's
        two tracks while one overtakes the other."""
        p, k = int(self.tr.call_platform[slow]), int(self.train_of[slow])
        if self.capacity[p] < 2 or not self.tr.call_stop[slow] or slow == self.tr.call_start[k + 1] - 1:
            return False
        a = self.arr[self.calls_at[p]]
        return self.arr[fast] >= self.arr[slow] and not ((a > self.arr[slow]) & (a < self.arr[fast])).any()

    def _overtake(self, cf: _Conflict) -> bool:
        """Hold the train ahead (leader) at the last passing track before the conflict (for a
        departure, at it) where it stops before the follower comes, when the follower is the faster
        of the two from there to the last platform both call at and the hold is at most
        MAX_HOLD_S. Whether it did."""
        tr = self.tr
        ka, kb = int(self.train_of[cf.leader]), int(self.train_of[cf.follower])
        lo_a, hi_a, hi_b = int(tr.call_start[ka]), int(tr.call_start[ka + 1]), int(tr.call_start[kb + 1])
        for bx in range(cf.follower if cf.kind == _DEPARTURE else cf.follower - 1, int(tr.call_start[kb]) - 1, -1):
            hits = np.flatnonzero(tr.call_platform[lo_a:hi_a] == tr.call_platform[bx])
            if len(hits) and self._overtaken_at(lo_a + int(hits[0]), bx):
                ax = lo_a + int(hits[0])
                break
        else:
            return False
        after_a = tr.call_platform[ax + 1:hi_a]
        common = np.flatnonzero(np.isin(tr.call_platform[bx + 1:hi_b], after_a))
        if not len(common):
            return False
        b_end = bx + 1 + int(common[-1])
        a_end = ax + 1 + int(np.flatnonzero(after_a == tr.call_platform[b_end])[0])
        faster = self.arr[b_end] - self.dep[bx] < self.arr[a_end] - self.dep[ax]
        hold = math.ceil(self.dep[bx] + self.headway[tr.call_platform[bx]] - self.dep[ax])
        if not faster or hold <= 0 or hold > MAX_HOLD_S:
            return False
        self._hold(ax, bx, hold)
        return True

    def _hold(self, slow: int, fast: int, seconds: float) -> None:
        """Call `slow` departs `seconds` later, waiting for the train of call `fast`."""
        self.holds[slow] = (self.holds.get(slow, (0.0, fast))[0] + seconds, fast)
        self._shift(slow, seconds, keep_arrival=True)

    def _shift(self, c: int, delta: float, keep_arrival: bool) -> None:
        """Move call c (its departure only, when `keep_arrival`) and its train's later calls."""
        end = int(self.tr.call_start[self.train_of[c] + 1])
        self.dep[c:end] += delta
        self.arr[c + 1 if keep_arrival else c:end] += delta

    def report(self, settled: bool) -> tuple[list[str], list[str]]:
        """Notes (holds, small retimings) and warnings (trains retimed or spaced by more than
        PLAN_WARN_S at their last stop; planning that did not settle), by line."""
        tr, net = self.tr, self.net
        notes = [f"{self._line(self.train_of[ax])}: {self._name(self.train_of[ax])} waits {_duration(s)} at "
                 f"{self._station(ax)} for {self._name(self.train_of[bx])} to overtake it"
                 for ax, (s, bx) in sorted(self.holds.items(), key=lambda h: self.dep[h[0]])]
        warnings: list[str] = []
        small: dict[str, list[float]] = {}  # line -> how late each slightly retimed train is (s)
        for k, (kind, c, other) in sorted(self.retimed.items(), key=lambda r: self.dep[r[1][1]]):
            last = int(tr.call_start[k + 1]) - 1
            held = sum(s for ax, (s, _) in self.holds.items() if self.train_of[ax] == k)
            late = self.arr[last] - tr.call_t_arr[last] - held
            if late <= PLAN_WARN_S:
                small.setdefault(self._line(k), []).append(late)
            else:
                warnings.append(self._warning(k, kind, c, other, late))
        notes += [f"{line}: {len(late)} train{'s' if len(late) > 1 else ''} planned up to {_duration(max(late))} "
                  "later than timetabled, to keep the minimum headway or the order on the track"
                  for line, late in small.items()]
        if not settled:
            warnings += [f"{net.lines[li].id}: timetable planning stopped after {self.max_steps:,} changes with "
                         "conflicts left; dynamic operations resolve them as they happen" for li in sorted(
                             {net.platforms[int(tr.call_platform[c[0]])].line for c in self.at})]
        return notes, warnings

    def _warning(self, k: int, kind: int, c: int, other: int, late: float) -> str:
        """Train k cannot run as timetabled: first retimed at call c because of call `other`, it
        reaches its last stop `late` s later."""
        other_name = self._name(self.train_of[other])
        why = (f"it catches up with {other_name} at {self._station(c)}, with no passing track before where that "
               f"train could wait at most {_duration(MAX_HOLD_S)} for it, and follows it"
               if kind in (_ORDER, _CAPACITY) else
               f"it is due at {self._station(c)} less than the line's minimum headway "
               f"({_duration(self.headway[self.tr.call_platform[c]])}) after {other_name}")
        last = int(self.tr.call_start[k + 1]) - 1
        return (f"{self._line(k)}: {self._name(k)} cannot run as timetabled: {why}; planned, it reaches "
                f"{self._station(last)} {_duration(late)} later than timetabled")

    def _line(self, k: int) -> str:
        return self.net.lines[self.net.patterns[int(self.tr.pattern[k])].line].id

    def _name(self, k: int) -> str:
        """'the 06:00 all-stops train from Weiting': written time and station where it enters service."""
        p = self.net.patterns[int(self.tr.pattern[k])]
        service = p.id[len(self._line(k)) + 1: p.id.rindex(".")].replace("_", "-")
        c = int(self.tr.call_start[k])
        t = format_time(self.tr.call_t_dep[c])
        return f"the {t[:-3] if t.endswith(':00') else t} {service} train from {self._station(c)}"

    def _station(self, c: int) -> str:
        return self.net.stations[int(self.tr.call_station[c])].name_en


def _duration(s: float) -> str:
    """'4 min 3 s', '2 min', '45 s' for whole seconds."""
    m, s = divmod(int(round(s)), 60)
    return " ".join(part for part in (f"{m} min" if m else "", f"{s} s" if s or not m else "") if part)
