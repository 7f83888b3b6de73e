"""Tickets for one train on lines with reserved seats (schema.ReservationSpec), shared by both engines.

A ticket is held per leg slot: the train call it boards at (`Records.leg_ticket_call`) and its class
(seat or standing). Both engines book in the same order:
- before the clock starts, the riders who bought ahead, in their booking order (`book_ahead`), for
  the train they plan to catch (their own walks and drawn service times, trains before on the
  timetable, no queues);
- during the run, at the boarding of every train call on a platform with reserved seats, those who
  reached it by the gates' closing and hold no ticket still to be used there, in the platform's
  order (time, id) (`book_on_platform`); a ticket for a call that has left was missed.
A train sells seats, then standing tickets, on each section between two stops: on no section does
it carry more than its seats plus its standing tickets.
"""

from __future__ import annotations

import numpy as np

from ..plan import STEP_FACILITY, STEP_RIDE, Plan, TicketRules
from .records import Records

SEAT = 1
STANDING = 2
AHEAD = 4
"""Added to a ticket's class (Records.leg_ticket) when it was bought before the day."""
CLASS = 3
"""The class bits of Records.leg_ticket."""
SOLD_OUT = -2
"""leg_ticket_call of a rider for whom no train still to come has a ticket (they stay on the platform)."""


class Tickets:
    """Inventories of the trains of lines with reserved seats and the booking rules."""

    def __init__(self, plan: Plan, rec: Records) -> None:
        self.plan, self.rec = plan, rec
        self.rules: TicketRules | None = plan.tickets
        tr = plan.trains
        self.reserved = self.rules.reserved if self.rules is not None else np.zeros(plan.n_platforms, dtype=bool)
        n_calls = len(tr.call_station)
        self.call_train = np.repeat(np.arange(tr.n_trains, dtype=np.int64), np.diff(tr.call_start))
        self.gone = np.zeros(n_calls, dtype=bool)
        """Per call: the train has left (its tickets can no longer be used)."""
        last = np.zeros(n_calls, dtype=bool)
        last[tr.call_start[1:] - 1] = True
        boardable = tr.call_stop & ~last
        # every platform's boardable calls in order of scheduled departure (ties: call order)
        order = np.lexsort((np.arange(n_calls), tr.call_t_dep))
        order = order[boardable[order]]
        platform = tr.call_platform[order]
        by_platform = np.argsort(platform, kind="stable")
        self._calls = order[by_platform]
        self._cuts = np.searchsorted(platform[by_platform], np.arange(plan.n_platforms + 1))
        self._first_open = self._cuts[:-1].copy()
        """Per platform: position in _calls before which every call has left."""
        self._stops: dict[int, dict[int, int]] = {}
        """Per train looked at: the call at each station where it stops."""
        self.sold: dict[int, np.ndarray] = {}
        """Per train with reservations: seats and standing tickets sold per section (2 x its calls)."""

    @property
    def active(self) -> bool:
        return self.rules is not None

    # -- finding and booking trains ---------------------------------------------------------------

    def _alight_call(self, call: int, alight: int) -> int:
        """The call of `call`'s train at station `alight` after `call` (a stop it serves), or -1."""
        tr = self.plan.trains
        k = int(self.call_train[call])
        stops = self._stops.get(k)
        if stops is None:  # the train's stops by station (a pattern stops at a station once)
            lo, hi = int(tr.call_start[k]), int(tr.call_start[k + 1])
            at = np.flatnonzero(tr.call_stop[lo:hi]) + lo
            stops = self._stops[k] = dict(zip(tr.call_station[at].tolist(), at.tolist()))
        down = stops.get(alight, -1)
        if down <= call or tr.call_seq[down] > tr.call_serves_to[call]:
            return -1
        return down

    def _take(self, call: int, down: int) -> int:
        """Sell a ticket on `call`'s train from `call` to call `down`: SEAT, STANDING or 0 (none left)."""
        assert self.rules is not None
        k = int(self.call_train[call])
        start = int(self.plan.trains.call_start[k])
        sold = self.sold.get(k)
        if sold is None:
            sold = self.sold[k] = np.zeros((2, int(self.plan.trains.call_start[k + 1]) - start), dtype=np.int64)
        a, b = call - start, down - start
        for klass, row, limit in ((SEAT, 0, self.rules.seats[k]), (STANDING, 1, self.rules.standing[k])):
            if limit > 0 and sold[row, a:b].max() < limit:
                sold[row, a:b] += 1
                return klass
        return 0

    def _book(self, slot: int, platform: int, alight: int, not_before_s: float | None) -> int:
        """Book for leg slot `slot` the first train call on `platform` still to leave (scheduled to
        leave at or after `not_before_s` when given: booking ahead) that takes the rider to `alight`
        and has a ticket left; its arrival call at `alight`, or -1 when none has (booking ahead, the
        rider then buys on the platform)."""
        tr = self.plan.trains
        lo, hi = int(self._first_open[platform]), int(self._cuts[platform + 1])
        if not_before_s is not None:
            lo += int(np.searchsorted(tr.call_t_dep[self._calls[lo:hi]], not_before_s))
        for call in self._calls[lo:hi].tolist():
            if self.gone[call]:
                continue
            down = self._alight_call(call, alight)
            if down < 0:
                continue
            klass = self._take(call, down)
            if klass:
                self.rec.leg_ticket_call[slot] = call
                self.rec.leg_ticket[slot] = klass | (AHEAD if not_before_s is not None else 0)
                return down
        if not_before_s is None:  # on the platform: no train still to come has a ticket left, nor will have
            self.rec.leg_ticket_call[slot] = SOLD_OUT
        return -1

    def _next_train(self, platform: int, alight: int, not_before_s: float) -> int:
        """The arrival call at `alight` of the first train scheduled to leave `platform` at or after
        `not_before_s` that takes a rider there, or -1."""
        tr = self.plan.trains
        lo, hi = int(self._cuts[platform]), int(self._cuts[platform + 1])
        lo += int(np.searchsorted(tr.call_t_dep[self._calls[lo:hi]], not_before_s))
        for call in self._calls[lo:hi].tolist():
            down = self._alight_call(call, alight)
            if down >= 0:
                return down
        return -1

    # -- before the clock starts ------------------------------------------------------------------

    def book_ahead(self) -> None:
        """Book every advance buyer's trains, in their booking order (see the module docstring)."""
        rules, p = self.rules, self.plan
        if rules is None:
            return
        is_ride = p.step_kind == STEP_RIDE
        ahead_step = np.zeros(len(p.step_kind), dtype=float)  # per step: the share booking ahead on its platform
        ahead_step[is_ride] = np.nan_to_num(rules.advance_share[p.step_target[is_ride]], nan=0.0)
        template_of_step = np.repeat(np.arange(len(p.template_start) - 1), np.diff(p.template_start))
        share = np.zeros(len(p.template_start) - 1)
        np.maximum.at(share, template_of_step, ahead_step)
        order = rules.booking_order
        order = order[rules.draw[order] < share[p.template[order]]]
        # the loop is over advance buyers only (riders of reserved lines), each along their own steps
        for c in order.tolist():
            self._book_ahead_one(c)

    def _book_ahead_one(self, c: int) -> None:
        """Commuter c's advance bookings along their itinerary as planned."""
        p, rules = self.plan, self.rules
        assert rules is not None
        tr = p.trains
        t = float(p.t_depart[c])
        tpl = int(p.template[c])
        for s in range(int(p.template_start[tpl]), int(p.template_start[tpl + 1])):
            t += float(p.step_walk[s] * p.walk_factor[c])
            kind = p.step_kind[s]
            if kind == STEP_FACILITY:
                t += float(p.service_s[p.fac_offset[c] + p.step_ordinal[s]])
                continue
            if kind != STEP_RIDE:
                return
            platform, alight = int(p.step_target[s]), int(p.step_alight[s])
            closes = float(p.boarding_closes_s[platform])
            if self.reserved[platform] and rules.draw[c] < rules.advance_share[platform]:
                down = self._book(int(p.leg_offset[c] + p.step_ordinal[s]), platform, alight,
                                  t + rules.margin_s[platform] + closes)
            else:
                down = self._next_train(platform, alight, t + closes)
            if down < 0:
                return
            t = float(tr.call_t_arr[down])

    # -- during the run ---------------------------------------------------------------------------

    def book_on_platform(self, platform: int, slots: np.ndarray, alight: np.ndarray) -> None:
        """Riders on `platform` by the gates' closing, with leg slots `slots` in the platform's order
        (time, id) and going to stations `alight`: those who hold no ticket still to be used here buy
        one; a ticket for a call that has left counts as a missed train."""
        rec = self.rec
        held = rec.leg_ticket_call[slots]
        ok = held >= 0
        here = np.zeros(len(slots), dtype=bool)
        here[ok] = self.plan.trains.call_platform[held[ok]] == platform
        live = here & ~self.gone[np.maximum(held, 0)]
        missed = here & ~live
        rec.leg_missed_trains[slots[missed]] += 1
        need = ~live & (held != SOLD_OUT)
        for slot, to in zip(slots[need].tolist(), alight[need].tolist()):
            self._book(slot, platform, to, None)

    def holders(self, call: int, slots: np.ndarray) -> np.ndarray:
        """Which of the leg slots `slots` hold a ticket for train call `call` (bool)."""
        return self.rec.leg_ticket_call[slots] == call

    def departed(self, call: int) -> None:
        """Train call `call` has left: its tickets can no longer be used."""
        self.gone[call] = True
        platform = int(self.plan.trains.call_platform[call])
        lo, hi = int(self._first_open[platform]), int(self._cuts[platform + 1])
        while lo < hi and self.gone[self._calls[lo]]:
            lo += 1
        self._first_open[platform] = lo
