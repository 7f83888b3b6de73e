"""The compiled FIFO server loop (engine.queues.serve_fifo) against the loop written plainly."""

from __future__ import annotations

import heapq

import numpy as np
import pytest

from sim.engine.queues import serve_fifo


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
