"""Batch FIFO queues of the bulk engine: facility queues (multi-server) and platform queues.

Both keep commuters as arrays of (time, commuter id) and serve them in the canonical order: by
time, ties by commuter id. That order makes results independent of how the engine batches work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np

from ..arrays import grown

_EMPTY_F = np.zeros(0)
_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_I4 = np.zeros(0, dtype=np.int32)
_NONE = np.zeros(0, dtype=np.bool_)
"""An empty mask: no one excepted (see _board)."""


@numba.njit(cache=True, nogil=True)
def serve_visits(free: np.ndarray, arrive: np.ndarray, slot: np.ndarray, service_s: np.ndarray,
                 t_start: np.ndarray, t_end: np.ndarray) -> np.ndarray:
    """Facility visits at a bank of identical servers with one FIFO queue: the visit in `slot` of
    each arrival (times `arrive`, in service order) is served for service_s[slot] (s); its start
    and end (s) go into t_start[slot] and t_end[slot]. Returns the ends in arrival order.

    `free` is a min-heap (array) of the times at which each server next becomes free (updated in
    place). Exact: start = max(arrival, earliest free server), end = start + service, in the same
    floating-point operations as a process-based simulation."""
    # compiled: each start waits for the server freed before it, so the loop cannot be vectorised; and
    # the bulk engine serves a facility at every train call that it feeds, where array operations
    # around the loop cost more than the loop
    n_servers = len(free)
    ends = np.empty(len(arrive))
    for i in range(len(arrive)):
        k = slot[i]
        f = free[0]
        st = arrive[i] if arrive[i] > f else f
        e = st + service_s[k]
        t_start[k], t_end[k], ends[i] = st, e, e
        # the earliest free server takes the commuter: replace the heap's root by e and sift it down
        j = 0
        while True:
            child = 2 * j + 1
            if child >= n_servers:
                break
            if child + 1 < n_servers and free[child + 1] < free[child]:
                child += 1
            if free[child] >= e:
                break
            free[j] = free[child]
            j = child
        free[j] = e
    return ends


def _canonical(t: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The canonical order of (time, id) pairs: by time, ties by id."""
    # the pairs are mostly a sorted queue and a few new ones: a stable sort by time alone finds the runs
    # (lexsort sorts by id first, from scratch); it is the canonical order when no two times are equal
    order = np.argsort(t, kind="stable")
    by_time = t[order]
    if len(t) < 2 or not (by_time[1:] == by_time[:-1]).any():
        return order
    return np.lexsort((c, t))


@numba.njit("i8[:](f8[:], i8[:])", cache=True, nogil=True)
def _canonical_order(t: np.ndarray, c: np.ndarray) -> np.ndarray:
    """_canonical compiled, for the compiled merge of a platform queue's newcomers (_merged): the same
    order, by time, ties by id. (The facility queues keep _canonical: on the long, nearly sorted
    arrays they sort, numpy's stable sort is the faster.)"""
    order = np.argsort(t, kind="mergesort")
    k = 0
    while k < len(order):  # equal times: by id
        e = k + 1
        while e < len(order) and t[order[e]] == t[order[k]]:
            e += 1
        if e - k > 1:
            run = order[k:e].copy()
            order[k:e] = run[np.argsort(c[run])]
        k = e
    return order


@numba.njit("UniTuple(i8, 4)(f8[:], i8[:], i4[:], i4[:], i8[:], b1[:], i8, i4[:], i8, i8, i8, b1[:], b1[:], i8, "
             "i4[:], i8, i4[:], i8[:], i8[:], i4[:], i8[:], i8[:], i8[:])", cache=True, nogil=True)
def _board(t: np.ndarray, c: np.ndarray, alight: np.ndarray, den: np.ndarray, last: np.ndarray, quiet: np.ndarray,
           n_ready: int, stop_pos: np.ndarray, pos: int, shown: int, room: int, skip: np.ndarray, mine: np.ndarray,
           call: int, choices: np.ndarray, most: int, book_denied: np.ndarray, book_last: np.ndarray,
           out_c: np.ndarray, out_a: np.ndarray, first: np.ndarray, asking: np.ndarray,
           short: np.ndarray) -> tuple[int, int, int, int]:
    """PlatformQueue.board over the first n_ready of the queue (t, c, alight, den, last, quiet), which
    it compacts in place (those who board leave it, their denials added to book_denied and
    book_last): fills out_c and out_a with who boards and their stations, `first` with those left
    behind for the first time in this wait, `asking` with those left behind whose `choices` are
    below `most` (`quiet` marks those found not below it: choices only grow), and `short` (see
    PlatformQueue.shown_short). `skip`: per station, let go (empty: none); `mine`: per ready
    commuter, eligible (empty: all). Returns how many boarded, were left behind for the first time,
    are asked, and were shown short; the queue keeps the rest."""
    # compiled: one pass instead of a dozen whole-queue array operations at every call; the backlog
    # of an overfull platform is walked at each train, and its denials are counted here, in queue
    # order, rather than per commuter (a random read of several arrays for each of millions). The
    # reads and writes by commuter id (their choices, the book) come in passes of their own after
    # the walk: scattered, they then overlap, where inside the walk each waits on the last
    n_board = n_first = n_short = kept = n_ask = 0
    shown_to = max(pos, shown)
    ask = np.empty(n_ready, dtype=np.int64)  # where in the kept queue those who may be asked are
    n_room = max(0, min(room, n_ready))
    board_den, board_last = np.empty(n_room, dtype=den.dtype), np.empty(n_room, dtype=last.dtype)
    for i in range(n_ready):
        a = alight[i]
        at = stop_pos[a]
        eligible = len(mine) == 0 or mine[i]
        if eligible and at > shown_to:
            short[n_short] = c[i]
            n_short += 1
        if eligible and pos < at <= shown and not (len(skip) and skip[a]):
            if n_board < room:
                out_c[n_board], out_a[n_board] = c[i], a
                board_den[n_board], board_last[n_board] = den[i], last[i]
                n_board += 1
                continue
            if last[i] != call:  # a call that opens its doors twice leaves each behind once
                if den[i] == 0:
                    first[n_first] = c[i]
                    n_first += 1
                den[i] += 1
                last[i] = call
            if most > 0 and not quiet[i]:
                ask[n_ask] = kept
                n_ask += 1
        if kept < i:
            t[kept], c[kept], alight[kept], den[kept], last[kept], quiet[kept] = t[i], c[i], a, den[i], last[i], quiet[i]
        kept += 1
    if n_board:
        for i in range(n_ready, len(t)):
            t[kept], c[kept], alight[kept], den[kept], last[kept], quiet[kept] = (t[i], c[i], alight[i], den[i],
                                                                                  last[i], quiet[i])
            kept += 1
    for j in range(n_board):
        if board_den[j]:
            book_denied[out_c[j]] += board_den[j]
            book_last[out_c[j]] = board_last[j]
    n_asking = 0
    for j in range(n_ask):
        q = ask[j]
        if choices[c[q]] < most:
            asking[n_asking] = c[q]
            n_asking += 1
        else:
            quiet[q] = True
    return n_board, n_first, n_asking, n_short


@numba.njit("Tuple((f8[:], i8[:], i4[:], i4[:], i8[:], b1[:]))(f8[:], i8[:], i4[:], i4[:], i8[:], b1[:], f8[:], i8[:], "
             "i4[:], i8[:])", cache=True, nogil=True)
def _merged(t: np.ndarray, c: np.ndarray, alight: np.ndarray, den: np.ndarray, last: np.ndarray, quiet: np.ndarray,
            new_t: np.ndarray, new_c: np.ndarray, new_a: np.ndarray, book_last: np.ndarray):
    """The queue (t, c, alight, den, last, quiet), in canonical order (time, ties by id), with the
    newcomers (new_t, new_c, new_a, in any order) merged in that order; newcomers start with no
    denial in this wait and the last call that left them behind from book_last."""
    # compiled: a platform's queue takes newcomers at nearly every train; one merging pass instead of a
    # sort and a dozen array copies of the whole queue (the newcomers' last calls read by id before it:
    # scattered reads overlap in a pass of their own)
    order = _canonical_order(new_t, new_c)
    new_t, new_c, new_a = new_t[order], new_c[order], new_a[order]
    new_last = book_last[new_c]
    n, m = len(t), len(new_t)
    out_t, out_c, out_a = np.empty(n + m), np.empty(n + m, np.int64), np.empty(n + m, np.int32)
    out_den, out_last, out_quiet = np.empty(n + m, np.int32), np.empty(n + m, np.int64), np.empty(n + m, np.bool_)
    i = j = 0
    for k in range(n + m):
        if j == m or (i < n and (t[i] < new_t[j] or (t[i] == new_t[j] and c[i] < new_c[j]))):
            out_t[k], out_c[k], out_a[k] = t[i], c[i], alight[i]
            out_den[k], out_last[k], out_quiet[k] = den[i], last[i], quiet[i]
            i += 1
        else:
            out_t[k], out_c[k], out_a[k] = new_t[j], new_c[j], new_a[j]
            out_den[k], out_last[k], out_quiet[k] = 0, new_last[j], False
            j += 1
    return out_t, out_c, out_a, out_den, out_last, out_quiet


@dataclass(frozen=True)
class DenialBook:
    """Per commuter, where platform queues count the trains that leave riders behind (int32, added
    when a wait ends: boarding, leaving the queue, or the end of the run) and the train call that
    last did (int64, -1 none); and the choices on the way each has made (int32), below `most` of
    which a rider left behind is asked to choose (0: nobody is)."""

    denied: np.ndarray
    last_call: np.ndarray
    choices: np.ndarray
    most: int = 0


class Boarding(NamedTuple):
    """What a train's boarding did to a platform queue (see PlatformQueue.board)."""

    boarded: np.ndarray  # ids of who boards, in queue order
    alight: np.ndarray  # int32: their alighting stations
    first_denied: np.ndarray  # ids left behind for the first time in this wait
    asking: np.ndarray  # ids left behind who may still choose


_NOBODY = Boarding(_EMPTY_I, _EMPTY_I4, _EMPTY_I, _EMPTY_I)


class FacilityQueue:
    """Commuters waiting to join a facility's queue, by join time. A sorted base (the commuters
    arriving from the street, known at the start) is read with a cursor; later arrivals wait in a
    binary heap by (time, id), which hands them out in canonical order however far ahead they join
    (returns of tours released hours before they start)."""

    __slots__ = ("free", "base_t", "base_c", "cursor", "heap_t", "heap_c", "n_heap")

    def __init__(self, servers: int) -> None:
        self.free = np.full(servers, -np.inf)
        self.base_t, self.base_c, self.cursor = _EMPTY_F, _EMPTY_I, 0
        self.heap_t, self.heap_c, self.n_heap = _EMPTY_F, _EMPTY_I, 0
        """The later arrivals: the first n_heap places of heap_t and heap_c, a heap by (time, id)."""

    def push(self, t: np.ndarray, c: np.ndarray) -> None:
        need = self.n_heap + len(t)
        self.heap_t, self.heap_c = grown(self.heap_t, self.n_heap, need), grown(self.heap_c, self.n_heap, need)
        self.n_heap = _pairs_push(self.heap_t, self.heap_c, self.n_heap, np.asarray(t, dtype=np.float64),
                                  np.asarray(c, dtype=np.int64))

    def freeze_base(self) -> None:
        """Turn everything pushed so far into the sorted base."""
        if not self.n_heap:
            return
        t, c = self.heap_t[: self.n_heap], self.heap_c[: self.n_heap]
        order = _canonical(t, c)
        self.base_t, self.base_c, self.cursor = t[order], c[order], 0
        self.heap_t, self.heap_c, self.n_heap = _EMPTY_F, _EMPTY_I, 0

    def next_time(self) -> float:
        head = self.base_t[self.cursor] if self.cursor < len(self.base_t) else np.inf
        return min(head, self.heap_t[0]) if self.n_heap else head

    def take(self, until: float) -> tuple[np.ndarray, np.ndarray]:
        """Remove and return, in canonical order, everyone with join time <= until."""
        t, c, self.cursor, self.n_heap = _take(self.base_t, self.base_c, self.cursor, self.heap_t, self.heap_c,
                                               self.n_heap, until)
        return t, c

    def serve(self, until: float, slot_base: np.ndarray, ordinal: np.ndarray, ptr: np.ndarray, service_s: np.ndarray,
              t_start: np.ndarray, t_end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Take everyone with join time <= until (see take) and serve them in that order
        (serve_visits), each visit in slot slot_base[c] + ordinal[ptr[c]]: the commuters and the
        ends of their service (s)."""
        c, end, self.cursor, self.n_heap = _take_and_serve(self.base_t, self.base_c, self.cursor, self.heap_t,
                                                           self.heap_c, self.n_heap, until, self.free, slot_base,
                                                           ordinal, ptr, service_s, t_start, t_end)
        return c, end


@numba.njit(cache=True, nogil=True)
def _take_and_serve(base_t: np.ndarray, base_c: np.ndarray, cursor: int, heap_t: np.ndarray, heap_c: np.ndarray,
                    n: int, until: float, free: np.ndarray, slot_base: np.ndarray, ordinal: np.ndarray,
                    ptr: np.ndarray, service_s: np.ndarray, t_start: np.ndarray,
                    t_end: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    """FacilityQueue.serve: _take, then serve_visits in the commuters' slots; the commuters, their
    ends, the new cursor and heap size."""
    # compiled: a facility is served at nearly every train call it feeds; one call instead of three and
    # the arrays between them
    t, c, cursor, n = _take(base_t, base_c, cursor, heap_t, heap_c, n, until)
    slot = np.empty(len(c), dtype=np.int64)
    for i in range(len(c)):
        slot[i] = slot_base[c[i]] + ordinal[ptr[c[i]]]
    return c, serve_visits(free, t, slot, service_s, t_start, t_end), cursor, n


@numba.njit(cache=True, nogil=True)
def _pairs_push(heap_t: np.ndarray, heap_c: np.ndarray, n: int, t: np.ndarray, c: np.ndarray) -> int:
    """Push the pairs (t, c) onto the heap by (time, id) of the first n places of (heap_t, heap_c),
    which have room for them; returns the new n."""
    # compiled: each pair sifts up from the bottom of the heap, a loop with a data-dependent stop
    for i in range(len(t)):
        ti, ci = t[i], c[i]
        j = n
        n += 1
        while j > 0:
            parent = (j - 1) >> 1
            if heap_t[parent] < ti or (heap_t[parent] == ti and heap_c[parent] < ci):
                break
            heap_t[j], heap_c[j] = heap_t[parent], heap_c[parent]
            j = parent
        heap_t[j], heap_c[j] = ti, ci
    return n


@numba.njit(cache=True, nogil=True)
def _take(base_t: np.ndarray, base_c: np.ndarray, cursor: int, heap_t: np.ndarray, heap_c: np.ndarray, n: int,
          until: float) -> tuple[np.ndarray, np.ndarray, int, int]:
    """FacilityQueue.take: the base from `cursor` and the heap of n pairs merged, by (time, id), up
    to `until`; with the new cursor and heap size."""
    # compiled: a merge of the base with pops of the heap, each pop sifting the last pair down
    end = cursor + np.searchsorted(base_t[cursor:], until, side="right")
    room = end - cursor
    out_t, out_c = np.empty(room + 16), np.empty(room + 16, dtype=np.int64)
    k = 0
    while True:
        from_heap = n > 0 and heap_t[0] <= until
        if not from_heap and cursor == end:
            break
        if from_heap and cursor < end:
            from_heap = heap_t[0] < base_t[cursor] or (heap_t[0] == base_t[cursor] and heap_c[0] < base_c[cursor])
        if k == len(out_t):
            out_t = np.concatenate((out_t, np.empty(k)))
            out_c = np.concatenate((out_c, np.empty(k, dtype=np.int64)))
        if not from_heap:
            out_t[k], out_c[k] = base_t[cursor], base_c[cursor]
            cursor += 1
            k += 1
            continue
        out_t[k], out_c[k] = heap_t[0], heap_c[0]
        k += 1
        n -= 1
        lt, lc = heap_t[n], heap_c[n]
        j = 0
        while True:
            child = 2 * j + 1
            if child >= n:
                break
            if child + 1 < n and (heap_t[child + 1] < heap_t[child]
                                  or (heap_t[child + 1] == heap_t[child] and heap_c[child + 1] < heap_c[child])):
                child += 1
            if heap_t[child] > lt or (heap_t[child] == lt and heap_c[child] > lc):
                break
            heap_t[j], heap_c[j] = heap_t[child], heap_c[child]
            j = child
        heap_t[j], heap_c[j] = lt, lc
    return out_t[:k], out_c[:k], cursor, n


class PlatformQueue:
    """Commuters on (or walking to) a platform: arrival time, id and alighting station, and the
    denials of each while in the queue, counted into `book` when they leave it."""

    __slots__ = ("book", "t", "c", "alight", "den", "last", "quiet", "chunks", "shown_short")

    def __init__(self, book: DenialBook) -> None:
        self.book = book
        self.t, self.c, self.alight = _EMPTY_F, _EMPTY_I, _EMPTY_I4
        self.den, self.last, self.quiet = _EMPTY_I4, _EMPTY_I, _NONE
        """Per entry: trains that left it behind in this wait, the last such train call (-1 none,
        ever), and whether it is past the choices a denial asks for (see board)."""
        self.chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.shown_short = _EMPTY_I
        """After board(): those present whose station the train would serve but for a run shown
        shortened by a disruption."""

    def push(self, t: np.ndarray, c: np.ndarray, alight: np.ndarray) -> None:
        self.chunks.append((t, c, alight.astype(np.int32, copy=False)))

    def _merge(self) -> None:
        if not self.chunks:
            return
        chunks = self.chunks
        if len(chunks) == 1:
            t, c, a = chunks[0]
        else:
            t = np.concatenate([x[0] for x in chunks])
            c = np.concatenate([x[1] for x in chunks])
            a = np.concatenate([x[2] for x in chunks])
        self.t, self.c, self.alight, self.den, self.last, self.quiet = _merged(
            self.t, self.c, self.alight, self.den, self.last, self.quiet, t, c, a, self.book.last_call)
        self.chunks = []

    def present_stations(self, until: float) -> np.ndarray:
        """The distinct alighting stations of those present by `until`."""
        self._merge()
        return np.unique(self.alight[: int(np.searchsorted(self.t, until, side="right"))])

    def board(self, until: float, pos: int, stop_pos: np.ndarray, room: int, last: int, call: int,
              let_go: np.ndarray | None = None, only: np.ndarray | None = None) -> Boarding:
        """FIFO boarding at departure time `until` of train call `call` at stop position `pos` whose
        pattern positions are `stop_pos` (per station) and which shows a run to stop position `last`:
        those present by `until` whose station the train serves later, up to `last`, but for those
        going to a station in `let_go` (waiting for a better train) and, given `only`, but for those
        not in it (ids: the holders of a ticket for this train); the first `room` board and leave
        the queue, the rest are left behind (once per call, however often its doors open)."""
        self._merge()
        n_ready = int(np.searchsorted(self.t, until, side="right"))
        self.shown_short = _EMPTY_I
        if n_ready == 0:
            return _NOBODY
        skip = _NONE if let_go is None or not len(let_go) else np.isin(np.arange(len(stop_pos)), let_go)
        mine = _NONE if only is None else np.isin(self.c[:n_ready], only)
        out_c, out_a = np.empty(n_ready, dtype=np.int64), np.empty(n_ready, dtype=np.int32)
        first, asking, short = (np.empty(n_ready, dtype=np.int64) for _ in range(3))
        book = self.book
        n_board, n_first, n_asking, n_short = _board(
            self.t, self.c, self.alight, self.den, self.last, self.quiet, n_ready,
            np.asarray(stop_pos, dtype=np.int32), pos, last, room, skip, mine, call, book.choices, book.most,
            book.denied, book.last_call, out_c, out_a, first, asking, short)
        if n_board:
            n_left = len(self.t) - n_board
            self.t, self.c, self.alight = self.t[:n_left], self.c[:n_left], self.alight[:n_left]
            self.den, self.last, self.quiet = self.den[:n_left], self.last[:n_left], self.quiet[:n_left]
        if n_short:
            self.shown_short = short[:n_short]
        return Boarding(out_c[:n_board], out_a[:n_board], first[:n_first], asking[:n_asking])

    def waiting_for(self, stations: np.ndarray) -> np.ndarray:
        """Ids of everyone in the queue (whenever they reach the platform) going to one of `stations`."""
        self._merge()
        return self.c[np.isin(self.alight, stations)]

    def time_of(self, c: np.ndarray) -> np.ndarray:
        """Platform times (s) of commuters `c`, who are in the queue."""
        self._merge()
        pos = np.flatnonzero(np.isin(self.c, c))
        order = np.argsort(self.c[pos])
        return self.t[pos[order]][np.searchsorted(self.c[pos[order]], c)]

    def remove(self, c: np.ndarray) -> None:
        """Take commuters `c` out of the queue."""
        self._merge()
        gone = np.isin(self.c, c)
        self._count(gone)
        keep = ~gone
        self.t, self.c, self.alight, self.den, self.last, self.quiet = (
            self.t[keep], self.c[keep], self.alight[keep], self.den[keep], self.last[keep], self.quiet[keep])

    def close(self) -> None:
        """The end of the run: count the denials of everyone still waiting into the book."""
        self._merge()
        self._count(np.ones(len(self.c), dtype=bool))
        self.den = np.zeros(len(self.c), dtype=np.int32)

    def _count(self, which: np.ndarray) -> None:
        """Add the denials of the entries `which` (bool per entry), whose wait ends, to the book."""
        which = which & (self.den > 0)
        c = self.c[which]
        self.book.denied[c] += self.den[which]
        self.book.last_call[c] = self.last[which]

    def n_present(self, until: float) -> int:
        """How many are on the platform by `until`."""
        self._merge()
        return int(np.searchsorted(self.t, until, side="right"))

    def present(self, until: float) -> tuple[np.ndarray, np.ndarray]:
        """Ids and alighting stations of those on the platform by `until`."""
        n = self.n_present(until)
        return self.c[:n].copy(), self.alight[:n].copy()
