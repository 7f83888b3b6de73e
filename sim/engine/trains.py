"""Trains as SimPy processes, shared by both engines: arrive, let passengers off, dwell, board, go
(and the progress ticker both engines use).

Each call is two events at the timetable's exact (whole-second) times: the arrival, at URGENT
priority, so that everyone alighting at an instant has left before anyone boards at that instant;
the departure, at a priority after every commuter event of that instant, so that a commuter who
reaches the platform exactly at departure time still boards.
"""

from __future__ import annotations

from collections.abc import Callable

import simpy
from simpy.events import URGENT, Event

from ..plan import Plan

ARRIVAL_PRIORITY = URGENT
TIE_BREAK_PRIORITY = 2
"""After ordinary events of an instant: used by the reference engine to order simultaneous
arrivals at a facility by commuter id."""
DEPARTURE_PRIORITY = 3


class At(Event):
    """An event that fires after `delay` seconds at a given priority (like Timeout, which is
    always NORMAL)."""

    def __init__(self, env: simpy.Environment, delay: float, priority: int) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, priority, delay)


def train_process(env: simpy.Environment, plan: Plan, k: int, on_arrive: Callable[[int, int], None],
                  on_depart: Callable[[int, int], None]):
    """Run train k through its calls; the callbacks get (train, call row)."""
    trains = plan.trains
    start, end = int(trains.call_start[k]), int(trains.call_start[k + 1])
    t_arr, t_dep = trains.call_t_arr, trains.call_t_dep
    for c in range(start, end):
        yield At(env, t_arr[c] - env.now, ARRIVAL_PRIORITY)
        on_arrive(k, c)
        if c < end - 1:
            yield At(env, t_dep[c] - env.now, DEPARTURE_PRIORITY)
            on_depart(k, c)


PROGRESS_EVERY_S = 900.0


def progress_ticker(env: simpy.Environment, progress: Callable[[float], None]):
    """Report the simulated clock (s) every PROGRESS_EVERY_S simulated seconds."""
    while True:
        progress(env.now)
        yield env.timeout(PROGRESS_EVERY_S)


def start_trains(env: simpy.Environment, plan: Plan, on_arrive, on_depart) -> None:
    for k in range(plan.trains.n_trains):
        env.process(train_process(env, plan, k, on_arrive, on_depart))
