"""The compiled loops of the bulk engine's queues (engine.queues) against the rules written plainly."""

from __future__ import annotations

import heapq

import numpy as np
import pytest

from sim.engine.queues import PlatformQueue, serve_fifo


def plain_fifo(servers: int, arrive: list[float], service: list[float]) -> tuple[list[float], list[float]]:
    """Each commuter in turn takes the earliest free server: start = max(arrival, that server's free time)."""
    free = [-np.inf] * servers
    starts, ends = [], []
    for a, s in zip(arrive, service):
        start = max(a, free[0])
        heapq.heapreplace(free, start + s)
        starts.append(start)
        ends.append(start + s)
    return starts, ends


@pytest.mark.parametrize("servers", [1, 2, 3, 7, 12])
def test_serve_fifo_is_the_plain_loop_bit_for_bit(servers):
    rng = np.random.default_rng(servers)
    free = np.full(servers, -np.inf)
    done_a: list[float] = []
    done_s: list[float] = []
    for batch in range(5):  # the heap carries over between batches, as between calls of the engine
        n = int(rng.integers(0, 400))
        arrive = np.sort(batch * 500.0 + rng.exponential(1.3, n).cumsum().round(1))  # ties included
        service = rng.exponential(2.0 * servers, n)
        start, end = serve_fifo(free, arrive, service)
        done_a += arrive.tolist()
        done_s += service.tolist()
        want_start, want_end = plain_fifo(servers, done_a, done_s)
        assert start.tolist() == want_start[len(done_a) - n:]
        assert end.tolist() == want_end[len(done_a) - n:]
    assert sorted(free.tolist()) == sorted(plain_free(servers, done_a, done_s))


def plain_free(servers: int, arrive: list[float], service: list[float]) -> list[float]:
    free = [-np.inf] * servers
    for a, s in zip(arrive, service):
        heapq.heapreplace(free, max(a, free[0]) + s)
    return free


def test_serve_fifo_of_nobody_changes_nothing():
    free = np.asarray([3.0, 5.0])
    start, end = serve_fifo(free, np.zeros(0), np.zeros(0))
    assert len(start) == len(end) == 0 and free.tolist() == [3.0, 5.0]


def plain_board(queue: list[tuple[float, int, int]], until: float, pos: int, stop_pos: list[int], room: int,
                last: int, let_go: set[int], only: set[int] | None):
    """PlatformQueue.board's rule read one commuter at a time, in queue order: (boarded, their
    stations, denied, shown short, the queue left)."""
    boarded, stations, denied, short, left = [], [], [], [], []
    for t, c, a in queue:
        eligible = t <= until and (only is None or c in only)
        if eligible and stop_pos[a] > max(pos, last):
            short.append(c)
        if eligible and pos < stop_pos[a] <= last and a not in let_go:
            if len(boarded) < room:
                boarded.append(c)
                stations.append(a)
                continue
            denied.append(c)
        left.append((t, c, a))
    return boarded, stations, denied, short, left


@pytest.mark.parametrize("seed", range(8))
def test_boarding_is_the_rule_read_one_commuter_at_a_time(seed):
    rng = np.random.default_rng(seed)
    n_stations = 9
    queue = PlatformQueue()
    mine: list[tuple[float, int, int]] = []
    next_id = 0
    for call in range(6):  # the queue carries over between trains; some arrive after the doors close
        n = int(rng.integers(0, 60))
        t = np.round(call * 60.0 + rng.uniform(-30, 90, n))
        ids = np.arange(next_id, next_id + n, dtype=np.int64)
        next_id += n
        alight = rng.integers(0, n_stations, n).astype(np.int32)
        queue.push(t, ids, alight)
        mine = sorted(mine + list(zip(t.tolist(), ids.tolist(), alight.tolist())))
        stop_pos = rng.permutation(n_stations) - 1  # -1: not served
        pos, last = int(rng.integers(-1, 4)), int(rng.integers(3, n_stations))
        room = int(rng.integers(0, 30))
        let_go = set(rng.choice(n_stations, int(rng.integers(0, 3)), replace=False).tolist())
        only = set(rng.choice(max(next_id, 1), next_id // 2).tolist()) if call % 3 == 2 else None
        got = queue.board(call * 60.0, pos, stop_pos, room, last, np.asarray(sorted(let_go), dtype=np.int64),
                          None if only is None else np.asarray(sorted(only), dtype=np.int64))
        boarded, stations, denied, short, mine = plain_board(mine, call * 60.0, pos, stop_pos.tolist(), room,
                                                             last, let_go, only)
        assert got[0].tolist() == boarded and got[1].tolist() == stations and got[2].tolist() == denied
        assert queue.shown_short.tolist() == short
        assert list(zip(queue.t.tolist(), queue.c.tolist(), queue.alight.tolist())) == mine
