"""Rail options of decisions on the way as rows of arrays: one row per (route, platform, destination,
medium), holding what of its generalised cost does not depend on the time, built for many at once.

A city's day takes millions of decisions in hundreds of thousands of new situations; their options
are a few routes each, mostly the same routes in other places and bands. Routes are numbered once
(RouteIds) and their rows built from arrays (OptionRows), so that a new situation costs a lookup
per option rather than Python work per route and per leg.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numba import types
from numba.typed import Dict

from .arrays import with_room
from .departures import Departures
from .fares import FareSystem, leg_fares
from .network import Network
from .routing import Access, LegNetwork


@dataclass(frozen=True)
class Rows:
    """Rail options as rows: what of their cost does not depend on the time."""

    keys: np.ndarray  # int64 [row, leg]: departure-board key index of each leg, -1 past the last
    walk_before: np.ndarray  # float64 [row, leg]: walk (s, with mean service) before each leg
    walk_after: np.ndarray  # float64: out of the last station and on to the destination (s)
    boardings: np.ndarray  # float64: boardings after the first, and one for a first on another platform
    fare: np.ndarray  # float64: CNY
    same_platform: np.ndarray  # bool: the first leg leaves from the platform where the commuter stands


class Growing:
    """A 1-d array grown by doubling, appended to in blocks; `values[:n]` in use."""

    def __init__(self, dtype: type = np.int64, fill: float = 0) -> None:
        self.n = 0
        self.fill = fill
        self.values: np.ndarray = np.full(64, fill, dtype=dtype)

    def extend(self, block: np.ndarray) -> int:
        """Append `block`; the index of its first value."""
        lo, hi = self.n, self.n + len(block)
        self.reserve(hi)
        self.values[lo:hi] = block
        self.n = hi
        return lo

    def reserve(self, size: int) -> None:
        """Room for `size` values, those added holding `fill` (OptionRows' fares write by index, not
        through extend)."""
        if size > len(self.values):
            grown = len(self.values)
            while grown < size:
                grown *= 2
            self.values = np.concatenate([self.values, np.full(grown - len(self.values), self.fill,
                                                               dtype=self.values.dtype)])


class RouteIds:
    """Routes (tuples of leg options of the whole network) numbered in the order first met, with their
    legs as a matrix (-1 past the last leg)."""

    def __init__(self, width: int) -> None:
        self.legs_of: list[tuple[int, ...]] = []
        self._id: dict[tuple[int, ...], int] = {}
        self.matrix = np.full((64, width), -1, dtype=np.int64)

    def id_of(self, legs: tuple[int, ...]) -> int:
        """The id of the route riding `legs`, numbered when first met."""
        number = self._id.get(legs)
        if number is None:
            number = self._id[legs] = len(self.legs_of)
            self.legs_of.append(legs)
            self.matrix = with_room(self.matrix, number + 1, len(legs), -1)
            self.matrix[number, : len(legs)] = legs
        return number


class _RowBook:
    """Every row built so far, in one set of arrays grown by doubling, so that the rows of a
    decision are one fancy index away."""

    def __init__(self, width: int) -> None:
        self.n = 0
        self.rows = Rows(np.full((64, width), -1, dtype=np.int64), np.zeros((64, width)), np.zeros(64), np.zeros(64),
                         np.zeros(64), np.zeros(64, dtype=bool))

    def add(self, rows: Rows) -> int:
        """Keep `rows`; the index of the first."""
        lo, hi = self.n, self.n + len(rows.fare)
        old = self.rows
        keys = with_room(old.keys, hi, rows.keys.shape[1], -1)
        if keys is not old.keys:  # grown: the other fields to as many rows
            size = len(keys)
            walk = with_room(old.walk_before, size, keys.shape[1], 0.0)
            grown = [with_room(getattr(old, f)[:, None], size, 1, 0)[:, 0]
                     for f in ("walk_after", "boardings", "fare", "same_platform")]
            self.rows = Rows(keys, walk, *grown)
        r = self.rows
        r.keys[lo:hi, : rows.keys.shape[1]] = rows.keys
        r.walk_before[lo:hi, : rows.keys.shape[1]] = rows.walk_before
        for f in ("walk_after", "boardings", "fare", "same_platform"):
            getattr(r, f)[lo:hi] = getattr(rows, f)
        self.n = hi
        return lo

    def take(self, idx: np.ndarray) -> Rows:
        r = self.rows
        return Rows(r.keys[idx], r.walk_before[idx], r.walk_after[idx], r.boardings[idx], r.fare[idx],
                    r.same_platform[idx])


class OptionRows:
    """The rows of rail options (route, platform where the commuter stands, destination, medium
    code), each built once when first asked: the departure-board key of each leg, the walks (s, with
    mean service) from the platform to the first leg (none on its platform; the station's own
    transfer walk at its station, else the change from there) and between legs, the walk out of the
    last station and on to the destination, the boardings after the first (one more for a first
    boarding on another platform) and the fare (CNY) of the route with that medium."""

    def __init__(self, network: Network, legs: LegNetwork, access: Access, board: Departures, routes: RouteIds,
                 fares: FareSystem) -> None:
        self.legs, self.routes, self.fares = legs, routes, fares
        n_st, n_media = len(network.stations), len(access.media)
        self._radix = (len(network.platforms), n_st, n_media)
        self._platform_station = network.platform_stations()
        self._leg_key = board.key_index(legs.platform, legs.alight)
        self._exit_walk = np.asarray(access.exit_walk, dtype=np.float64)
        self._transfer_walk = np.asarray(access.transfer_walk, dtype=np.float64)
        self._change_walk = np.full((n_st, n_st, n_media), np.inf)
        """Walk plus mean service (s) between two stations of an interchange, per medium (inf: no path)."""
        self._street_walk = np.zeros((n_st, n_st))
        for a, b in network.transfers:
            self._change_walk[a, b] = access.change_walk(a, b)
            self._street_walk[a, b] = access.street_walk[(a, b)]
        self._fare = Growing(np.float64, np.nan)
        """Fare (CNY) per route and medium code (route * n_media + medium; NaN: not priced yet)."""
        self._row_of = Dict.empty(types.int64, types.int64)
        """Row code (see rows) -> index in `_book` (a compiled dict: looked up many at a time)."""
        self._book = _RowBook(routes.matrix.shape[1])

    def rows(self, route: np.ndarray, platform: np.ndarray, dest: np.ndarray, medium: np.ndarray) -> np.ndarray:
        """The row index of each option (route ids, int64 arrays), the new ones built in one go."""
        n_pl, n_st, n_media = self._radix
        code = ((route * n_pl + platform) * n_st + dest) * n_media + medium
        row = look_up(self._row_of, code)
        new = np.flatnonzero(row < 0)
        if len(new):
            codes, first = np.unique(code[new], return_index=True)
            at = new[first]
            lo = self._book.add(self._built(route[at], platform[at], dest[at], medium[at]))
            number(self._row_of, codes, lo)
            row[new] = look_up(self._row_of, code[new])
        return row

    def take(self, idx: np.ndarray) -> Rows:
        """The rows at indices `idx` (see rows)."""
        return self._book.take(idx)

    def _built(self, route: np.ndarray, platform: np.ndarray, dest: np.ndarray, medium: np.ndarray) -> Rows:
        """New rows (see the class)."""
        legs = self.routes.matrix[route]
        has = legs >= 0
        safe = np.maximum(legs, 0)
        first, n_legs = legs[:, 0], has.sum(axis=1)
        station = self._platform_station[platform]
        board, alight, on = self.legs.board, self.legs.alight, self.legs.platform
        same = on[first] == platform
        walk = np.zeros(legs.shape)
        walk[:, 0] = np.where(same, 0.0, np.where(station == board[first], self._transfer_walk[station],
                                                  self._change_walk[station, board[first], medium]))
        at, to = alight[safe[:, :-1]], board[safe[:, 1:]]
        between = np.where(at == to, self._transfer_walk[at], self._change_walk[at, to, medium[:, None]])
        walk[:, 1:] = np.where(has[:, 1:], between, 0.0)
        last = alight[legs[np.arange(len(legs)), n_legs - 1]]
        return Rows(np.where(has, self._leg_key[safe], -1), walk, self._exit_walk[last] + self._street_walk[last, dest],
                    (n_legs - 1 + ~same).astype(np.float64), self._fares_of(route, medium), same)

    def _fares_of(self, route: np.ndarray, medium: np.ndarray) -> np.ndarray:
        """Fare (CNY) of each route with each medium code, those not priced yet priced in one go."""
        n_media = self._radix[2]
        pair = route * n_media + medium
        self._fare.reserve(int(pair.max()) + 1)
        fare = self._fare.values
        new = np.unique(pair[np.isnan(fare[pair])])
        if len(new):
            matrix = self.routes.matrix[new // n_media]
            width = max(1, int((matrix >= 0).sum(axis=1).max()))
            fare[new] = leg_fares(self.legs, self.fares, matrix[:, :width], new % n_media).sum(axis=1)
        return fare[pair]


@numba.njit(cache=True, nogil=True)
def look_up(table, codes: np.ndarray) -> np.ndarray:
    """The value of each of `codes` in the compiled dict `table` (int64 -> int64), -1 where missing."""
    # compiled: a dict lookup per code from Python costs about as much as the rest of a decision
    out = np.empty(len(codes), dtype=np.int64)
    for i in range(len(codes)):
        out[i] = table.get(codes[i], -1)
    return out


@numba.njit(cache=True, nogil=True)
def enter(table, codes: np.ndarray, values: np.ndarray) -> None:
    """Enter `codes` in the compiled dict `table` with their `values`."""
    for i in range(len(codes)):
        table[codes[i]] = values[i]


@numba.njit(cache=True, nogil=True)
def number(table, codes: np.ndarray, first: int) -> None:
    """Enter `codes` in the compiled dict `table`, numbered from `first` in order."""
    for i in range(len(codes)):
        table[codes[i]] = first + i
