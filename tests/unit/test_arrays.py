"""sim.arrays: unique_inverse gives what np.unique(values, return_inverse=True) gives; grown makes
room; run_sum adds as numpy adds a run."""

from __future__ import annotations

import numpy as np
import pytest

from sim.arrays import grown, run_sum, unique_inverse


@pytest.mark.parametrize("n, high", [(0, 3), (1, 3), (50, 3), (1000, 40), (1000, 10**15)])
def test_same_as_numpy_unique(n, high):
    values = np.random.default_rng(n).integers(-high, high, n)
    uniq, inverse = unique_inverse(values)
    want_uniq, want_inverse = np.unique(values, return_inverse=True)
    assert uniq.tolist() == want_uniq.tolist()
    assert inverse.tolist() == want_inverse.tolist()
    assert inverse.dtype == np.int64


def test_grown_keeps_the_used_items_and_at_least_doubles():
    a = np.arange(10, dtype=np.int32)
    assert grown(a, 6, 10) is a  # room enough: the array itself
    b = grown(a, 6, 11)
    assert b.dtype == np.int32 and len(b) == 20 and b[:6].tolist() == list(range(6))
    assert len(grown(a, 10, 100)) == 100
    assert len(grown(np.zeros(0), 0, 1)) == 16


def test_run_sum_adds_as_numpy_adds_a_run():
    # to the bit, for runs of every length up to past the 128 where numpy's pairwise sum splits in halves
    rng = np.random.default_rng(3)
    for n in [*range(1, 140), 257, 1000, 4099]:
        values = rng.random(n + 3) * 10.0 ** rng.integers(-3, 4, n + 3)
        assert run_sum(values, 2, n) == np.add.reduceat(values[2: 2 + n], [0])[0], n
