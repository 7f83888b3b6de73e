"""The planned legs from a step of an itinerary (engine.itinerary._legs_from) against a walk along
its steps: the legs of the RIDE steps up to the first step that is neither a RIDE nor a FACILITY."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.itinerary import _legs_from
from sim.plan import STEP_END, STEP_FACILITY, STEP_LEAVE, STEP_RIDE


@pytest.mark.parametrize("seed", range(4))
def test_the_legs_from_each_step_are_its_rides_to_the_end(seed):
    rng = np.random.default_rng(seed)
    # itineraries of 0-6 facility and ride steps each, ended by END or LEAVE
    kinds: list[int] = []
    for _ in range(60):
        kinds += rng.choice([STEP_FACILITY, STEP_RIDE], int(rng.integers(0, 7))).tolist()
        kinds.append(int(rng.choice([STEP_END, STEP_LEAVE])))
    kind = np.asarray(kinds, dtype=np.int8)
    leg = np.where(kind == STEP_RIDE, rng.integers(0, 1000, len(kind)), -1).astype(np.int32)
    ptrs = rng.integers(0, len(kind), 40).astype(np.int64)
    legs, bounds = _legs_from(kind, leg, ptrs)
    for i, p in enumerate(ptrs.tolist()):
        want = []
        while kind[p] in (STEP_FACILITY, STEP_RIDE):
            if kind[p] == STEP_RIDE:
                want.append(int(leg[p]))
            p += 1
        assert legs[bounds[i]: bounds[i + 1]].tolist() == want
    assert bounds[0] == 0 and bounds[-1] == len(legs) and (np.diff(bounds) >= 0).all()
