"""Columnar record buffers filled by the engines, preallocated from the plan's slots.

A commuter's leg slots are leg_base[i] .. leg_base[i] + leg_count[i] - 1 (facility slots likewise).
A choice on the way that needs more slots than the commuter has moves theirs to the end of the
buffers (`relocate`); `compact` puts every commuter's slots back in commuter order after the run,
so that the tables read leg_offset[i] .. leg_offset[i + 1] - 1.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numba
import numpy as np

from ..plan import Plan


@dataclass
class Records:
    """What happened, per leg slot, facility slot, commuter and train call. Times in seconds,
    NaN where the event did not happen before the end of the simulation."""

    leg_base: np.ndarray  # int64 per commuter: slot of their leg 0
    leg_count: np.ndarray  # int64 per commuter: their leg slots
    fac_base: np.ndarray  # int64 per commuter: slot of their facility visit 0
    fac_count: np.ndarray  # int64 per commuter
    slot_facility: np.ndarray  # int32 per facility slot
    service_s: np.ndarray  # float64 per facility slot: its service time, drawn before it is used
    leg_train: np.ndarray  # int32 train index, -1 if not boarded
    leg_t_platform: np.ndarray
    leg_t_board: np.ndarray
    leg_t_alight: np.ndarray
    leg_ride_s: np.ndarray  # float: time aboard trains that ended their run before this leg's alighting station
    leg_t_denied: np.ndarray  # boarding time of the first train call that left the commuter behind on this leg
    leg_ride_denied_s: np.ndarray  # float: leg_ride_s at that first denial (time aboard trains cut short before it)
    leg_ticket_call: np.ndarray  # int32: train call a reserved-seat ticket is for, -1 none, -2 none to be had
    leg_ticket: np.ndarray  # int8: class of that ticket, 1 seat, 2 standing, 0 none; + 4 when bought before the day
    leg_missed_trains: np.ndarray  # int16: trains whose gates closed before the rider holding their ticket came
    fac_t_join: np.ndarray
    fac_t_start: np.ndarray
    fac_t_end: np.ndarray
    t_start: np.ndarray
    """Per commuter: when their journey started (s): its t_depart, or for a journey waiting for
    another (Plan.after) when that one ended, if later; NaN for one that never started."""
    t_arrive: np.ndarray
    denied: np.ndarray  # int32 per commuter: times left behind by a full train
    call_boarded: np.ndarray  # int64 per train call
    call_alighted: np.ndarray
    call_load: np.ndarray  # load after the call (departing load)
    call_done: np.ndarray  # bool: the train reached this call before the end
    call_t_arr: np.ndarray  # actual arrival (s), NaN if not reached before the end
    call_t_dep: np.ndarray  # actual departure (s), NaN if not left before the end
    call_t_boarding: np.ndarray  # time (s) of the call's latest boarding (doors closing), NaN before the first
    last_denied_call: np.ndarray  # int64 per commuter: the train call that last left them behind, -1
    left_by_short_run: np.ndarray  # bool per commuter: a train shown shortened by a disruption left without them
    t_left: np.ndarray  # per commuter: time out of the station where they left the rail network, NaN
    left_station: np.ndarray  # int32 per commuter: that station, -1
    rechoices: np.ndarray  # int32 per commuter: choices made on the way (waiting on included)
    rerouted_on_way: np.ndarray  # bool per commuter: took other legs on the way
    put_off_here: np.ndarray  # bool per commuter: put off a train cut short, then went another way from there
    t_decided: np.ndarray  # per commuter: time (s) of their latest choice on the way, NaN
    knows_closure: np.ndarray  # bool per commuter: chose on the way knowing of a closure (put off, or told)
    route_legs: dict[int, tuple[int, ...]]
    """The legs of the route of each commuter who took other legs on the way (leg options)."""
    leg_used: int = 0
    """Leg slots in use; the buffers may be longer (room for slots moved by `relocate`)."""
    fac_used: int = 0

    @classmethod
    def allocate(cls, plan: Plan) -> Records:
        """Buffers for the plan's slots, with room past them for slots that choices on the way move
        (`relocate`): growing buffers of millions of slots costs more than the spare room."""
        n_legs = int(plan.leg_offset[-1])
        n_fac = int(plan.fac_offset[-1])
        n_calls = len(plan.trains.call_station)
        room_legs, room_fac = n_legs + _spare(n_legs), n_fac + _spare(n_fac)
        n_tickets = room_legs if plan.tickets is not None else 0

        def nan(k: int) -> np.ndarray:
            return np.full(k, np.nan)

        def padded(values: np.ndarray, fill: float) -> np.ndarray:
            out = np.full(room_fac, fill, dtype=values.dtype)
            out[:n_fac] = values
            return out

        return cls(
            leg_base=plan.leg_offset[:-1].copy(), leg_count=np.diff(plan.leg_offset),
            fac_base=plan.fac_offset[:-1].copy(), fac_count=np.diff(plan.fac_offset),
            slot_facility=padded(plan.slot_facility, -1), service_s=padded(plan.service_s, np.nan),
            leg_train=np.full(room_legs, -1, dtype=np.int32),
            leg_t_platform=nan(room_legs), leg_t_board=nan(room_legs), leg_t_alight=nan(room_legs),
            leg_ride_s=np.zeros(room_legs), leg_t_denied=nan(room_legs), leg_ride_denied_s=np.zeros(room_legs),
            # the ticket buffers are empty on a network without reserved seats (see _TICKET_FIELDS)
            leg_ticket_call=np.full(n_tickets, -1, dtype=np.int32), leg_ticket=np.zeros(n_tickets, dtype=np.int8),
            leg_missed_trains=np.zeros(n_tickets, dtype=np.int16),
            fac_t_join=nan(room_fac), fac_t_start=nan(room_fac), fac_t_end=nan(room_fac),
            t_start=np.where(plan.after >= 0, np.nan, plan.t_depart) if plan.after is not None else plan.t_depart.copy(),
            t_arrive=nan(plan.n_commuters),
            denied=np.zeros(plan.n_commuters, dtype=np.int32),
            call_boarded=np.zeros(n_calls, dtype=np.int64),
            call_alighted=np.zeros(n_calls, dtype=np.int64),
            call_load=np.zeros(n_calls, dtype=np.int64),
            call_done=np.zeros(n_calls, dtype=bool),
            call_t_arr=nan(n_calls), call_t_dep=nan(n_calls), call_t_boarding=nan(n_calls),
            last_denied_call=np.full(plan.n_commuters, -1, dtype=np.int64),
            left_by_short_run=np.zeros(plan.n_commuters, dtype=bool),
            t_left=nan(plan.n_commuters), left_station=np.full(plan.n_commuters, -1, dtype=np.int32),
            rechoices=np.zeros(plan.n_commuters, dtype=np.int32),
            leg_used=n_legs, fac_used=n_fac,
            rerouted_on_way=np.zeros(plan.n_commuters, dtype=bool), put_off_here=np.zeros(plan.n_commuters, dtype=bool),
            t_decided=nan(plan.n_commuters), knows_closure=np.zeros(plan.n_commuters, dtype=bool),
            route_legs={},
        )

    @property
    def leg_offset(self) -> np.ndarray:
        """Slot of each commuter's leg 0, and the end (after `compact`: int64, n_commuters + 1)."""
        return np.append(self.leg_base, self.leg_base[-1] + self.leg_count[-1] if len(self.leg_base) else 0)

    @property
    def fac_offset(self) -> np.ndarray:
        """Slot of each commuter's facility visit 0, and the end (after `compact`)."""
        return np.append(self.fac_base, self.fac_base[-1] + self.fac_count[-1] if len(self.fac_base) else 0)

    def outcomes_only(self) -> Records:
        """These records without the engines' working state, which no table reads: each facility
        slot's service time, each commuter's last denial call, latest choice time and knowledge of
        closures (empty arrays here; about 40 bytes per journey). For the tables, after the run."""
        return replace(self, service_s=np.zeros(0), last_denied_call=np.zeros(0, dtype=np.int64), t_decided=np.zeros(0),
                       knows_closure=np.zeros(0, dtype=bool))

    def without_visits(self) -> Records:
        """These records without their facility visits (empty arrays here: about 30 bytes per visit),
        for the tables built after the facilities table."""
        return replace(self, slot_facility=np.zeros(0, dtype=self.slot_facility.dtype), fac_t_join=np.zeros(0),
                       fac_t_start=np.zeros(0), fac_t_end=np.zeros(0))

    def relocate(self, c: np.ndarray, n_legs: np.ndarray, n_facs: np.ndarray) -> None:
        """Give commuters `c` (distinct) room for `n_legs` leg slots and `n_facs` facility slots each
        (keeping what is recorded in theirs): new slots at the end of the buffers, in the order of
        `c`, for those whose slots are too few."""
        more = n_legs > self.leg_count[c]
        if more.any():
            who, size = c[more], n_legs[more]
            self.leg_base[who] = self._move(_LEG_FIELDS, "leg_used", self.leg_base[who], self.leg_count[who], size)
            self.leg_count[who] = size
        more = n_facs > self.fac_count[c]
        if more.any():
            who, size = c[more], n_facs[more]
            self.fac_base[who] = self._move(_FAC_FIELDS, "fac_used", self.fac_base[who], self.fac_count[who], size)
            self.fac_count[who] = size

    def _move(self, fields: dict, used: str, base: np.ndarray, count: np.ndarray, size: np.ndarray) -> np.ndarray:
        """Copy each run of slots base .. base + count - 1 of `fields` to `size` fresh slots past the
        `used` ones, run after run (the buffers grow by doubling: moving a few commuters at a time
        stays linear); their new bases."""
        lo = getattr(self, used)
        new_base = lo + np.cumsum(size) - size
        end = lo + int(size.sum())
        first = getattr(self, next(iter(fields)))
        if end > len(first):
            room = max(end, 2 * len(first))
            for name, fill in fields.items():
                arr = getattr(self, name)
                if name in _TICKET_FIELDS and not len(arr):
                    continue
                grown = np.full(room, fill, dtype=arr.dtype)
                grown[: len(arr)] = arr
                setattr(self, name, grown)
        rank = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)  # each slot's place in its run
        src, dst = np.repeat(base, count) + rank, np.repeat(new_base, count) + rank
        for name in fields:
            arr = getattr(self, name)
            if len(arr):
                arr[dst] = arr[src]
        setattr(self, used, end)
        return new_base

    def compact(self) -> None:
        """Every commuter's slots back in commuter order (a no-op when nobody moved)."""
        for fields, base, count in ((_LEG_FIELDS, self.leg_base, self.leg_count),
                                    (_FAC_FIELDS, self.fac_base, self.fac_count)):
            start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64) if len(count) else base
            if np.array_equal(start, base):  # nobody moved: the slots in use, without the room past them
                for name in fields:
                    setattr(self, name, getattr(self, name)[: int(count.sum())])
                continue
            for name in fields:
                if name not in _TICKET_FIELDS or len(getattr(self, name)):
                    arr = getattr(self, name)
                    out = np.empty(int(count.sum()), dtype=arr.dtype)
                    _gather_runs(arr, base, count, start, out)
                    setattr(self, name, out)
                    del arr, out  # the old buffer goes before the next is copied
            base[:] = start
        self.leg_used, self.fac_used = int(self.leg_count.sum()), int(self.fac_count.sum())

    def deny(self, commuters: np.ndarray | int, call: int) -> None:
        """Commuters waiting on a platform left behind by a full train at `call` (one at a time, by the
        reference engine): counted once per train call, even when the doors open for boarding a second
        time (dynamic operations); the first denial on a leg is timed (see time_first_denials)."""
        ids = np.atleast_1d(np.asarray(commuters, dtype=np.int64))
        ids = ids[self.last_denied_call[ids] != call]
        self.denied[ids] += 1
        self.last_denied_call[ids] = call
        self.time_first_denials(self._waiting_leg(ids), call)

    def time_first_denials(self, slots: np.ndarray, call: int) -> None:
        """Leg `slots` (distinct) of commuters left behind at `call` for the first time while waiting
        for them: those not left behind on that leg before record the call's boarding time
        (`call_t_boarding`) and the time aboard trains cut short so far, from which the tables take
        the wait the denial caused."""
        slots = slots[np.isnan(self.leg_t_denied[slots])]
        self.leg_t_denied[slots] = self.call_t_boarding[call]
        self.leg_ride_denied_s[slots] = self.leg_ride_s[slots]

    def _waiting_leg(self, ids: np.ndarray) -> np.ndarray:
        """Leg slot that commuters `ids`, waiting on a platform, wait for: their first leg not alighted
        from (legs are alighted from in order)."""
        slot = self.leg_base[ids].copy()
        last = slot + self.leg_count[ids] - 1
        # the walk along each commuter's slots, for all of them at once: step past every leg alighted from
        while True:
            done = (slot < last) & ~np.isnan(self.leg_t_alight[slot])
            if not done.any():
                return slot
            slot[done] += 1

    def truncate(self, t_end: float) -> None:
        """Forget every event at or after t_end: the simulation covers times strictly before it."""
        for arr in (self.leg_t_platform, self.leg_t_board, self.leg_t_alight, self.leg_t_denied, self.fac_t_join,
                    self.fac_t_start, self.fac_t_end, self.t_start, self.t_arrive, self.call_t_arr, self.call_t_dep):
            arr[arr >= t_end] = np.nan
        self.leg_train[np.isnan(self.leg_t_board)] = -1


@numba.njit(cache=True, nogil=True)
def _gather_runs(arr: np.ndarray, base: np.ndarray, count: np.ndarray, start: np.ndarray, out: np.ndarray) -> None:
    """out[start[i] + j] = arr[base[i] + j] for each commuter i and j < count[i]."""
    # compiled: the index array of every slot (a city's day: 3 x 10^7 slots, 8 bytes each, built
    # from two more of that size) would hold a gigabyte at the simulation's peak
    for i in range(len(base)):
        for j in range(count[i]):
            out[start[i] + j] = arr[base[i] + j]


def _spare(n: int) -> int:
    """Slots of room past `n` slots in use (see Records.allocate)."""
    return max(64, n // 16)


_LEG_FIELDS = {"leg_train": -1, "leg_t_platform": np.nan, "leg_t_board": np.nan, "leg_t_alight": np.nan,
               "leg_ride_s": 0.0, "leg_t_denied": np.nan, "leg_ride_denied_s": 0.0, "leg_ticket_call": -1,
               "leg_ticket": 0, "leg_missed_trains": 0}
"""The per-leg-slot buffers and their value before anything happens in a slot."""
_TICKET_FIELDS = frozenset({"leg_ticket_call", "leg_ticket", "leg_missed_trains"})
"""Leg buffers that are empty (and stay so) when no line has reserved seats."""
_FAC_FIELDS = {"fac_t_join": np.nan, "fac_t_start": np.nan, "fac_t_end": np.nan, "slot_facility": -1,
               "service_s": np.nan}
