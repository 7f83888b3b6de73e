"""sim.arrays: unique_inverse gives what np.unique(values, return_inverse=True) gives; grown makes room."""

from __future__ import annotations

import numpy as np
import pytest

from sim.arrays import grown, unique_inverse


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
