"""Trains as SimPy processes, shared by both engines: arrive, let passengers off, dwell, board, go
(and the progress ticker both engines use).

In `timetable` operations each call is two events at the timetable's exact (whole-second) times.
In `dynamic` operations a train arrives when its run from the previous call is done and the track
lets it (see Tracks), dwells at least as scheduled and longer when passenger flows need it, and
never leaves before its scheduled departure; a late train runs up to the line's recovery faster.

Event order within an instant: arrivals at URGENT priority, so that everyone alighting at an
instant has left before anyone boards at that instant; departures (boarding) at a priority after
every commuter event of that instant, so that a commuter who reaches the platform exactly at
departure time still boards. The engines provide `on_arrive(train, call, t)`, returning the number
alighted, `on_board(train, call, t)`, returning the number boarded, and `on_depart(train, call, t)`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import numpy as np
import simpy
from simpy.events import URGENT, Event, EventPriority

from ..plan import Plan

ARRIVAL_PRIORITY = URGENT
TIE_BREAK_PRIORITY = EventPriority(2)
"""After ordinary events of an instant: used by the reference engine to order simultaneous
arrivals at a facility by commuter id."""
DEPARTURE_PRIORITY = EventPriority(3)


class At(Event):
    """An event that fires after `delay` seconds at a given priority (like Timeout, which is
    always NORMAL)."""

    def __init__(self, env: simpy.Environment, delay: float, priority: EventPriority) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, priority, delay)


OnArrive = Callable[[int, int, float], int]
OnBoard = Callable[[int, int, float], int]
OnDepart = Callable[[int, int, float], None]


def timetable_train(env: simpy.Environment, plan: Plan, k: int, on_arrive: OnArrive, on_board: OnBoard,
                    on_depart: OnDepart, times: TrainTimes):
    """Run train k through its calls exactly on the timetable."""
    trains = plan.trains
    start, end = int(trains.call_start[k]), int(trains.call_start[k + 1])
    t_arr, t_dep = trains.call_t_arr, trains.call_t_dep
    for c in range(start, end):
        if not trains.call_stop[c]:
            continue
        yield At(env, t_arr[c] - env.now, ARRIVAL_PRIORITY)
        times.arrive(c, env.now)
        on_arrive(k, c, env.now)
        if c < end - 1:
            yield At(env, t_dep[c] - env.now, DEPARTURE_PRIORITY)
            times.boarding(c, env.now)
            on_board(k, c, env.now)
        times.depart(c, env.now)  # at the last call the train leaves service on arrival
        if c < end - 1:
            on_depart(k, c, env.now)


def flow_dwell_s(plan: Plan, k: int, alighted: int, boarded: int, load: int) -> float:
    """Dwell (s, whole seconds) that train k's passenger flows need: door time plus the flow
    times per door channel, the flow part longer when the standing density exceeds the line's
    crowded threshold. 0 for a line without dwell parameters."""
    ops = plan.ops
    doors = ops.door_channels[k]
    if doors <= 0:
        return 0.0
    flow = (alighted * ops.alighting[k] + boarded * ops.boarding[k]) / doors
    density = max(0.0, load - ops.seats[k]) / ops.standing_area[k]
    if density > ops.crowded_density[k]:
        flow *= ops.crowded_factor[k]
    return float(math.ceil(ops.door_time[k] + flow - 1e-9))


def dynamic_train(env: simpy.Environment, plan: Plan, k: int, on_arrive: OnArrive, on_board: OnBoard,
                  on_depart: OnDepart, times: TrainTimes, tracks: Tracks):
    """Run train k through its calls in dynamic operations (see the module docstring)."""
    trains, ops = plan.trains, plan.ops
    start, end = int(trains.call_start[k]), int(trains.call_start[k + 1])
    load = 0
    t_dep = -math.inf
    for c in range(start, end):
        ready = trains.call_t_arr[c] if c == start else max(trains.call_t_arr[c], t_dep + ops.min_run[c])
        if ready > env.now:
            yield At(env, ready - env.now, ARRIVAL_PRIORITY)
        t_arr = yield from tracks.admit(k, c)
        times.arrive(c, t_arr)
        if not trains.call_stop[c]:  # a station passed without stopping: only the track sees it
            t_dep = max(t_arr, tracks.earliest_departure(c))
            if t_dep > env.now:
                yield At(env, t_dep - env.now, DEPARTURE_PRIORITY)
            tracks.depart(c, t_dep)
            times.depart(c, t_dep)
            times.passed(c, load)
            continue
        alighted = on_arrive(k, c, t_arr)
        load -= alighted
        if c == end - 1:
            tracks.leave(c)
            times.depart(c, t_arr)  # the train leaves service on arrival
            break
        scheduled_dwell = trains.call_t_dep[c] - trains.call_t_arr[c]
        t1 = max(trains.call_t_dep[c], t_arr + scheduled_dwell)
        yield At(env, t1 - env.now, DEPARTURE_PRIORITY)
        times.boarding(c, t1)
        boarded = on_board(k, c, t1)
        load += boarded
        cap = max(scheduled_dwell, ops.max_dwell[k])
        # at its first stop the train stands with open doors before its departure (terminal layover)
        need = flow_dwell_s(plan, k, alighted, boarded, load) if c > start else 0.0
        t2 = max(t1, t_arr + min(need, cap))
        if t2 > t1:  # the doors stay open: late comers board too
            yield At(env, t2 - env.now, DEPARTURE_PRIORITY)
            times.boarding(c, t2)
            load += on_board(k, c, t2)
        t_dep = max(t2, tracks.earliest_departure(c))
        if t_dep > env.now:
            yield At(env, t_dep - env.now, DEPARTURE_PRIORITY)
        tracks.depart(c, t_dep)
        times.depart(c, t_dep)
        on_depart(k, c, t_dep)


class TrainTimes:
    """Actual arrival, boarding and departure times of every call (NaN until they happen)."""

    def __init__(self, rec) -> None:
        self.rec = rec

    def arrive(self, c: int, t: float) -> None:
        self.rec.call_t_arr[c] = t

    def boarding(self, c: int, t: float) -> None:
        """Call c boards (its doors close) at t: the time of any denial that on_board records."""
        self.rec.call_t_boarding[c] = t

    def depart(self, c: int, t: float) -> None:
        self.rec.call_t_dep[c] = t

    def passed(self, c: int, load: int) -> None:
        """A station passed without stopping, with `load` riders on board."""
        self.rec.call_done[c] = True
        self.rec.call_load[c] = load


class Tracks:
    """Platforms as track nodes shared by the trains of one line and direction (dynamic operations).

    A platform holds one train at a time (two with a passing track). Consecutive trains arrive and
    depart at least the platform's headway apart. Trains that left the same platform for this one
    arrive in the order they left (no overtaking between stations). Where tracks merge, a train
    gives way to every train already approaching on another track that is timetabled to arrive
    first. A train waiting to arrive re-checks whenever something changes at the platform."""

    def __init__(self, env: simpy.Environment, plan: Plan) -> None:
        self.env = env
        self.plan = plan
        ops, n = plan.ops, plan.n_platforms
        self.capacity = ops.platform_capacity.tolist()
        self.headway = ops.platform_headway.tolist()
        self.occupied = [0] * n
        self.last_arr = [-math.inf] * n
        self.last_dep = [-math.inf] * n
        self.approaching: list[dict[int, deque]] = [{} for _ in range(n)]
        """Per platform: previous platform -> (train, scheduled arrival here) of the trains between
        the two, in the order they left."""
        self.waiters: list[list[Event]] = [[] for _ in range(n)]
        tr = plan.trains
        self.call_train = np.repeat(np.arange(tr.n_trains), np.diff(tr.call_start)).tolist()

    def _blocked(self, k: int, c: int) -> bool:
        """Whether train k must wait before arriving at call c: the platform is full, another
        train is ahead of it between the stations, or the first train approaching on another track
        is timetabled to arrive first."""
        tr = self.plan.trains
        p, u = int(tr.call_platform[c]), int(self.plan.ops.prev_platform[c])
        if self.occupied[p] >= self.capacity[p]:
            return True
        incoming = self.approaching[p]
        if u >= 0 and incoming[u][0][0] != k:
            return True
        mine = tr.call_t_arr[c]
        return any(frm != u and queue and queue[0][1] < mine for frm, queue in incoming.items())

    def admit(self, k: int, c: int):
        """Wait until train k may arrive at call c; then commit and wait for the arrival time.
        Returns the arrival time."""
        p = int(self.plan.trains.call_platform[c])
        while self._blocked(k, c):
            wake = self.env.event()
            self.waiters[p].append(wake)
            yield wake
        t = max(self.env.now, self.last_arr[p] + self.headway[p])
        self.occupied[p] += 1
        self.last_arr[p] = t
        u = int(self.plan.ops.prev_platform[c])
        if u >= 0:
            self.approaching[p][u].popleft()
        self._notify(p)
        if t > self.env.now:
            yield At(self.env, t - self.env.now, ARRIVAL_PRIORITY)
        return t

    def earliest_departure(self, c: int) -> float:
        p = int(self.plan.trains.call_platform[c])
        return self.last_dep[p] + self.headway[p]

    def depart(self, c: int, t: float) -> None:
        """The train of call c leaves for its next call."""
        tr = self.plan.trains
        p, q = int(tr.call_platform[c]), int(tr.call_platform[c + 1])
        self.occupied[p] -= 1
        self.last_dep[p] = t
        self.approaching[q].setdefault(p, deque()).append((self.call_train[c], float(tr.call_t_arr[c + 1])))
        self._notify(p)
        self._notify(q)

    def leave(self, c: int) -> None:
        """The train of call c ends its run there and leaves the track."""
        p = int(self.plan.trains.call_platform[c])
        self.occupied[p] -= 1
        self.last_dep[p] = self.env.now
        self._notify(p)

    def _notify(self, p: int) -> None:
        waiting, self.waiters[p] = self.waiters[p], []
        for ev in waiting:
            ev.succeed()


PROGRESS_EVERY_S = 900.0


def progress_ticker(env: simpy.Environment, progress: Callable[[float], None]):
    """Report the simulated clock (s) every PROGRESS_EVERY_S simulated seconds."""
    while True:
        progress(env.now)
        yield env.timeout(PROGRESS_EVERY_S)


def start_trains(env: simpy.Environment, plan: Plan, on_arrive: OnArrive, on_board: OnBoard, on_depart: OnDepart,
                 rec) -> None:
    """Start every train process (timetable or dynamic, as the plan says); actual call times go to
    rec.call_t_arr / rec.call_t_boarding / rec.call_t_dep. `on_depart(train, call, t)` follows
    each departure from a stop (its boarding is over)."""
    times = TrainTimes(rec)
    if plan.ops.dynamic:
        tracks = Tracks(env, plan)
        for k in range(plan.trains.n_trains):
            env.process(dynamic_train(env, plan, k, on_arrive, on_board, on_depart, times, tracks))
    else:
        for k in range(plan.trains.n_trains):
            env.process(timetable_train(env, plan, k, on_arrive, on_board, on_depart, times))
