"""Array helpers shared across layers."""

from __future__ import annotations

import numpy as np
import pandas as pd

DENSE_SPAN = 4
"""unique_inverse marks the values in a table of their span when it is at most this many times their
number (else, and for uint64, it hashes them)."""


def unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(values, return_inverse=True) for a 1-d integer array: the sorted distinct values
    and each value's index among them (int64), without sorting the values. Values spanning at most
    DENSE_SPAN times their number (codes of OD pairs, routes, stations) are marked in a table of the
    span, whose running count numbers them; wider ones are numbered by hashing (pandas.factorize) and
    only the distinct ones sorted. On millions of commuters sharing far fewer values, either is
    several times faster than sorting them all."""
    values = np.asarray(values)
    low = int(values.min()) if len(values) else 0
    if len(values) and values.dtype != np.uint64 and int(values.max()) - low < DENSE_SPAN * len(values):
        # in 64 bits: the span of narrow values overflows their own type (int8: -128 .. 127)
        offset = values.astype(np.int64, copy=False) - low
        seen = np.zeros(int(offset.max()) + 1, dtype=bool)
        seen[offset] = True
        rank = np.cumsum(seen, dtype=np.int64) - 1
        return (np.flatnonzero(seen) + low).astype(values.dtype), rank[offset]
    codes, uniq = pd.factorize(values)
    order = np.argsort(uniq)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return np.asarray(uniq)[order], rank[codes]


def index_dtype(n: int) -> type[np.signedinteger]:
    """The narrowest of int32 and int64 that numbers `n` things (0 .. n - 1) and their count."""
    return np.int32 if n < 2**31 else np.int64


def with_room(matrix: np.ndarray, rows: int, width: int, fill: float) -> np.ndarray:
    """`matrix` (2-d) itself when it has at least `rows` rows and `width` columns, else a copy grown
    to them (its rows doubled until there are enough; the new cells hold `fill`): arrays appended
    to row by row stay linear in what they hold."""
    size, old_width = matrix.shape
    if rows <= size and width <= old_width:
        return matrix
    while size < rows:
        size *= 2
    grown = np.full((size, max(width, old_width)), fill, dtype=matrix.dtype)
    grown[: matrix.shape[0], :old_width] = matrix
    return grown


def grown(array: np.ndarray, used: int, need: int) -> np.ndarray:
    """`array` itself when it holds at least `need` items, else a new one of at least twice its
    length with its first `used` items copied (the rest not written: memory the process does not
    touch is not taken from the machine until it is used)."""
    if need <= len(array):
        return array
    out = np.empty(max(need, 2 * len(array), 16), dtype=array.dtype)
    out[:used] = array[:used]
    return out
