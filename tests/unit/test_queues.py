"""The compiled loops of the bulk engine's queues (engine.queues) against the rules written plainly."""

from __future__ import annotations

import heapq

import numpy as np
import pytest

from sim.engine.queues import (
    DenialBook,
    FacilityQueue,
    PlatformQueue,
    _canonical,
    _canonical_order,
    serve_visits,
)


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


def served(free: np.ndarray, arrive: np.ndarray, service: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end of each arrival served in turn (serve_visits, with a slot per arrival)."""
    start, end = np.full(len(arrive), np.nan), np.full(len(arrive), np.nan)
    ends = serve_visits(free, arrive, np.arange(len(arrive)), service, start, end)
    assert ends.tolist() == end.tolist()
    return start, end


@pytest.mark.parametrize("servers", [1, 2, 3, 7, 12])
def test_serving_is_the_plain_loop_bit_for_bit(servers):
    rng = np.random.default_rng(servers)
    free = np.full(servers, -np.inf)
    done_a: list[float] = []
    done_s: list[float] = []
    for batch in range(5):  # the heap carries over between batches, as between calls of the engine
        n = int(rng.integers(0, 400))
        arrive = np.sort(batch * 500.0 + rng.exponential(1.3, n).cumsum().round(1))  # ties included
        service = rng.exponential(2.0 * servers, n)
        start, end = served(free, arrive, service)
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


@pytest.mark.parametrize("servers", [1, 4])
def test_serving_visits_records_each_slot_as_the_plain_loop_serves_it(servers):
    # as the engine serves: service times read from, starts and ends written to the visits' slots
    rng = np.random.default_rng(10 + servers)
    n_slots = 1000
    service_s = rng.exponential(3.0, n_slots)
    t_start, t_end = np.full(n_slots, np.nan), np.full(n_slots, np.nan)
    free = np.full(servers, -np.inf)
    order = rng.permutation(n_slots)  # visits come in any slot order
    done_a: list[float] = []
    for batch in np.array_split(order, 4):
        arrive = np.sort(len(done_a) * 2.0 + rng.exponential(1.0, len(batch)).cumsum().round(1))
        ends = serve_visits(free, arrive, batch, service_s, t_start, t_end)
        done_a += arrive.tolist()
        assert ends.tolist() == t_end[batch].tolist()
    want_start, want_end = plain_fifo(servers, done_a, service_s[order].tolist())
    assert t_start[order].tolist() == want_start and t_end[order].tolist() == want_end
    assert sorted(free.tolist()) == sorted(plain_free(servers, done_a, service_s[order].tolist()))


def test_serving_nobody_changes_nothing():
    free = np.asarray([3.0, 5.0])
    start, end = served(free, np.zeros(0), np.zeros(0))
    assert len(start) == len(end) == 0 and free.tolist() == [3.0, 5.0]


def plain_board(queue: list[list], until: float, pos: int, stop_pos: list[int], room: int, last: int, call: int,
                let_go: set[int], only: set[int] | None, counts: list[int], most: int):
    """PlatformQueue.board's rule read one commuter at a time, in queue order, over entries [t, id,
    station, denials, last call]: (boarded entries, denied for the first time, asking, shown short,
    the queue left)."""
    boarded, first, asking, short, left = [], [], [], [], []
    for entry in queue:
        t, c, a, den, last_call = entry
        eligible = t <= until and (only is None or c in only)
        if eligible and stop_pos[a] > max(pos, last):
            short.append(c)
        if eligible and pos < stop_pos[a] <= last and a not in let_go:
            if len(boarded) < room:
                boarded.append(entry)
                continue
            if last_call != call:
                if den == 0:
                    first.append(c)
                entry[3], entry[4] = den + 1, call
            if counts[c] < most:
                asking.append(c)
        left.append(entry)
    return boarded, first, asking, short, left


@pytest.mark.parametrize("seed", range(8))
def test_boarding_is_the_rule_read_one_commuter_at_a_time(seed):
    rng = np.random.default_rng(seed)
    n_stations = 9
    n_ids = 600
    # choices made so far only grow (those past `most` are not read again); most 0: nobody is asked
    book = DenialBook(np.zeros(n_ids, dtype=np.int32), rng.integers(-1, 3, n_ids).astype(np.int64),
                      np.zeros(n_ids, dtype=np.int32), int(rng.integers(0, 4)))
    denied, last_call = [0] * n_ids, book.last_call.tolist()  # the book by hand

    def count(entries: list[list]) -> None:
        for e in entries:
            if e[3]:
                denied[e[1]] += e[3]
                last_call[e[1]] = e[4]

    queue = PlatformQueue(book)
    mine: list[list] = []
    next_id, call = 0, 0
    for step in range(10):  # the queue carries over between trains; some arrive after the doors close
        n = int(rng.integers(0, 60))
        t = np.round(step * 60.0 + rng.uniform(-30, 90, n))
        ids = rng.permutation(np.arange(next_id, next_id + n, dtype=np.int64))  # ties in time: by id
        next_id += n
        alight = rng.integers(0, n_stations, n).astype(np.int32)
        queue.push(t, ids, alight)  # each starts its wait with the last call that left them behind before
        mine = sorted(mine + [list(e) for e in zip(t.tolist(), ids.tolist(), alight.tolist(), [0] * n,
                                                   book.last_call[ids].tolist())])
        if step % 4 != 3:  # else: the same call opens its doors again
            call += 1
        stop_pos = rng.permutation(n_stations) - 1  # -1: not served
        pos, last = int(rng.integers(-1, 4)), int(rng.integers(3, n_stations))
        room = int(rng.integers(0, 30))
        let_go = set(rng.choice(n_stations, int(rng.integers(0, 3)), replace=False).tolist())
        only = set(rng.choice(max(next_id, 1), next_id // 2).tolist()) if step % 3 == 2 else None
        book.choices[:] += rng.integers(0, 2, n_ids).astype(np.int32)
        got = queue.board(step * 60.0, pos, stop_pos, room, last, call, np.asarray(sorted(let_go), dtype=np.int64),
                          None if only is None else np.asarray(sorted(only), dtype=np.int64))
        boarded, first, asking, short, mine = plain_board(mine, step * 60.0, pos, stop_pos.tolist(), room, last, call,
                                                          let_go, only, book.choices.tolist(), book.most)
        count(boarded)
        assert got.boarded.tolist() == [e[1] for e in boarded] and got.alight.tolist() == [e[2] for e in boarded]
        assert got.first_denied.tolist() == first and got.asking.tolist() == asking
        assert queue.shown_short.tolist() == short
        assert [list(e) for e in zip(queue.t.tolist(), queue.c.tolist(), queue.alight.tolist(), queue.den.tolist(),
                                     queue.last.tolist())] == mine
        gone = rng.choice(queue.c, min(3, len(queue.c)), replace=False) if step % 5 == 4 else queue.c[:0]
        queue.remove(gone)  # choosing another way: their wait's denials are counted
        count([e for e in mine if e[1] in set(gone.tolist())])
        mine = [e for e in mine if e[1] not in set(gone.tolist())]
        assert book.denied.tolist() == denied and book.last_call.tolist() == last_call
    queue.close()
    queue.close()  # counted once
    count(mine)
    assert book.denied.tolist() == denied and book.last_call.tolist() == last_call


@pytest.mark.parametrize("seed", range(4))
def test_the_compiled_canonical_order_is_the_canonical_order(seed):
    # platform queues merge newcomers by the compiled order, facility queues sort by _canonical
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 400))
    t = np.round(rng.uniform(0, 50, n))  # many equal times
    c = rng.permutation(n).astype(np.int64)
    assert _canonical_order(t, c).tolist() == _canonical(t, c).tolist() == np.lexsort((c, t)).tolist()


@pytest.mark.parametrize("seed", range(6))
def test_a_facility_queue_gives_everyone_joined_by_the_time_in_canonical_order(seed):
    # arrivals from the street as the base, then batches pushed as the clock runs, some joining hours
    # later (returns released early), taken at times that only grow: each take is everyone joined by
    # then and not taken before, by time, ties by id
    rng = np.random.default_rng(seed)
    q, waiting, ids = FacilityQueue(3), [], iter(range(10**6))

    def push(t):  # the engine pushes none but batches of someone
        if not len(t):
            return
        c = np.asarray([next(ids) for _ in t], dtype=np.int64)
        q.push(t, c)
        waiting.extend(zip(t.tolist(), c.tolist()))

    push(np.round(rng.uniform(0, 3000, int(rng.integers(0, 300)))))
    q.freeze_base()
    now = 0.0
    for _ in range(200):
        now += float(rng.exponential(30.0))
        ahead = rng.random(int(rng.integers(0, 40))) < 0.3
        push(np.where(ahead, now + np.round(rng.uniform(0, 20000, len(ahead))), now + np.round(rng.uniform(0, 60, len(ahead)))))
        expected_next = min((t for t, _ in waiting), default=np.inf)
        assert q.next_time() == expected_next
        until = now + float(rng.uniform(0, 120))
        t, c = q.take(until)
        due = sorted(x for x in waiting if x[0] <= until)
        waiting = [x for x in waiting if x[0] > until]
        assert list(zip(t.tolist(), c.tolist())) == due
    assert q.next_time() == min((t for t, _ in waiting), default=np.inf)


@pytest.mark.parametrize("seed", range(3))
def test_serving_a_facility_queue_is_taking_then_serving_the_visits(seed):
    # FacilityQueue.serve against take and serve_visits on a twin queue: the same commuters, ends,
    # recorded starts and ends, and servers
    rng = np.random.default_rng(seed)
    n = 2000
    slot_base, ordinal = rng.permutation(n).astype(np.int64) * 3, rng.integers(0, 3, 40).astype(np.int32)
    ptr = rng.integers(0, 40, n).astype(np.int64)
    service = rng.exponential(20.0, 3 * n)
    queues, records = (FacilityQueue(3), FacilityQueue(3)), [(np.full(3 * n, np.nan), np.full(3 * n, np.nan)) for _ in range(2)]
    ids, t_base = rng.permutation(n), np.round(rng.uniform(0, 3000, 500))
    for q in queues:
        q.push(t_base, ids[:500].astype(np.int64))
        q.freeze_base()
    pushed, now = 500, 0.0
    for _ in range(100):
        now += float(rng.exponential(40.0))
        k = int(rng.integers(0, 15))
        t_new = now + np.round(rng.uniform(0, 600, k))
        for q in queues:
            q.push(t_new, ids[pushed: pushed + k].astype(np.int64))
        pushed += k
        t, c = queues[0].take(now)
        ends = serve_visits(queues[0].free, t, slot_base[c] + ordinal[ptr[c]], service, *records[0])
        c2, ends2 = queues[1].serve(now, slot_base, ordinal, ptr, service, *records[1])
        assert c2.tolist() == c.tolist() and ends2.tolist() == ends.tolist()
    assert pushed > 1000
    np.testing.assert_array_equal(records[0][0], records[1][0])
    np.testing.assert_array_equal(records[0][1], records[1][1])
    assert queues[0].free.tolist() == queues[1].free.tolist()
