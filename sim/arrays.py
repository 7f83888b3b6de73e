"""Array helpers shared across layers."""

from __future__ import annotations

import numpy as np
import pandas as pd


def unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(values, return_inverse=True) for a 1-d integer array: the sorted distinct values
    and each value's index among them (int64). The values are numbered by hashing
    (pandas.factorize) and only the distinct ones sorted: on millions of commuters sharing far fewer
    values, several times faster than sorting them all."""
    codes, uniq = pd.factorize(np.asarray(values))
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
