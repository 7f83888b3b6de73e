"""The compiled loops of the decision hook (sim.replan) against the array code they stand for: the
waits and rides to the next trains (and Departures.next_after) against a search of the whole board
by np.searchsorted, the logit draw, and the options of new situations."""

from __future__ import annotations

import numpy as np
import pytest

from sim.choice import draw_columns
from sim.departures import SPAN_S, Departures
from sim.replan import _options, _waits_and_rides


def _board(rng: np.random.Generator, n_keys: int) -> Departures:
    """A board of n_keys keys with 0..6 departures each (ties included), some put off (NaN arrival)."""
    counts = rng.integers(0, 7, n_keys)
    start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    key_of = np.repeat(np.arange(n_keys), counts)
    dep = np.concatenate([np.sort(rng.choice(np.arange(0.0, 600.0, 30.0), c)) for c in counts])
    arr = dep + rng.uniform(60, 300, len(dep))
    arr[rng.random(len(dep)) < 0.1] = np.nan
    n = len(dep)
    return Departures(n_stations=1, keys=np.arange(n_keys, dtype=np.int64), start=start, call=np.zeros(n, dtype=np.int64),
                      dep=dep, arr=arr, key_of=key_of, call_rows=np.zeros(0, dtype=np.int64),
                      call_row_start=np.zeros(1, dtype=np.int64), sort_key=key_of * SPAN_S + dep)


def _next(board: Departures, key: int, t: float, strict: bool) -> tuple[float, float]:
    """The next departure and arrival of key index `key` at or after t (after t when strict) by
    np.searchsorted over the whole board; (inf, inf) where none is left, an arrival of inf where the
    train's run ends before the station."""
    if key < 0:
        return np.inf, np.inf
    i = int(np.searchsorted(board.sort_key, key * SPAN_S + t, side="right" if strict else "left"))
    if i >= board.start[key + 1]:
        return np.inf, np.inf
    return float(board.dep[i]), np.inf if np.isnan(board.arr[i]) else float(board.arr[i])


def _by_next_after(board: Departures, believed: Departures, believed_key: np.ndarray, keys: np.ndarray,
                   walk: np.ndarray, t: np.ndarray, strict: np.ndarray, believe: np.ndarray, left: np.ndarray):
    """Waits, rides and whether every leg found a train, one row at a time, by `_next` and by
    Departures.next_after (which must agree)."""
    waits, rides, found = np.zeros(len(t)), np.zeros(len(t)), np.ones(len(t), dtype=bool)
    for i in range(len(t)):
        tau = t[i]
        for j in np.flatnonzero(keys[i] >= 0).tolist():
            tau += walk[i, j]
            key, on = int(keys[i, j]), board
            if believe[i]:
                key, on = int(believed_key[key]), believed
            dep, arr = _next(on, key, tau, bool(j == 0 and strict[i]))
            got = on.next_after(np.asarray([key]), np.asarray([tau]), bool(j == 0 and strict[i]))
            assert (float(got[0][0]), float(got[1][0])) == (dep, arr)
            if left[int(keys[i, j])] == 0 or not np.isfinite(arr):
                found[i] = False
                break
            waits[i] += dep - tau
            rides[i] += arr - dep
            tau = arr
    return waits, rides, found


@pytest.mark.parametrize("seed", range(6))
def test_waits_and_rides_are_those_of_next_after(seed):
    rng = np.random.default_rng(seed)
    board, believed = _board(rng, 12), _board(rng, 12)
    believed_key = rng.integers(-1, 12, 12)
    n, width = 300, 3
    keys = rng.integers(0, 12, (n, width))
    legs = rng.integers(1, width + 1, n)
    keys[np.arange(width) >= legs[:, None]] = -1
    walk = np.where(keys >= 0, rng.choice([0.0, 30.0, 45.5], (n, width)), 0.0)
    t = rng.choice(np.arange(0.0, 700.0, 15.0), n)  # on the departures' grid: ties with a departure
    strict, believe = rng.random(n) < 0.5, rng.random(n) < 0.3
    left = rng.integers(0, 3, 12)
    waits, rides = np.zeros(n), np.zeros(n)
    found = _waits_and_rides(keys, walk, t, strict, believe, left, board.sort_key, board.start, board.dep, board.arr,
                             believed.sort_key, believed.start, believed.dep, believed.arr, believed_key, waits, rides)
    want_waits, want_rides, want_found = _by_next_after(board, believed, believed_key, keys, walk, t, strict,
                                                        believe, left)
    assert found.tolist() == want_found.tolist() and want_found.any() and not want_found.all()
    assert waits[found].tolist() == want_waits[found].tolist()
    assert rides[found].tolist() == want_rides[found].tolist()


@pytest.mark.parametrize("seed", range(4))
def test_the_draw_counts_the_cumulative_probabilities_below_u(seed):
    rng = np.random.default_rng(seed)
    cum = np.cumsum(rng.dirichlet(np.ones(5), 20), axis=1)
    last_feasible = rng.integers(-1, 5, 20)
    group, u = rng.integers(0, 20, 500), rng.random(500)
    want = np.minimum((cum[group] <= u[:, None]).sum(axis=1), last_feasible[group])
    want = np.where(last_feasible[group] < 0, 4, want)
    assert draw_columns(cum, last_feasible, group, u).tolist() == want.tolist()


@pytest.mark.parametrize("seed", range(4))
def test_none_left_is_no_key_or_a_countdown_at_zero(seed):
    # the engines' check of stranded riders: a (platform, station) no train carries, or whose trains have all left
    rng = np.random.default_rng(seed)
    n_stations, n_platforms = 7, 5
    keys = np.sort(rng.choice(n_platforms * n_stations - 3, 12, replace=False)).astype(np.int64)  # the last keys: none
    board = Departures(n_stations=n_stations, keys=keys, start=np.arange(13, dtype=np.int64),
                       call=np.zeros(12, dtype=np.int64), dep=np.zeros(12), arr=np.zeros(12),
                       key_of=np.arange(12, dtype=np.int64), call_rows=np.zeros(0, dtype=np.int64),
                       call_row_start=np.zeros(1, dtype=np.int64), sort_key=np.zeros(12))
    remaining = rng.integers(0, 3, 12).astype(np.int64)
    platform, station = rng.integers(0, n_platforms, 200), rng.integers(0, n_stations, 200)
    key = board.key_index(platform, station)
    want = [k < 0 or remaining[k] == 0 for k in key.tolist()]
    assert board.none_left(platform, station, remaining).tolist() == want
    assert (key < 0).any() and (key >= 0).any()


@pytest.mark.parametrize("seed", range(3))
def test_the_options_of_new_situations_are_the_plan_then_the_other_candidates(seed):
    rng = np.random.default_rng(seed)
    routes = rng.integers(0, 12, 300).astype(np.int64)
    length = rng.integers(0, 6, 60).astype(np.int64)
    start = rng.integers(0, 300 - 6, 60).astype(np.int64)
    mine = np.where(rng.random(60) < 0.3, -1, rng.integers(0, 12, 60)).astype(np.int64)  # -1: without a plan
    size, out = _options(routes, start, length, mine)
    want = [([m] if m >= 0 else []) + [r for r in routes[s: s + n].tolist() if r != m]
            for s, n, m in zip(start.tolist(), length.tolist(), mine.tolist())]
    assert size.tolist() == [len(w) for w in want]
    assert out.tolist() == [r for w in want for r in w]
