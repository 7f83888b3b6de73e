"""Columnar record buffers filled by the engines, preallocated from the plan's slots."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..plan import Plan


@dataclass
class Records:
    """What happened, per leg slot, facility slot, commuter and train call. Times in seconds,
    NaN where the event did not happen before the end of the simulation."""

    leg_offset: np.ndarray  # int64 per commuter + 1, the plan's: commuter i's leg j is slot leg_offset[i] + j
    leg_train: np.ndarray  # int32 train index, -1 if not boarded
    leg_t_platform: np.ndarray
    leg_t_board: np.ndarray
    leg_t_alight: np.ndarray
    leg_ride_s: np.ndarray  # float: time aboard trains that ended their run before this leg's alighting station
    leg_t_denied: np.ndarray  # boarding time of the first train call that left the commuter behind on this leg
    leg_ride_denied_s: np.ndarray  # float: leg_ride_s at that first denial (time aboard trains cut short before it)
    fac_t_join: np.ndarray
    fac_t_start: np.ndarray
    fac_t_end: np.ndarray
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

    @classmethod
    def allocate(cls, plan: Plan) -> Records:
        n_legs = int(plan.leg_offset[-1])
        n_fac = int(plan.fac_offset[-1])
        n_calls = len(plan.trains.call_station)

        def nan(k: int) -> np.ndarray:
            return np.full(k, np.nan)

        return cls(
            leg_offset=plan.leg_offset,
            leg_train=np.full(n_legs, -1, dtype=np.int32),
            leg_t_platform=nan(n_legs), leg_t_board=nan(n_legs), leg_t_alight=nan(n_legs),
            leg_ride_s=np.zeros(n_legs), leg_t_denied=nan(n_legs), leg_ride_denied_s=np.zeros(n_legs),
            fac_t_join=nan(n_fac), fac_t_start=nan(n_fac), fac_t_end=nan(n_fac),
            t_arrive=nan(plan.n_commuters),
            denied=np.zeros(plan.n_commuters, dtype=np.int32),
            call_boarded=np.zeros(n_calls, dtype=np.int64),
            call_alighted=np.zeros(n_calls, dtype=np.int64),
            call_load=np.zeros(n_calls, dtype=np.int64),
            call_done=np.zeros(n_calls, dtype=bool),
            call_t_arr=nan(n_calls), call_t_dep=nan(n_calls), call_t_boarding=nan(n_calls),
            last_denied_call=np.full(plan.n_commuters, -1, dtype=np.int64),
            left_by_short_run=np.zeros(plan.n_commuters, dtype=bool),
        )

    def deny(self, commuters: np.ndarray | int, call: int) -> None:
        """Commuters left behind by a full train at `call`: counted once per train call, even when the
        doors open for boarding a second time (dynamic operations). The first denial on a leg also
        records the time (the call's boarding, `call_t_boarding`) and the time aboard trains cut short
        so far, from which the tables take the wait it caused."""
        ids = np.atleast_1d(np.asarray(commuters, dtype=np.int64))
        new = ids[self.last_denied_call[ids] != call]
        self.denied[new] += 1
        self.last_denied_call[new] = call
        slot = self._waiting_leg(new)
        slot = slot[np.isnan(self.leg_t_denied[slot])]
        self.leg_t_denied[slot] = self.call_t_boarding[call]
        self.leg_ride_denied_s[slot] = self.leg_ride_s[slot]

    def _waiting_leg(self, ids: np.ndarray) -> np.ndarray:
        """Leg slot that commuters `ids`, waiting on a platform, wait for: their first leg not alighted
        from (legs are alighted from in order)."""
        slot = self.leg_offset[ids].copy()
        last = self.leg_offset[ids + 1] - 1
        # the walk along each commuter's slots, for all of them at once: step past every leg alighted from
        while True:
            done = (slot < last) & ~np.isnan(self.leg_t_alight[slot])
            if not done.any():
                return slot
            slot[done] += 1

    def truncate(self, t_end: float) -> None:
        """Forget every event at or after t_end: the simulation covers times strictly before it."""
        for arr in (self.leg_t_platform, self.leg_t_board, self.leg_t_alight, self.leg_t_denied, self.fac_t_join,
                    self.fac_t_start, self.fac_t_end, self.t_arrive, self.call_t_arr, self.call_t_dep):
            arr[arr >= t_end] = np.nan
        self.leg_train[np.isnan(self.leg_t_board)] = -1
