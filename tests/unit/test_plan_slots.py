"""The facility slots of a plan: each commuter's slots take their template's facility steps in order
(plan._slot_facilities), and each facility's service draws reach its slots in slot order
(plan._in_slot_order), as a stable sort of the slots by facility would put them."""

from __future__ import annotations

import numpy as np
import pytest

from sim.plan import _in_slot_order, _slot_facilities


@pytest.mark.parametrize("seed", range(3))
def test_slots_take_their_templates_facilities_in_order(seed):
    rng = np.random.default_rng(seed)
    n_fac_per_template = rng.integers(0, 6, 40)
    template_first = np.concatenate([[0], np.cumsum(n_fac_per_template)])
    template_facilities = rng.integers(0, 30, int(template_first[-1])).astype(np.int32)
    template = rng.integers(0, 40, 500).astype(np.int32)
    fac_offset = np.concatenate([[0], np.cumsum(n_fac_per_template[template])])
    got = _slot_facilities(template_facilities, template_first, template, fac_offset)
    want = [f for t in template.tolist() for f in template_facilities[template_first[t]: template_first[t + 1]].tolist()]
    assert got.dtype == np.int32 and got.tolist() == want


@pytest.mark.parametrize("seed", range(3))
def test_each_facilitys_draws_reach_its_slots_in_slot_order(seed):
    rng = np.random.default_rng(seed)
    n_facilities = 25  # some without a slot
    slot_facility = rng.integers(0, n_facilities - 5, 2000).astype(np.int32)
    count = np.bincount(slot_facility, minlength=n_facilities)
    block = np.concatenate([[0], np.cumsum(count)])
    draws = rng.random(int(block[-1]))
    got = _in_slot_order(slot_facility, block, draws)
    want = np.empty(len(slot_facility))
    order = np.argsort(slot_facility, kind="stable")
    want[order] = draws  # the sorted slots, facility by facility, take the blocks in turn
    assert np.array_equal(got, want)
    assert len(_in_slot_order(np.zeros(0, dtype=np.int32), np.zeros(1, dtype=np.int64), np.zeros(0))) == 0
