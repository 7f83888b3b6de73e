"""The bulk engine: commuters as array rows, trains as SimPy processes.

Facility queues are served exactly, in canonical FIFO order. Facilities that only commuters from
the street reach are served for the whole day before the clock starts (all their arrivals are
known). The others are served lazily: before a train departs from a platform at time T, every such
facility that can feed that platform is brought up to T (in topological order). Commuters are only
ever inserted into a queue at or before the time they join it, so nothing that should be served
by T can arrive later. Journeys that wait for another to end (the returns of tours) keep that rule
through sim.engine.waiting.
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np
import simpy

from ..plan import STEP_END, STEP_FACILITY, STEP_LEAVE, STEP_RIDE, Plan
from .facility_graph import facility_order, on_the_way_order
from .itinerary import ABOARD, ANNOUNCED, DENIED, PUT_OFF, STRANDED, Itineraries, OnTheWay
from .metering import EntranceMeter, entrance_meters
from .queues import DenialBook, FacilityQueue, PlatformQueue
from .records import Records
from .tickets import Tickets
from .trains import DEPARTURE_PRIORITY, At, progress_ticker, start_trains
from .waiting import WaitingJourneys


class BulkEngine:
    def __init__(self, plan: Plan, way: OnTheWay | None = None) -> None:
        self.plan = plan
        self.rec = Records.allocate(plan)
        self.it = Itineraries(plan, self.rec, way)
        self.fq = [FacilityQueue(int(c)) for c in plan.fac_servers]
        spec = self.it.spec
        # riders left behind by a full train choose again until they are past their last choice
        asked = self.it.most_choices(DENIED) if self.it.active and spec is not None and spec.after_denial else 0
        book = DenialBook(self.rec.denied, self.rec.last_denied_call, self.rec.rechoices, asked)
        self.pq = [PlatformQueue(book) for _ in range(plan.n_platforms)]
        self.meters, self.meters_at = entrance_meters(plan, self.it)
        metered = frozenset(self.meters)
        self.order, self.static, self.upstream = (on_the_way_order(plan, way, metered) if self.it.active and way is not None
                                                  else facility_order(plan, metered))
        self.waiting = WaitingJourneys.of(plan, self.rec, self.order, self.static)
        if self.waiting is not None:
            self.static = self.waiting.static
        n_trains = plan.trains.n_trains
        self.on_c: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * n_trains
        self.on_a: list[np.ndarray] = [np.zeros(0, dtype=np.int32)] * n_trains
        self.tickets = Tickets(plan, self.rec)
        self.tickets.book_ahead()

    # -- moving commuters -------------------------------------------------------------------------

    def advance(self, c: np.ndarray, t: np.ndarray) -> None:
        """Commuters `c` finished their current step at times `t`: walk on to the next step."""
        if len(c) == 0:
            return
        ptr, t2, shared = self.it.step_on(c, t, self.plan.walk_factor)
        if shared >= 0:  # the usual case: one kind of next step for the whole batch
            self._dispatch(shared, c, t2, ptr)
            return
        kind = self.it.kind[ptr]
        for k in (STEP_FACILITY, STEP_RIDE, STEP_END, STEP_LEAVE):
            sel = kind == k
            if sel.any():
                self._dispatch(k, c[sel], t2[sel], ptr[sel])

    def _dispatch(self, kind: int, c: np.ndarray, t: np.ndarray, ptr: np.ndarray) -> None:
        """Put commuters `c`, whose next step (of one kind) is at `ptr`, in its queue at times `t`."""
        it, rec = self.it, self.rec
        if kind == STEP_FACILITY:
            facility, shared = it.join_facilities(c, t, ptr)
            if shared >= 0:
                self.fq[shared].push(t, c)
            else:
                for f, sel in _groups(facility):
                    self.fq[f].push(t[sel], c[sel])
            if self.waiting is not None:
                self.waiting.track(c, t, facility)
        elif kind == STEP_RIDE:
            platform, alight, shared = it.reach_platforms(c, t, ptr)
            stranded = it.is_stranded(platform, alight)
            if stranded.any():
                chose = np.flatnonzero(stranded)
                stranded[chose[self._rechoose(STRANDED, c[chose], platform[chose], t[chose])]] = False
                keep = ~stranded
                c, t, platform, alight = c[keep], t[keep], platform[keep], alight[keep]
            cut = it.cut_off(c, platform, alight, t)
            if cut.any():
                chose = np.flatnonzero(cut)
                cut[chose[self._rechoose(ANNOUNCED, c[chose], platform[chose], t[chose])]] = False
                keep = ~cut
                c, t, platform, alight = c[keep], t[keep], platform[keep], alight[keep]
            if shared >= 0:  # the usual case: one platform for the whole batch
                if len(c):
                    self.pq[shared].push(t, c, alight)
            else:
                for target, sel in _groups(platform):
                    self.pq[target].push(t[sel], c[sel], alight[sel])
        elif kind == STEP_END:
            rec.t_arrive[c] = t
            self._release(c, t)
        else:
            rec.t_left[c] = t
            rec.left_station[c] = it.target[ptr]
            self._release(c, t)

    def _release(self, c: np.ndarray, t: np.ndarray) -> None:
        """Journeys `c` ended at times t: those waiting for them set off."""
        if self.waiting is not None:
            self.advance(*self.waiting.release(c, t))

    def _rechoose(self, reason: str, c: np.ndarray, platform: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Commuters `c` waiting on `platform` choose at times t (not in a platform queue); those
        who take another way set off on it. Returns which of them keep waiting for their leg."""
        keep, choices = self.it.choose(reason, c, platform, t)
        self.it.switch(c[~keep], choices[~keep], platform[~keep])
        self.advance(c[~keep], t[~keep])
        return keep

    def serve(self, f: int, until: float) -> None:
        """Serve everyone who joined facility f by `until`."""
        q = self.fq[f]
        if q.next_time() > until:
            return
        if f in self.meters:
            t, c = q.take(until)
            if not len(c):
                return
            go_in = self.meters[f].arrive(t, c)
            self._go_in(c[go_in], t[go_in])
            return
        rec, it = self.rec, self.it
        c, end = q.serve(until, rec.fac_base, it.ordinal, it.ptr, rec.service_s, rec.fac_t_start, rec.fac_t_end)
        self.advance(c, end)

    def _go_in(self, c: np.ndarray, t: np.ndarray) -> None:
        """Commuters `c`, at a metered entrance, go in at times t."""
        slots = self.it.fac_slot(c, self.it.ptr[c])
        self.rec.fac_t_start[slots] = t
        self.rec.fac_t_end[slots] = t
        self.advance(c, t)

    def count_in(self, meter: EntranceMeter, t: float) -> None:
        """The staff count at a metered entrance at t: let in as many as the platforms have room for."""
        for q in meter.spec.platforms:
            self.bring_up(q, t)
        on_platforms = sum(self.pq[q].n_present(t) for q in meter.spec.platforms)
        let_in = meter.count(t, on_platforms)
        self._go_in(let_in, np.full(len(let_in), t))

    def meter_window(self, env: simpy.Environment, meter: EntranceMeter):
        """A metered entrance's window: the first count at its start, everyone let in at its end."""
        yield At(env, meter.spec.start_s - env.now, DEPARTURE_PRIORITY)
        self.count_in(meter, env.now)
        yield At(env, meter.spec.end_s - env.now, DEPARTURE_PRIORITY)
        self.serve(meter.spec.facility, env.now)
        let_in = meter.end_window()
        self._go_in(let_in, np.full(len(let_in), env.now))

    def bring_up(self, platform: int, t: float) -> None:
        """Serve every facility that can feed `platform` up to t (again while choices on the way
        bring new riders to them)."""
        if self.waiting is not None:
            self.waiting.sync(t, self.serve)  # every journey ended by t has released the one waiting for it
            self.waiting.ahead(platform, t, self.serve)
        ups = self.upstream[platform]
        while True:
            for f in ups:
                self.serve(f, t)
            if not self.it.active or all(self.fq[f].next_time() > t for f in ups):
                return

    # -- train callbacks --------------------------------------------------------------------------

    def on_arrive(self, k: int, call: int, t: float) -> int:
        tr = self.plan.trains
        self.rec.call_done[call] = True
        station = tr.call_station[call]
        c, self.on_c[k], self.on_a[k] = _alight(self.on_c[k], self.on_a[k], station, t, self.it.ptr, self.rec.leg_base,
                                                self.it.ordinal, self.rec.leg_t_alight)
        n_off = len(c)
        if n_off:
            self.advance(c, np.full(n_off, t))
        n_off += self._told_aboard(k, call, t)
        if call == tr.call_start[k + 1] - 1 and len(self.on_c[k]):  # a run cut short: everyone off, wait here
            c, a = self.on_c[k], self.on_a[k]
            slots = self.it.leg_slot(c, self.it.ptr[c])
            self.rec.leg_ride_s[slots] += t - self.rec.leg_t_board[slots]
            platform = int(tr.call_platform[call])
            self.pq[platform].push(np.full(len(c), t), c, a)
            n_off += len(c)
            self.on_c[k], self.on_a[k] = c[:0], a[:0]
            if self.it.active:
                stranded = self.it.is_stranded(np.full(len(c), platform), a)
                self._rechoose_waiting(STRANDED, self.pq[platform], c[stranded], platform, t)
                self._rechoose_waiting(PUT_OFF, self.pq[platform], c[~stranded], platform, t)
        self.rec.call_alighted[call] = n_off
        self.rec.call_load[call] = len(self.on_c[k])
        return n_off

    def _told_aboard(self, k: int, call: int, t: float) -> int:
        """Riders aboard train k at `call` who learn here that a closure cuts its run short of their
        station choose: stay aboard, or get off here and take another way. Returns how many got off."""
        if not (self.it.active and self.it.closures):  # nobody to tell: nothing to ask at each of the day's calls
            return 0
        told = self.it.told_aboard(self.on_c[k], self.on_a[k], k, call, t)
        if not told.any():
            return 0
        c = self.on_c[k][told]
        platform = int(self.plan.trains.call_platform[call])
        keep, choices = self.it.choose(ABOARD, c, np.full(len(c), platform), np.full(len(c), t), self.it.train_end(k))
        going = c[~keep]
        if not len(going):
            return 0
        slots = self.it.leg_slot(going, self.it.ptr[going])
        self.rec.leg_ride_s[slots] += t - self.rec.leg_t_board[slots]
        self.it.switch(going, choices[~keep], platform)
        stay = ~np.isin(self.on_c[k], going)
        self.on_c[k], self.on_a[k] = self.on_c[k][stay], self.on_a[k][stay]
        self.advance(going, np.full(len(going), t))
        return len(going)

    def on_board(self, k: int, call: int, t: float) -> int:
        p = self.plan
        tr = p.trains
        platform = int(tr.call_platform[call])
        self.bring_up(platform, t)
        room = int(tr.capacity[k]) - len(self.on_c[k])
        queue = self.pq[platform]
        ready_by = t - p.boarding_closes_s[platform]  # those who reached the platform before its gates closed
        only = None
        if self.tickets.reserved[platform]:  # a ticket for this train, bought now by those who hold none
            let_go = None
            c_now, a_now = queue.present(ready_by)
            slots = self.it.leg_slot(c_now, self.it.ptr[c_now])
            self.tickets.book_on_platform(platform, slots, a_now)
            only = c_now[self.tickets.holders(call, slots)]
        else:
            let_go = self.it.let_go(call, platform, t, queue.present_stations(ready_by)) if self.it.informed[platform] \
                else None
        done = queue.board(ready_by, int(tr.call_seq[call]), p.stop_pos[tr.pattern[k]], room,
                           int(tr.call_serves_to[call]), call, let_go, only)
        boarded, alight = done.boarded, done.alight
        if len(done.first_denied):
            self.rec.time_first_denials(self.it.leg_slot(done.first_denied, self.it.ptr[done.first_denied]), call)
        if len(done.asking):
            self._rechoose_waiting(DENIED, queue, done.asking, platform, t)
        self.rec.left_by_short_run[queue.shown_short] = True
        if len(boarded):
            slots = self.it.leg_slot(boarded, self.it.ptr[boarded])
            self.rec.leg_train[slots] = k
            self.rec.leg_t_board[slots] = t
            self.on_c[k] = np.concatenate([self.on_c[k], boarded])
            self.on_a[k] = np.concatenate([self.on_a[k], alight])
        self.rec.call_boarded[call] += len(boarded)
        self.rec.call_load[call] = len(self.on_c[k])
        for meter in self.meters_at[platform]:
            if meter.counts_at(t):
                self.count_in(meter, t)
        return len(boarded)

    def on_depart(self, k: int, call: int, t: float) -> None:
        """A train call has left: riders for whom it was the last train re-choose (at t, or when
        they reach the platform if later)."""
        self.tickets.departed(call)
        stations = self.it.departed(call)
        if not len(stations):
            return
        platform = int(self.plan.trains.call_platform[call])
        queue = self.pq[platform]
        waiting = queue.waiting_for(stations)
        if len(waiting):
            self._rechoose_waiting(STRANDED, queue, waiting, platform, t)

    def announce(self, env: simpy.Environment, t: float):
        """At time t a closure becomes known: riders on platforms whose trains it cuts choose again."""
        yield env.timeout(t - env.now)
        for platform in range(self.plan.n_platforms):
            self.bring_up(platform, t)
        for platform, queue in enumerate(self.pq):
            c, alight = queue.present(t)
            if len(c):
                cut = self.it.cut_off(c, np.full(len(c), platform), alight, np.full(len(c), t))
                self._rechoose_waiting(ANNOUNCED, queue, c[cut], platform, t)

    def _rechoose_waiting(self, reason: str, queue: PlatformQueue, c: np.ndarray, platform: int,
                          t: float) -> np.ndarray:
        """Commuters `c` in `queue` choose at t, or at their time on the platform if later; those
        who take another way leave the queue. Returns which keep waiting."""
        if not len(c):
            return np.zeros(0, dtype=bool)
        # riders left behind are on the platform: they choose at t; others may reach it later
        at = np.full(len(c), t) if reason == DENIED else np.maximum(queue.time_of(c), t)
        keep, choices = self.it.choose(reason, c, np.full(len(c), platform), at)
        if keep.all():
            return keep
        going = c[~keep]
        queue.remove(going)
        self.it.switch(going, choices[~keep], platform)
        self.advance(going, at[~keep])
        return keep

    # -- run --------------------------------------------------------------------------------------

    def run(self, progress: Callable[[float], None] | None = None) -> Records:
        p = self.plan
        # journeys waiting for another set off when it ends (_release)
        starting = np.arange(p.n_commuters, dtype=np.int64) if self.waiting is None else self.waiting.starting()
        self.advance(starting, p.t_depart[starting])
        for q in self.fq:
            q.freeze_base()
        for f in self.static:  # every arrival is known: serve the whole day at once
            self.serve(f, np.inf)
        env = simpy.Environment()
        start_trains(env, p, self.on_arrive, self.on_board, self.on_depart, self.rec)
        for announced, _ in self.it.closures + self.it.extensions:
            env.process(self.announce(env, announced))
        for meter in self.meters.values():
            env.process(self.meter_window(env, meter))
        if progress is not None:
            env.process(progress_ticker(env, progress))
        env.run(until=p.t_end)
        # serve what is left; again while commuters choosing on the way join facilities served earlier in
        # the order (e.g. the exit of a station where the last train has gone)
        if self.waiting is not None:
            self.waiting.sync(p.t_end, self.serve)
        while True:
            for f in self.order:
                self.serve(f, p.t_end)
            if all(q.next_time() > p.t_end for q in self.fq):
                break
        for queue in self.pq:
            queue.close()
        self.rec.truncate(p.t_end)
        self.rec.compact()
        return self.rec


def _groups(keys: np.ndarray):
    """(key, index array) for each distinct key, keys ascending, indices in original order."""
    if len(keys) == 0:
        return
    first = keys[0]
    if (keys == first).all():
        yield int(first), slice(None)
        return
    order, bounds = _group_runs(keys)
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        yield int(keys[order[lo]]), order[lo:hi]


@numba.njit(cache=True, nogil=True)
def _group_runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The stable order of `keys` and the bounds of each run of equal keys in it (first 0, last len)."""
    # compiled: a batch split by target at many train calls; a sort and the cuts in one call
    order = np.argsort(keys, kind="mergesort")
    bounds = np.empty(len(keys) + 1, dtype=np.int64)
    bounds[0] = 0
    n = 1
    for i in range(1, len(order)):
        if keys[order[i]] != keys[order[i - 1]]:
            bounds[n] = i
            n += 1
    bounds[n] = len(keys)
    return order, bounds[: n + 1]


def run_bulk(plan: Plan, progress: Callable[[float], None] | None = None, way: OnTheWay | None = None) -> Records:
    return BulkEngine(plan, way).run(progress)


@numba.njit(cache=True, nogil=True)
def _alight(on_c: np.ndarray, on_a: np.ndarray, station: int, t: float, ptr: np.ndarray, leg_base: np.ndarray,
            ordinal: np.ndarray, leg_t_alight: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The riders of a train (ids `on_c`, alighting stations `on_a`) who get off at `station` at
    time t (s), their leg's alighting time recorded (slot leg_base[c] + ordinal[ptr[c]]): those
    getting off, and the ids and stations of those staying aboard, each in train order."""
    # compiled: at every call of every train; a dozen array operations on a few hundred riders. The
    # times are written in a pass of their own over those getting off: their scattered reads then
    # overlap, where inside the pass over the whole train each waits on the last
    n_off = 0
    for i in range(len(on_c)):
        if on_a[i] == station:
            n_off += 1
    off = np.empty(n_off, dtype=on_c.dtype)
    stay_c = np.empty(len(on_c) - n_off, dtype=on_c.dtype)
    stay_a = np.empty(len(on_c) - n_off, dtype=on_a.dtype)
    j = k = 0
    for i in range(len(on_c)):
        if on_a[i] == station:
            off[j] = on_c[i]
            j += 1
        else:
            stay_c[k], stay_a[k] = on_c[i], on_a[i]
            k += 1
    slot = np.empty(n_off, dtype=np.int64)
    for j in range(n_off):
        slot[j] = leg_base[off[j]] + ordinal[ptr[off[j]]]
    for j in range(n_off):
        leg_t_alight[slot[j]] = t
    return off, stay_c, stay_a
