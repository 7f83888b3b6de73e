"""Facility queues: serve_fifo, which serves runs of commuters who find a server free all at once,
gives the times of serving them one after the other, to the bit, and leaves the servers alike."""

from __future__ import annotations

import heapq

import numpy as np
import pytest

from sim.engine.queues import _serve_in_turn, serve_fifo


@pytest.mark.parametrize("servers", [1, 2, 4, 12, 24])
@pytest.mark.parametrize("per_s", [0.05, 1.0, 20.0])  # arrivals per second: from a quiet gate to a long queue
def test_serve_fifo_gives_the_times_of_serving_serve_in_turn(servers, per_s):
    rng = np.random.default_rng(servers * 100 + int(per_s * 10))
    for batch in range(20):
        n = int(rng.integers(0, 800))
        arrive = np.sort(np.round(np.cumsum(rng.exponential(1.0 / per_s, n)), 1)) + 21600.0
        service = rng.exponential(rng.choice([0.5, 2.0, 10.0]), n)
        service[rng.random(n) < 0.05] = 0.0  # a service of no time: a start equal to the arrival of the next
        if batch % 2:
            service = np.round(service)  # whole seconds: ends tie with arrivals
        free = [-np.inf] * servers if batch % 3 == 0 else sorted(rng.choice([-np.inf, 21600.0, 21605.0], servers))
        heapq.heapify(free)
        fast, slow = list(free), list(free)
        start, end = serve_fifo(fast, arrive, service)
        start_1, end_1 = _serve_in_turn(slow, arrive, service)
        assert np.array_equal(start, start_1) and np.array_equal(end, end_1)
        assert sorted(fast) == sorted(slow) and fast[0] == min(fast)


def test_serve_fifo_carries_the_servers_from_one_batch_to_the_next():
    rng = np.random.default_rng(7)
    arrive = np.sort(rng.uniform(0.0, 600.0, 3000))
    service = rng.exponential(2.0, 3000)
    fast, slow = [-np.inf] * 4, [-np.inf] * 4
    for lo, hi in [(0, 10), (10, 1000), (1000, 1001), (1001, 3000)]:
        start, end = serve_fifo(fast, arrive[lo:hi], service[lo:hi])
        start_1, end_1 = _serve_in_turn(slow, arrive[lo:hi], service[lo:hi])
        assert np.array_equal(start, start_1) and np.array_equal(end, end_1)
    assert sorted(fast) == sorted(slow)
