"""How the bulk engine splits a batch by its targets (engine.bulk._groups) against the plain rule."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.bulk import _groups


@pytest.mark.parametrize("seed", range(5))
def test_a_batch_splits_into_its_targets_ascending_each_in_batch_order(seed):
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 1 + 3 * seed, int(rng.integers(1, 300))).astype(np.int32)
    got = [(key, np.arange(len(keys))[sel].tolist()) for key, sel in _groups(keys)]
    want = [(int(k), np.flatnonzero(keys == k).tolist()) for k in sorted(set(keys.tolist()))]
    assert got == want
    assert all(isinstance(key, int) for key, _ in got)


def test_an_empty_batch_has_no_groups():
    assert list(_groups(np.zeros(0, dtype=np.int32))) == []
