"""Batch FIFO queues of the bulk engine: facility queues (multi-server) and platform queues.

Both keep commuters as arrays of (time, commuter id) and serve them in the canonical order: by
time, ties by commuter id. That order makes results independent of how the engine batches work.
"""

from __future__ import annotations

import numba
import numpy as np

_EMPTY_F = np.zeros(0)
_EMPTY_I = np.zeros(0, dtype=np.int64)
_NONE = np.zeros(0, dtype=np.bool_)
"""An empty mask: no one excepted (see _board)."""


def serve_fifo(free: np.ndarray, arrive: np.ndarray, service: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end times (s) at a bank of identical servers with one FIFO queue.

    `free` is a min-heap (array) of the times at which each server next becomes free (updated in
    place); `arrive` must be in service order. Exact: start = max(arrival, earliest free server),
    end = start + service, in the same floating-point operations as a process-based simulation.
    """
    starts, ends = np.empty(len(arrive)), np.empty(len(arrive))
    _serve_fifo(free, np.ascontiguousarray(arrive, dtype=np.float64),
                np.ascontiguousarray(service, dtype=np.float64), starts, ends)
    return starts, ends


@numba.njit("void(f8[:], f8[:], f8[:], f8[:], f8[:])", cache=True, nogil=True)
def _serve_fifo(free: np.ndarray, arrive: np.ndarray, service: np.ndarray, starts: np.ndarray,
                ends: np.ndarray) -> None:
    # compiled: each start waits for the server freed before it, so the loop cannot be vectorised
    n_servers = len(free)
    for i in range(len(arrive)):
        f = free[0]
        st = arrive[i] if arrive[i] > f else f
        e = st + service[i]
        starts[i] = st
        ends[i] = e
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


def _canonical(t: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The canonical order of (time, id) pairs: by time, ties by id."""
    # the pairs are mostly a sorted queue and a few new ones: a stable sort by time alone finds the runs
    # (lexsort sorts by id first, from scratch); it is the canonical order when no two times are equal
    order = np.argsort(t, kind="stable")
    by_time = t[order]
    if len(t) < 2 or not (by_time[1:] == by_time[:-1]).any():
        return order
    return np.lexsort((c, t))


@numba.njit("UniTuple(i8, 4)(f8[:], i8[:], i4[:], i8, i4[:], i8, i8, i8, b1[:], b1[:], i8[:], i4[:], i8[:], i8[:])",
             cache=True, nogil=True)
def _board(t: np.ndarray, c: np.ndarray, alight: np.ndarray, n_ready: int, stop_pos: np.ndarray, pos: int,
           last: int, room: int, skip: np.ndarray, mine: np.ndarray, out_c: np.ndarray, out_a: np.ndarray,
           denied: np.ndarray, short: np.ndarray) -> tuple[int, int, int, int]:
    """PlatformQueue.board over the first n_ready of the queue (t, c, alight), which it compacts in
    place (those who board leave it): fills out_c and out_a with who boards and their stations,
    `denied` and `short` (see PlatformQueue.shown_short). `skip`: per station, let go (empty: none);
    `mine`: per ready commuter, eligible (empty: all). Returns how many boarded, were denied and
    were shown short, and the queue's new length."""
    # compiled: one pass instead of a dozen whole-queue array operations at every call (the backlog
    # of an overfull platform is walked at each train)
    n_board = n_denied = n_short = kept = 0
    shown_to = max(pos, last)
    for i in range(n_ready):
        a = alight[i]
        at = stop_pos[a]
        eligible = len(mine) == 0 or mine[i]
        if eligible and at > shown_to:
            short[n_short] = c[i]
            n_short += 1
        if eligible and pos < at <= last and not (len(skip) and skip[a]):
            if n_board < room:
                out_c[n_board] = c[i]
                out_a[n_board] = a
                n_board += 1
                continue
            denied[n_denied] = c[i]
            n_denied += 1
        t[kept], c[kept], alight[kept] = t[i], c[i], a
        kept += 1
    if n_board:
        for i in range(n_ready, len(t)):
            t[kept], c[kept], alight[kept] = t[i], c[i], alight[i]
            kept += 1
    else:
        kept = len(t)
    return n_board, n_denied, n_short, kept


class FacilityQueue:
    """Commuters waiting to join a facility's queue, by join time. A sorted base (the commuters
    arriving from the street, known at the start) is read with a cursor; later arrivals collect in
    chunks."""

    __slots__ = ("free", "base_t", "base_c", "cursor", "chunks", "extra_min")

    def __init__(self, servers: int) -> None:
        self.free = np.full(servers, -np.inf)
        self.base_t, self.base_c, self.cursor = _EMPTY_F, _EMPTY_I, 0
        self.chunks: list[tuple[np.ndarray, np.ndarray]] = []
        self.extra_min = np.inf

    def push(self, t: np.ndarray, c: np.ndarray) -> None:
        self.chunks.append((t, c))
        m = float(t.min())
        if m < self.extra_min:
            self.extra_min = m

    def freeze_base(self) -> None:
        """Turn everything pushed so far into the sorted base."""
        if not self.chunks:
            return
        t = np.concatenate([x for x, _ in self.chunks])
        c = np.concatenate([y for _, y in self.chunks])
        order = _canonical(t, c)
        self.base_t, self.base_c, self.cursor = t[order], c[order], 0
        self.chunks, self.extra_min = [], np.inf

    def next_time(self) -> float:
        head = self.base_t[self.cursor] if self.cursor < len(self.base_t) else np.inf
        return min(head, self.extra_min)

    def take(self, until: float) -> tuple[np.ndarray, np.ndarray]:
        """Remove and return, in canonical order, everyone with join time <= until."""
        j = int(np.searchsorted(self.base_t, until, side="right"))
        bt, bc = self.base_t[self.cursor: j], self.base_c[self.cursor: j]
        self.cursor = max(self.cursor, j)
        if not self.chunks or self.extra_min > until:
            return bt, bc
        t = np.concatenate([x for x, _ in self.chunks])
        c = np.concatenate([y for _, y in self.chunks])
        now = t <= until
        rest_t, rest_c = t[~now], c[~now]
        self.chunks = [(rest_t, rest_c)] if len(rest_t) else []
        self.extra_min = float(rest_t.min()) if len(rest_t) else np.inf
        t, c = np.concatenate([bt, t[now]]), np.concatenate([bc, c[now]])
        order = _canonical(t, c)
        return t[order], c[order]


class PlatformQueue:
    """Commuters on (or walking to) a platform: arrival time, id and alighting station."""

    __slots__ = ("t", "c", "alight", "chunks", "shown_short")

    def __init__(self) -> None:
        self.t, self.c, self.alight = _EMPTY_F, _EMPTY_I, np.zeros(0, dtype=np.int32)
        self.chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.shown_short = _EMPTY_I
        """After board(): those present whose station the train would serve but for a run shown
        shortened by a disruption."""

    def push(self, t: np.ndarray, c: np.ndarray, alight: np.ndarray) -> None:
        self.chunks.append((t, c, alight.astype(np.int32, copy=False)))

    def _merge(self) -> None:
        if not self.chunks:
            return
        t = np.concatenate([self.t] + [x[0] for x in self.chunks])
        c = np.concatenate([self.c] + [x[1] for x in self.chunks])
        a = np.concatenate([self.alight] + [x[2] for x in self.chunks])
        order = _canonical(t, c)
        self.t, self.c, self.alight = t[order], c[order], a[order]
        self.chunks = []

    def present_stations(self, until: float) -> np.ndarray:
        """The distinct alighting stations of those present by `until`."""
        self._merge()
        return np.unique(self.alight[: int(np.searchsorted(self.t, until, side="right"))])

    def board(self, until: float, pos: int, stop_pos: np.ndarray, room: int, last: int,
              let_go: np.ndarray | None = None,
              only: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """FIFO boarding at departure time `until` of a train at stop position `pos` whose pattern
        positions are `stop_pos` (per station) and which shows a run to stop position `last`.
        Returns (boarded ids, their alighting stations, denied ids): those present by `until` whose
        station the train serves later, up to `last`, but for those going to a station in `let_go`
        (waiting for a better train) and, given `only`, but for those not in it (ids: the holders of
        a ticket for this train); the first `room` board, the rest are left behind."""
        self._merge()
        n_ready = int(np.searchsorted(self.t, until, side="right"))
        self.shown_short = _EMPTY_I
        if n_ready == 0:
            return _EMPTY_I, self.alight[:0], _EMPTY_I
        skip = _NONE if let_go is None or not len(let_go) else np.isin(np.arange(len(stop_pos)), let_go)
        mine = _NONE if only is None else np.isin(self.c[:n_ready], only)
        out_c, out_a = np.empty(n_ready, dtype=np.int64), np.empty(n_ready, dtype=self.alight.dtype)
        denied, short = np.empty(n_ready, dtype=np.int64), np.empty(n_ready, dtype=np.int64)
        n_board, n_denied, n_short, n_left = _board(self.t, self.c, self.alight, n_ready,
                                                    np.asarray(stop_pos, dtype=np.int32), pos, last, room,
                                                    skip, mine, out_c, out_a, denied, short)
        self.t, self.c, self.alight = self.t[:n_left], self.c[:n_left], self.alight[:n_left]
        self.shown_short = short[:n_short]
        return out_c[:n_board], out_a[:n_board], denied[:n_denied]

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
        keep = ~np.isin(self.c, c)
        self.t, self.c, self.alight = self.t[keep], self.c[keep], self.alight[keep]

    def n_present(self, until: float) -> int:
        """How many are on the platform by `until`."""
        self._merge()
        return int(np.searchsorted(self.t, until, side="right"))

    def present(self, until: float) -> tuple[np.ndarray, np.ndarray]:
        """Ids and alighting stations of those on the platform by `until`."""
        n = self.n_present(until)
        return self.c[:n].copy(), self.alight[:n].copy()
