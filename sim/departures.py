"""The departure board: the trains the engines run, by leg (boarding platform, alighting station).

For each stop call c of a train (but its last) and each station s that riders boarding there may ride
to (a stop after c's position, up to the call's `call_serves_to`), one *departure*: the call's
timetabled departure (s) and the train's timetabled arrival at s (NaN where the run ends before s:
its riders are put off at the end). Departures are grouped by leg key `platform * n_stations + s`
and, within a key, ordered by departure time (ties: call index).

Decisions on the way read it: how many trains may still carry a commuter waiting for a leg (the
engines count them down as trains leave), the next train after a time, and whether a later train
gets a commuter to their station at a lower generalised cost than the one at the platform.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numba
import numpy as np

from .timetable import Trains

SPAN_S = float(2**20)
"""Seconds beyond any clock time of a run: departures of all keys sorted as key * SPAN_S + time."""


@numba.njit("i8(f8[:], i8[:], i8, f8, b1)", cache=True, nogil=True)
def first_departure(sort_key: np.ndarray, start: np.ndarray, k: int, t: float, strict: bool) -> int:
    """Row of the first departure of key index k at or after t (s; after t when `strict`) on a board's
    `sort_key` and `start` (Departures); -1 where none is left. The one search of the departure
    board: Departures.next_after and the decision hook's pricing (sim.replan) both call it."""
    query = k * SPAN_S + t
    lo, hi = start[k], start[k + 1]
    while lo < hi:  # binary search within the key's departures, as np.searchsorted would
        mid = (lo + hi) // 2
        if sort_key[mid] < query or (strict and sort_key[mid] == query):
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < start[k + 1] else -1


@numba.njit("i8[:](f8[:], i8[:], i8[:], f8[:], b1[:])", cache=True, nogil=True)
def _first_departures(sort_key: np.ndarray, start: np.ndarray, key: np.ndarray, t: np.ndarray,
                      strict: np.ndarray) -> np.ndarray:
    """first_departure of each (key, t, strict); -1 also where the key is -1."""
    out = np.full(len(key), -1, dtype=np.int64)
    for i in range(len(key)):
        if key[i] >= 0:
            out[i] = first_departure(sort_key, start, key[i], t[i], strict[i])
    return out


@dataclass(frozen=True)
class Departures:
    n_stations: int
    keys: np.ndarray  # int64, sorted distinct leg keys with at least one departure
    start: np.ndarray  # int64, len(keys) + 1: departures of keys[i] are rows start[i] .. start[i+1]-1
    call: np.ndarray  # int64 per departure: the train call
    dep: np.ndarray  # float64 per departure: timetabled departure (s)
    arr: np.ndarray  # float64 per departure: timetabled arrival at the alighting station (s), NaN if put off before
    key_of: np.ndarray  # int64 per departure: its index in `keys`
    call_rows: np.ndarray  # int64: departure rows of each call, grouped by call
    call_row_start: np.ndarray  # int64, n_calls + 1
    sort_key: np.ndarray  # float64 per departure: key index * SPAN_S + departure, ascending

    def key_index(self, platform: np.ndarray, station: np.ndarray) -> np.ndarray:
        """Index in `keys` of each (platform, alighting station); -1 where no train carries it."""
        key = np.asarray(platform, dtype=np.int64) * self.n_stations + np.asarray(station, dtype=np.int64)
        table = self._key_table
        inside = key < len(table)
        return np.where(inside, table[np.where(inside, key, 0)], -1)

    def none_left(self, platform: np.ndarray, station: np.ndarray, remaining: np.ndarray) -> np.ndarray:
        """Whether no train is left to carry riders on each `platform` to `station` (bool): none
        carries it, or its countdown `remaining` (per key, see counts) is 0."""
        return _none_left(np.asarray(platform, dtype=np.int64), np.asarray(station, dtype=np.int64), self.n_stations,
                          self._key_table, remaining)

    @cached_property
    def _key_table(self) -> np.ndarray:
        """Per leg key (platform * n_stations + station) up to the largest with a departure: its index
        in `keys`, -1 for none (a table the size of LegNetwork.leg_table at most). The engines look
        keys up at every train call: a search of the sorted keys cost seconds of a city's day."""
        table = np.full(int(self.keys[-1]) + 1 if len(self.keys) else 1, -1, dtype=np.int64)
        table[self.keys] = np.arange(len(self.keys))
        return table

    def counts(self) -> np.ndarray:
        """Number of departures of each key (int64), the engines' countdown of trains to come."""
        return np.diff(self.start)

    def count_off(self, call: int, remaining: np.ndarray) -> np.ndarray:
        """Train call `call` has left: the countdown `remaining` (per key, see counts) of each key it
        carries riders for goes down by one, in place; returns the alighting stations of the keys
        left with none."""
        return _count_off(self.call_rows, self.call_row_start, self.key_of, self.keys, remaining, call,
                          self.n_stations)

    def keys_of_call(self, call: int) -> np.ndarray:
        """Key indices the train call carries riders for."""
        return self.key_of[self.call_rows[self.call_row_start[call]: self.call_row_start[call + 1]]]

    def next_after(self, key: np.ndarray, t: np.ndarray,
                   strictly: bool | np.ndarray = False) -> tuple[np.ndarray, np.ndarray]:
        """Timetabled (departure, arrival) of the first departure of each key at or after t (after
        t when `strictly`: for all, or where a bool per key says so); (inf, inf) where none is left
        or the key is -1."""
        key = np.ascontiguousarray(key, dtype=np.int64)
        if not len(self.sort_key):
            return np.full(key.shape, np.inf), np.full(key.shape, np.inf)
        # copies (astype): a broadcast view is read-only, which the compiled search does not take
        t = np.broadcast_to(np.asarray(t, dtype=float), key.shape).astype(np.float64)
        strict = np.broadcast_to(np.asarray(strictly, dtype=bool), key.shape).astype(np.bool_)
        idx = _first_departures(self.sort_key, self.start, key, t, strict)
        found = idx >= 0
        rows = np.where(found, idx, 0)
        arr = self.arr[rows]
        return np.where(found, self.dep[rows], np.inf), np.where(found & ~np.isnan(arr), arr, np.inf)

    def later_is_better(self, call: int, t: float, keys: np.ndarray, wait_weight: float) -> np.ndarray:
        """For riders at train call `call` at time t (s) waiting for leg keys `keys` (indices, each
        carried by the call): whether a later train of the same key gets them to their station at a
        lower generalised cost (wait_weight * wait + time aboard, timetabled times) than this one."""
        rows = self.call_rows[self.call_row_start[call]: self.call_row_start[call + 1]]
        own = dict(zip(self.key_of[rows].tolist(), rows.tolist()))
        out = np.zeros(len(keys), dtype=bool)
        for n, k in enumerate(np.asarray(keys).tolist()):
            r = own[k]
            if np.isnan(self.arr[r]):
                continue
            later = slice(r + 1, int(self.start[k + 1]))
            cost = wait_weight * (self.dep[later] - t) + (self.arr[later] - self.dep[later])
            cost = cost[~np.isnan(cost)]
            out[n] = len(cost) > 0 and float(cost.min()) < self.arr[r] - self.dep[r]
        return out


def build_departures(trains: Trains, stop_pos: np.ndarray, n_stations: int) -> Departures:
    """The departure board of `trains` (`stop_pos`: [pattern, station] -> stop position, -1)."""
    calls, stations, arrivals = [], [], []
    for k in range(trains.n_trains):
        lo, hi = int(trains.call_start[k]), int(trains.call_start[k + 1])
        pos = stop_pos[trains.pattern[k]]
        served = np.flatnonzero(pos >= 0)
        served = served[np.argsort(pos[served])]
        served_pos = pos[served]
        stops = lo + np.flatnonzero(trains.call_stop[lo:hi])
        arr_at = np.full(n_stations, np.nan)
        arr_at[trains.call_station[stops]] = trains.call_t_arr[stops]
        for c in stops[:-1].tolist():
            seq, last = int(trains.call_seq[c]), int(trains.call_serves_to[c])
            s = served[(served_pos > seq) & (served_pos <= last)]
            calls.append(np.full(len(s), c, dtype=np.int64))
            stations.append(s.astype(np.int64))
            arrivals.append(arr_at[s])
    call = np.concatenate(calls) if calls else np.zeros(0, dtype=np.int64)
    station = np.concatenate(stations) if stations else np.zeros(0, dtype=np.int64)
    arr = np.concatenate(arrivals) if arrivals else np.zeros(0)
    dep = trains.call_t_dep[call]
    key = trains.call_platform[call].astype(np.int64) * n_stations + station
    order = np.lexsort((call, dep, key))
    call, dep, arr, key = call[order], dep[order], arr[order], key[order]
    keys, first = np.unique(key, return_index=True)
    start = np.append(first, len(key)).astype(np.int64)
    key_of = np.repeat(np.arange(len(keys), dtype=np.int64), np.diff(start))
    by_call = np.argsort(call, kind="stable")
    n_calls = len(trains.call_station)
    call_row_start = np.concatenate([[0], np.cumsum(np.bincount(call, minlength=n_calls))]).astype(np.int64)
    return Departures(n_stations, keys, start, call, dep, arr, key_of, by_call.astype(np.int64), call_row_start,
                      key_of * SPAN_S + dep)


@numba.njit(cache=True, nogil=True)
def _none_left(platform: np.ndarray, station: np.ndarray, n_stations: int, table: np.ndarray,
               remaining: np.ndarray) -> np.ndarray:
    """Departures.none_left, given its key table."""
    # compiled: the engine asks for every batch reaching platforms; as array operations, a dozen per batch
    out = np.empty(len(platform), dtype=np.bool_)
    for i in range(len(platform)):
        key = platform[i] * n_stations + station[i]
        k = table[key] if key < len(table) else -1
        out[i] = k < 0 or remaining[k] == 0
    return out


@numba.njit(cache=True, nogil=True)
def _count_off(call_rows: np.ndarray, call_row_start: np.ndarray, key_of: np.ndarray, keys: np.ndarray,
               remaining: np.ndarray, call: int, n_stations: int) -> np.ndarray:
    """Departures.count_off (a call's keys are distinct: one per station it serves on)."""
    # compiled: at every call of the day's trains; half a dozen small array operations otherwise
    lo, hi = call_row_start[call], call_row_start[call + 1]
    out = np.empty(hi - lo, dtype=np.int64)
    n = 0
    for i in range(lo, hi):
        k = key_of[call_rows[i]]
        remaining[k] -= 1
        if remaining[k] == 0:
            out[n] = keys[k] % n_stations
            n += 1
    return out[:n]
