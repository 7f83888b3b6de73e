"""Records.deny (compiled) against its rule read one commuter at a time: a denial counts once per
train call, and the first denial on a leg records the call's boarding time and the time aboard
trains cut short so far."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.test_records_relocate import _records


@pytest.mark.parametrize("seed", range(5))
def test_denials_count_once_per_call_and_the_first_on_a_leg_is_timed(seed):
    rng = np.random.default_rng(seed)
    n = 30
    rec = _records(rng.integers(1, 4, n).tolist(), [0] * n)
    rec.leg_ride_s[:] = rng.uniform(0, 100, len(rec.leg_ride_s))
    rec.call_t_boarding = np.full(4, np.nan)  # four train calls
    count, last_call, first_t, first_ride = [0] * n, [-1] * n, {}, {}
    for step in range(12):
        call = int(rng.integers(0, 4))  # the same call again: doors opened a second time
        rec.call_t_boarding[call] = 1000.0 + step
        ids = rng.permutation(n)[: int(rng.integers(0, n))].astype(np.int64)
        ptr = np.zeros(n, dtype=np.int64)  # each waits for a leg of theirs: its number is the ordinal of step ptr
        ptr[ids] = rng.integers(0, rec.leg_count[ids])
        slots = rec.leg_base[ids] + ptr[ids]
        rec.deny(ids, call, (ptr, np.arange(3, dtype=np.int32)))
        for c, s in zip(ids.tolist(), slots.tolist()):
            if last_call[c] == call:
                continue
            count[c] += 1
            last_call[c] = call
            if s not in first_t:
                first_t[s], first_ride[s] = 1000.0 + step, float(rec.leg_ride_s[s])
    assert rec.denied.tolist() == count and rec.last_denied_call.tolist() == last_call
    timed = np.flatnonzero(~np.isnan(rec.leg_t_denied)).tolist()
    assert timed == sorted(first_t)
    assert rec.leg_t_denied[timed].tolist() == [first_t[s] for s in timed]
    assert rec.leg_ride_denied_s[timed].tolist() == [first_ride[s] for s in timed]
