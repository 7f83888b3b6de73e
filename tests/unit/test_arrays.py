"""sim.arrays: unique_inverse gives what np.unique(values, return_inverse=True) gives; grown makes room."""

from __future__ import annotations

import numpy as np
import pytest

from sim.arrays import grown, unique_inverse


# dense spans (marked in a table) and wide ones (hashed), negative values, one value, none
@pytest.mark.parametrize("n, high", [(0, 3), (1, 3), (50, 3), (1000, 40), (1000, 2000), (1000, 2001), (1000, 10**15)])
def test_same_as_numpy_unique(n, high):
    values = np.random.default_rng(n).integers(-high, high, n)
    uniq, inverse = unique_inverse(values)
    want_uniq, want_inverse = np.unique(values, return_inverse=True)
    assert uniq.tolist() == want_uniq.tolist()
    assert inverse.tolist() == want_inverse.tolist()
    assert inverse.dtype == np.int64 and uniq.dtype == values.dtype


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint64])
def test_same_dtypes_and_numbers_as_numpy_unique(dtype):
    info = np.iinfo(dtype)
    values = np.asarray([info.max, info.min, info.max, 0, 1, info.min], dtype=dtype)
    if info.max < 2**15:  # spans of 8 and 16 bits marked in a table (many values), others hashed
        values = np.tile(values, 2**15)
    uniq, inverse = unique_inverse(values)
    want_uniq, want_inverse = np.unique(values, return_inverse=True)
    assert uniq.dtype == want_uniq.dtype and uniq.tolist() == want_uniq.tolist()
    assert inverse.tolist() == want_inverse.tolist()


def test_grown_keeps_the_used_items_and_at_least_doubles():
    a = np.arange(10, dtype=np.int32)
    assert grown(a, 6, 10) is a  # room enough: the array itself
    b = grown(a, 6, 11)
    assert b.dtype == np.int32 and len(b) == 20 and b[:6].tolist() == list(range(6))
    assert len(grown(a, 10, 100)) == 100
    assert len(grown(np.zeros(0), 0, 1)) == 16
