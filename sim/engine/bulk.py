"""The bulk engine: commuters as array rows, trains as SimPy processes.

Facility queues are served exactly, in canonical FIFO order. Facilities that only commuters from
the street reach are served for the whole day before the clock starts (all their arrivals are
known). The others are served lazily: before a train departs from a platform at time T, every such
facility that can feed that platform is brought up to T (in topological order). Commuters are only
ever inserted into a queue at or before the time they join it, so nothing that should be served
by T can arrive later.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import simpy

from ..errors import UserError
from ..plan import STEP_END, STEP_FACILITY, STEP_RIDE, Plan
from .queues import FacilityQueue, PlatformQueue, serve_fifo
from .records import Records
from .trains import progress_ticker, start_trains


def facility_order(plan: Plan) -> tuple[list[int], list[int], list[list[int]]]:
    """Facilities in topological order (edges: consecutive steps of a template); those that only
    commuters coming from the street reach (static: every arrival is known before the clock
    starts), in that order; and per platform, the other facilities that can feed it (dynamic: fed,
    directly or through other facilities, by commuters leaving a train). A cycle of facilities is a
    user error."""
    n_f = plan.n_facilities
    kind, target = plan.step_kind, plan.step_target
    same_template = np.ones(len(kind) - 1, dtype=bool) if len(kind) else np.zeros(0, dtype=bool)
    same_template[plan.template_start[1:-1] - 1] = False
    a_kind, b_kind = kind[:-1], kind[1:]
    a, b = target[:-1], target[1:]

    def pairs(mask: np.ndarray) -> np.ndarray:
        return np.unique(np.stack([a[mask], b[mask]], axis=1), axis=0) if mask.any() else np.zeros((0, 2), int)

    ff = pairs(same_template & (a_kind == STEP_FACILITY) & (b_kind == STEP_FACILITY))
    fp = pairs(same_template & (a_kind == STEP_FACILITY) & (b_kind == STEP_RIDE))
    after_ride = np.unique(b[same_template & (a_kind == STEP_RIDE) & (b_kind == STEP_FACILITY)])
    succ_f: list[set[int]] = [set() for _ in range(n_f)]
    pred: list[set[int]] = [set() for _ in range(n_f)]
    for x, y in ff.tolist():
        succ_f[x].add(y)
        pred[y].add(x)
    indeg = [len(pred[f]) for f in range(n_f)]
    order = [f for f in range(n_f) if indeg[f] == 0]
    for f in order:
        for g in sorted(succ_f[f]):
            indeg[g] -= 1
            if indeg[g] == 0:
                order.append(g)
    if len(order) != n_f:
        raise UserError.single("", "network", "station paths pass facilities in a cycle "
                                              "(a facility is reached again without riding a train)")
    dynamic = set(after_ride.tolist())
    stack = list(dynamic)
    while stack:
        for g in succ_f[stack.pop()]:
            if g not in dynamic:
                dynamic.add(g)
                stack.append(g)
    rank = {f: i for i, f in enumerate(order)}
    feeds_p: list[set[int]] = [set() for _ in range(plan.n_platforms)]
    for f, platform in fp.tolist():
        feeds_p[platform].add(f)
    upstream = []
    for platform in range(plan.n_platforms):
        seen = {f for f in feeds_p[platform] if f in dynamic}
        stack = list(seen)
        while stack:
            for h in pred[stack.pop()]:
                if h in dynamic and h not in seen:
                    seen.add(h)
                    stack.append(h)
        upstream.append(sorted(seen, key=rank.__getitem__))
    static = [f for f in order if f not in dynamic]
    return order, static, upstream


class BulkEngine:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.rec = Records.allocate(plan)
        self.ptr = plan.template_start[plan.template] - 1
        self.fq = [FacilityQueue(int(c)) for c in plan.fac_servers]
        self.pq = [PlatformQueue() for _ in range(plan.n_platforms)]
        self.order, self.static, self.upstream = facility_order(plan)
        n_trains = plan.trains.n_trains
        self.on_c: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * n_trains
        self.on_a: list[np.ndarray] = [np.zeros(0, dtype=np.int32)] * n_trains

    # -- moving commuters -------------------------------------------------------------------------

    def advance(self, c: np.ndarray, t: np.ndarray) -> None:
        """Commuters `c` finished their current step at times `t`: walk on to the next step."""
        if len(c) == 0:
            return
        p = self.plan
        ptr = self.ptr[c] + 1
        self.ptr[c] = ptr
        t2 = t + p.step_walk[ptr] * p.walk_factor[c]
        kind = p.step_kind[ptr]
        first = kind[0]
        if (kind == first).all():  # the usual case: one kind of next step for the whole batch
            self._dispatch(int(first), c, t2, ptr)
            return
        for k in (STEP_FACILITY, STEP_RIDE, STEP_END):
            sel = kind == k
            if sel.any():
                self._dispatch(k, c[sel], t2[sel], ptr[sel])

    def _dispatch(self, kind: int, c: np.ndarray, t: np.ndarray, ptr: np.ndarray) -> None:
        """Put commuters `c`, whose next step (of one kind) is at `ptr`, in its queue at times `t`."""
        p = self.plan
        if kind == STEP_FACILITY:
            self.rec.fac_t_join[p.fac_offset[c] + p.step_ordinal[ptr]] = t
            for target, sel in _groups(p.step_target[ptr]):
                self.fq[target].push(t[sel], c[sel])
        elif kind == STEP_RIDE:
            self.rec.leg_t_platform[p.leg_offset[c] + p.step_ordinal[ptr]] = t
            alight = p.step_alight[ptr]
            for target, sel in _groups(p.step_target[ptr]):
                self.pq[target].push(t[sel], c[sel], alight[sel])
        else:
            self.rec.t_arrive[c] = t

    def serve(self, f: int, until: float) -> None:
        """Serve everyone who joined facility f by `until`."""
        q = self.fq[f]
        if q.next_time() > until:
            return
        t, c = q.take(until)
        if len(c) == 0:
            return
        p = self.plan
        slots = p.fac_offset[c] + p.step_ordinal[self.ptr[c]]
        start, end = serve_fifo(q.free, t, p.service_s[slots])
        self.rec.fac_t_start[slots] = start
        self.rec.fac_t_end[slots] = end
        self.advance(c, end)

    # -- train callbacks --------------------------------------------------------------------------

    def on_arrive(self, k: int, call: int, t: float) -> int:
        tr = self.plan.trains
        self.rec.call_done[call] = True
        station = tr.call_station[call]
        onc, ona = self.on_c[k], self.on_a[k]
        off = ona == station
        n_off = int(off.sum())
        if n_off:
            c = onc[off]
            slots = self.plan.leg_offset[c] + self.plan.step_ordinal[self.ptr[c]]
            self.rec.leg_t_alight[slots] = t
            self.on_c[k], self.on_a[k] = onc[~off], ona[~off]
            self.advance(c, np.full(n_off, t))
        if call == tr.call_start[k + 1] - 1 and len(self.on_c[k]):  # a run cut short: everyone off, wait here
            c, a = self.on_c[k], self.on_a[k]
            slots = self.plan.leg_offset[c] + self.plan.step_ordinal[self.ptr[c]]
            self.rec.leg_ride_s[slots] += t - self.rec.leg_t_board[slots]
            self.pq[int(tr.call_platform[call])].push(np.full(len(c), t), c, a)
            n_off += len(c)
            self.on_c[k], self.on_a[k] = c[:0], a[:0]
        self.rec.call_alighted[call] = n_off
        self.rec.call_load[call] = len(self.on_c[k])
        return n_off

    def on_board(self, k: int, call: int, t: float) -> int:
        p = self.plan
        tr = p.trains
        platform = int(tr.call_platform[call])
        for f in self.upstream[platform]:
            self.serve(f, t)
        room = int(tr.capacity[k]) - len(self.on_c[k])
        boarded, alight, denied = self.pq[platform].board(t, int(tr.call_seq[call]), p.stop_pos[tr.pattern[k]], room,
                                                          int(tr.call_serves_to[call]))
        if len(denied):
            self.rec.deny(denied, call)
        self.rec.left_by_short_run[self.pq[platform].shown_short] = True
        if len(boarded):
            slots = p.leg_offset[boarded] + p.step_ordinal[self.ptr[boarded]]
            self.rec.leg_train[slots] = k
            self.rec.leg_t_board[slots] = t
            self.on_c[k] = np.concatenate([self.on_c[k], boarded])
            self.on_a[k] = np.concatenate([self.on_a[k], alight])
        self.rec.call_boarded[call] += len(boarded)
        self.rec.call_load[call] = len(self.on_c[k])
        return len(boarded)

    # -- run --------------------------------------------------------------------------------------

    def run(self, progress: Callable[[float], None] | None = None) -> Records:
        p = self.plan
        everyone = np.arange(p.n_commuters, dtype=np.int64)
        self.advance(everyone, p.t_depart.copy())
        for q in self.fq:
            q.freeze_base()
        for f in self.static:  # every arrival is known: serve the whole day at once
            self.serve(f, np.inf)
        env = simpy.Environment()
        start_trains(env, p, self.on_arrive, self.on_board, self.rec)
        if progress is not None:
            env.process(progress_ticker(env, progress))
        env.run(until=p.t_end)
        for f in self.order:
            self.serve(f, p.t_end)
        self.rec.truncate(p.t_end)
        return self.rec


def _groups(keys: np.ndarray):
    """(key, index array) for each distinct key, keys ascending, indices in original order."""
    if len(keys) == 0:
        return
    first = keys[0]
    if (keys == first).all():
        yield int(first), slice(None)
        return
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    cuts = np.flatnonzero(sk[1:] != sk[:-1]) + 1
    for lo, hi in zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [len(sk)]])):
        yield int(sk[lo]), order[lo:hi]


def run_bulk(plan: Plan, progress: Callable[[float], None] | None = None) -> Records:
    return BulkEngine(plan).run(progress)
