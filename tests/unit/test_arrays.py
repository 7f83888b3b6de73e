"""sim.arrays.unique_inverse gives what np.unique(values, return_inverse=True) gives."""

from __future__ import annotations

import numpy as np
import pytest

from sim.arrays import unique_inverse


@pytest.mark.parametrize("n, high", [(0, 3), (1, 3), (50, 3), (1000, 40), (1000, 10**15)])
def test_same_as_numpy_unique(n, high):
    values = np.random.default_rng(n).integers(-high, high, n)
    uniq, inverse = unique_inverse(values)
    want_uniq, want_inverse = np.unique(values, return_inverse=True)
    assert uniq.tolist() == want_uniq.tolist()
    assert inverse.tolist() == want_inverse.tolist()
    assert inverse.dtype == np.int64
