"""Denials in the records against their rule read one commuter at a time: a denial counts once per
train call, and the first denial on a leg records the call's boarding time and the time aboard
trains cut short so far (the reference engine's `Records.deny`; the bulk engine counts denials in its
platform queues, tests/unit/test_queues.py)."""

from __future__ import annotations

import numpy as np
import pytest

from slot_records import records_with_slots


def _denials(seed: int):
    """Records of 30 commuters with 1-3 legs, and 12 rounds of (call, commuters left behind, the
    leg each waits for, their alighted legs before it)."""
    rng = np.random.default_rng(seed)
    n = 30
    rec = records_with_slots(rng.integers(1, 4, n).tolist(), [0] * n)
    rec.leg_ride_s[:] = rng.uniform(0, 100, len(rec.leg_ride_s))
    rec.call_t_boarding = np.full(4, np.nan)  # four train calls
    rounds = []
    for step in range(12):
        call = int(rng.integers(0, 4))  # the same call again: doors opened a second time
        ids = rng.permutation(n)[: int(rng.integers(0, n))].astype(np.int64)
        leg = rng.integers(0, rec.leg_count[ids])
        rounds.append((call, 1000.0 + step, ids, leg))
    return rec, rounds


def _by_hand(rec, rounds):
    n = len(rec.leg_base)
    count, last_call, first_t, first_ride = [0] * n, [-1] * n, {}, {}
    for call, t, ids, leg in rounds:
        for c, s in zip(ids.tolist(), (rec.leg_base[ids] + leg).tolist()):
            if last_call[c] == call:
                continue
            count[c] += 1
            last_call[c] = call
            if s not in first_t:
                first_t[s], first_ride[s] = t, float(rec.leg_ride_s[s])
    return count, last_call, first_t, first_ride


def _check(rec, expected) -> None:
    count, last_call, first_t, first_ride = expected
    assert rec.denied.tolist() == count and rec.last_denied_call.tolist() == last_call
    timed = np.flatnonzero(~np.isnan(rec.leg_t_denied)).tolist()
    assert timed == sorted(first_t)
    assert rec.leg_t_denied[timed].tolist() == [first_t[s] for s in timed]
    assert rec.leg_ride_denied_s[timed].tolist() == [first_ride[s] for s in timed]


@pytest.mark.parametrize("seed", range(5))
def test_denials_one_at_a_time_count_once_per_call_and_the_first_on_a_leg_is_timed(seed):
    rec, rounds = _denials(seed)
    expected = _by_hand(rec, rounds)
    for call, t, ids, leg in rounds:
        rec.call_t_boarding[call] = t
        rec.leg_t_alight[:] = np.nan
        for c, k in zip(ids.tolist(), leg.tolist()):  # each waits for its first leg not alighted from
            rec.leg_t_alight[rec.leg_base[c]: rec.leg_base[c] + k] = 0.0
        for c in ids.tolist():
            rec.deny(c, call)
    _check(rec, expected)
