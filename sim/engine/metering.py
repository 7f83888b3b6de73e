"""Crowd control at station entrances, shared by both engines: who waits outside and who goes in.

While a station's window lasts (start < t < end), a commuter reaching its entrance goes in at once
when nobody waits outside and the entrance still has an allowance left; otherwise they join the
queue outside. At the window's start and after every train leaves a platform of the station, the
staff count the riders waiting on its platforms and those let in who are not there yet: the
allowance becomes the holding limit less that count, and that many of those outside go in, first
come first served. At the window's end everyone outside goes in. Riders who reach the platforms
another way (changing lines, put off a train) count at the next count but are never held.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from ..plan import MeteredEntrance, Plan
from .itinerary import Itineraries

_NONE = np.zeros(0, dtype=np.int64)


class EntranceMeter:
    """The queue outside one station's entrances during a run."""

    def __init__(self, spec: MeteredEntrance, it: Itineraries) -> None:
        self.spec, self.it = spec, it
        self.allowance = math.inf
        """Commuters who may still go in without waiting until the next count (no limit outside the window)."""
        self.outside: deque[int] = deque()
        self.walking_in = (_NONE, _NONE)
        """Commuters let in and the RIDE step they walk to (those not on the platform yet count)."""
        self.open = False
        """After the window: nobody is held or counted any more."""

    def counts_at(self, t: float) -> bool:
        """Whether the staff count after a train leaves at time t (inside the window)."""
        return self.spec.start_s < t < self.spec.end_s

    def arrive(self, t: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Commuters `c` reach the entrance at times `t` (in canonical order; pointers at the
        entrance step): which go in now (the others wait outside)."""
        s = self.spec
        go_in = (t <= s.start_s) | (t >= s.end_s)
        for i in np.flatnonzero(~go_in).tolist():
            if not self.outside and self.allowance >= 1:
                self.allowance -= 1
                go_in[i] = True
            else:
                self.outside.append(int(c[i]))
        self._walk_in(c[go_in])
        return go_in

    def count(self, t: float, on_platforms: int) -> np.ndarray:
        """The staff count at time t with `on_platforms` riders waiting on the station's platforms:
        returns the commuters let in from outside now (first come first served)."""
        c, ride = self.walking_in
        if len(c):
            there = self.it.rec.leg_t_platform[self.it.leg_slot(c, ride)] <= t
            self.walking_in = (c[~there], ride[~there])
        room = max(0, self.spec.limit - on_platforms - len(self.walking_in[0]))
        n = min(room, len(self.outside))
        self.allowance = room - n
        let_in = np.fromiter((self.outside.popleft() for _ in range(n)), dtype=np.int64, count=n)
        self._walk_in(let_in)
        return let_in

    def end_window(self) -> np.ndarray:
        """The window is over: everyone outside goes in (returned, in order); no limit from now on."""
        self.open, self.allowance = True, math.inf
        self.walking_in = (_NONE, _NONE)
        let_in = np.fromiter(self.outside, dtype=np.int64, count=len(self.outside))
        self.outside.clear()
        return let_in

    def _walk_in(self, c: np.ndarray) -> None:
        if self.open or not len(c):
            return
        ride = self.it.next_ride(self.it.ptr[c])
        self.walking_in = (np.concatenate([self.walking_in[0], c]), np.concatenate([self.walking_in[1], ride]))


def entrance_meters(plan: Plan, it: Itineraries) -> tuple[dict[int, EntranceMeter], list[list[EntranceMeter]]]:
    """The meters of a run's metered entrances, by facility, and those counting at each platform."""
    meters = {e.facility: EntranceMeter(e, it) for e in plan.entrances}
    at_platform: list[list[EntranceMeter]] = [[] for _ in range(plan.n_platforms)]
    for m in meters.values():
        for q in m.spec.platforms:
            at_platform[q].append(m)
    return meters, at_platform
