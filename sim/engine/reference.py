"""The reference engine: one SimPy process per commuter, `simpy.Resource` for each facility.

It is what one would write by hand, kept small and slow on purpose: the bulk engine must give the
same records. Simultaneous arrivals at a facility request a server in commuter-id order (the
canonical tie rule), via a short sort at the end of each instant.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

import numpy as np
import simpy

from ..plan import STEP_END, STEP_FACILITY, STEP_RIDE, Plan
from .itinerary import ABOARD, ANNOUNCED, DENIED, PUT_OFF, STRANDED, Itineraries, OnTheWay
from .metering import EntranceMeter, entrance_meters
from .records import Records
from .tickets import Tickets
from .trains import DEPARTURE_PRIORITY, TIE_BREAK_PRIORITY, At, progress_ticker, start_trains

FEED_CHUNK_S = 600.0


class ReferenceEngine:
    def __init__(self, plan: Plan, way: OnTheWay | None = None) -> None:
        self.plan = plan
        self.rec = Records.allocate(plan)
        self.it = Itineraries(plan, self.rec, way)
        self.env = simpy.Environment()
        self.servers = [simpy.Resource(self.env, capacity=int(c)) for c in plan.fac_servers]
        self.arriving: list[list[tuple[int, simpy.Event]]] = [[] for _ in range(plan.n_facilities)]
        self.waiting: list[list[tuple[float, int, int, simpy.Event]]] = [[] for _ in range(plan.n_platforms)]
        self.onboard: list[list[tuple[int, int, simpy.Event]]] = [[] for _ in range(plan.trains.n_trains)]
        self.meters, self.meters_at = entrance_meters(plan, self.it)
        self.outside: dict[int, simpy.Event] = {}
        """Commuters waiting outside a metered entrance: the event that lets them in."""
        self.tickets = Tickets(plan, self.rec)
        self.tickets.book_ahead()
        self.ended: dict[int, simpy.Event] = ({int(j): self.env.event() for j in plan.after[plan.after >= 0].tolist()}
                                              if plan.after is not None else {})
        """Per journey another waits for (Plan.after): the event of its end."""

    def join_facility(self, f: int, cid: int) -> simpy.Event:
        """An event that fires when commuter `cid` may request facility f: after every commuter
        arriving at f at this instant has arrived, in commuter-id order."""
        turn = self.env.event()
        batch = self.arriving[f]
        if not batch:
            tick = At(self.env, 0, TIE_BREAK_PRIORITY)
            tick.callbacks.append(lambda _ev: self._release_batch(f))
        batch.append((cid, turn))
        return turn

    def _release_batch(self, f: int) -> None:
        batch, self.arriving[f] = self.arriving[f], []
        for _, turn in sorted(batch, key=lambda x: x[0]):
            turn.succeed()

    def commuter(self, i: int):
        p, env, rec, it = self.plan, self.env, self.rec, self.it
        yield env.timeout(p.t_depart[i] - env.now)
        if p.after is not None and p.after[i] >= 0:  # waits until that journey has ended
            yield self.ended[int(p.after[i])]
            rec.t_start[i] = env.now
        while True:
            it.ptr[i] += 1
            s = int(it.ptr[i])
            walk = it.walk[s] * p.walk_factor[i]
            if walk > 0:
                yield env.timeout(walk)
            kind = it.kind[s]
            if kind == STEP_FACILITY and int(it.target[s]) in self.meters:
                yield from self.enter(self.meters[int(it.target[s])], i, int(it.fac_slot(i, s)))
            elif kind == STEP_FACILITY:
                f = int(it.target[s])
                slot = it.fac_slot(i, s)
                rec.fac_t_join[slot] = env.now
                yield self.join_facility(f, i)
                with self.servers[f].request() as req:
                    yield req
                    rec.fac_t_start[slot] = env.now
                    yield env.timeout(rec.service_s[slot])
                    rec.fac_t_end[slot] = env.now
            elif kind == STEP_RIDE:
                yield from self.ride(i, s)
            elif kind == STEP_END:
                rec.t_arrive[i] = env.now
                self._end(i)
                return
            else:
                rec.t_left[i] = env.now
                rec.left_station[i] = it.target[s]
                self._end(i)
                return

    def _end(self, i: int) -> None:
        """Commuter i's journey has ended: the one waiting for it may start."""
        if i in self.ended:
            self.ended[i].succeed()

    def enter(self, meter: EntranceMeter, i: int, slot: int):
        """Commuter i at a metered entrance: in at once, or after waiting outside."""
        self.rec.fac_t_join[slot] = self.env.now
        yield self.join_facility(meter.spec.facility, i)
        if not meter.arrive(np.asarray([self.env.now]), np.asarray([i], dtype=np.int64))[0]:
            let_in = self.env.event()
            self.outside[i] = let_in
            yield let_in
        self.rec.fac_t_start[slot] = self.rec.fac_t_end[slot] = self.env.now

    def count_in(self, meter: EntranceMeter, t: float) -> None:
        """The staff count at a metered entrance at t."""
        on_platforms = sum(len(self.waiting[q]) for q in meter.spec.platforms)
        for cid in meter.count(t, on_platforms).tolist():
            self.outside.pop(cid).succeed()

    def meter_window(self, meter: EntranceMeter):
        """A metered entrance's window: the first count at its start, everyone let in at its end."""
        yield At(self.env, meter.spec.start_s - self.env.now, DEPARTURE_PRIORITY)
        self.count_in(meter, self.env.now)
        yield At(self.env, meter.spec.end_s - self.env.now, DEPARTURE_PRIORITY)
        for cid in meter.end_window().tolist():
            self.outside.pop(cid).succeed()

    def ride(self, i: int, s: int):
        """Commuter i waits for and rides the leg of step s, or takes another way on the way (their
        pointer then rests before its first step)."""
        env, rec, it = self.env, self.rec, self.it
        slot = it.leg_slot(i, s)
        rec.leg_t_platform[slot] = np.fmin(rec.leg_t_platform[slot], env.now)
        platform = int(it.target[s])
        if it.is_stranded(platform, int(it.alight[s]))[0] and self.take(STRANDED, i, platform, env.now):
            return
        one = np.asarray([i])
        if it.cut_off(one, np.asarray([platform]), it.alight[[s]], np.asarray([env.now]))[0] and \
                self.take(ANNOUNCED, i, platform, env.now):
            return
        while True:  # again from where a train cut short put the commuter off
            board = env.event()
            self.waiting[platform].append((env.now, i, int(it.alight[s]), board))
            got = yield board
            if got is None:  # another way: the pointer already rests before it
                return
            k, alight = got
            rec.leg_train[slot] = k
            rec.leg_t_board[slot] = env.now
            put_off_at = yield alight
            if put_off_at is None:
                break
            if isinstance(put_off_at, tuple):  # told of a closure aboard: off here, another way
                platform, choice = put_off_at
                rec.leg_ride_s[slot] += env.now - rec.leg_t_board[slot]
                it.switch(np.asarray([i]), [choice], platform)
                return
            rec.leg_ride_s[slot] += env.now - rec.leg_t_board[slot]
            platform = put_off_at
            if it.active:
                reason = STRANDED if it.is_stranded(platform, int(it.alight[s]))[0] else PUT_OFF
                if self.take(reason, i, platform, env.now):
                    return
        rec.leg_t_alight[slot] = env.now

    def take(self, reason: str, i: int, platform: int, t: float) -> bool:
        """Commuter i, on `platform` (not in its queue), chooses at t; True when they take another
        way (their pointer then rests before its first step)."""
        keep, choice = self.it.choose(reason, np.asarray([i]), np.asarray([platform]), np.asarray([t]))
        if not keep[0]:
            self.it.switch(np.asarray([i]), choice[:1], platform)
        return not keep[0]

    def feeder(self):
        """Start commuter processes in chunks of departure time (keeps few processes alive), in
        order of departure, ties by commuter id (ids follow departure unless departure times were
        chosen again)."""
        p, env = self.plan, self.env
        order = np.argsort(p.t_depart, kind="stable")
        order_t = p.t_depart[order]
        n = len(order_t)
        i = 0
        while i < n:
            chunk_start = np.floor(order_t[i] / FEED_CHUNK_S) * FEED_CHUNK_S
            if chunk_start > env.now:
                yield env.timeout(chunk_start - env.now)
            j = int(np.searchsorted(order_t, chunk_start + FEED_CHUNK_S, side="left"))
            for k in order[i:j].tolist():
                env.process(self.commuter(k))
            i = j

    def on_arrive(self, k: int, call: int, t: float) -> int:
        tr, rec = self.plan.trains, self.rec
        rec.call_done[call] = True
        station = int(tr.call_station[call])
        stay, n_off = [], 0
        for cid, alight, ev in self.onboard[k]:
            if alight == station:
                n_off += 1
                ev.succeed()
            else:
                stay.append((cid, alight, ev))
        if self.it.active and stay:  # told of a closure aboard: they choose here
            c = np.asarray([x[0] for x in stay], dtype=np.int64)
            told = self.it.told_aboard(c, np.asarray([x[1] for x in stay], dtype=np.int64), k, call, t)
            if told.any():
                platform = int(tr.call_platform[call])
                keep, choices = self.it.choose(ABOARD, c[told], np.full(int(told.sum()), platform),
                                               np.full(int(told.sum()), t), self.it.train_end(k))
                gone = {int(cid): choice for cid, kept, choice in zip(c[told].tolist(), keep, choices) if not kept}
                for cid, _, ev in stay:
                    if cid in gone:
                        ev.succeed((platform, gone[cid]))
                n_off += len(gone)
                stay = [x for x in stay if x[0] not in gone]
        if call == tr.call_start[k + 1] - 1:  # a run cut short: everyone off, to wait here
            for _, _, ev in stay:
                ev.succeed(int(tr.call_platform[call]))
            n_off += len(stay)
            stay = []
        self.onboard[k] = stay
        rec.call_alighted[call] = n_off
        rec.call_load[call] = len(stay)
        return n_off

    def on_board(self, k: int, call: int, t: float) -> int:
        p, tr, rec = self.plan, self.plan.trains, self.rec
        pos = int(tr.call_seq[call])
        stop_pos = p.stop_pos[tr.pattern[k]]
        room = int(tr.capacity[k]) - len(self.onboard[k])
        platform = int(tr.call_platform[call])
        waiting = sorted(self.waiting[platform], key=lambda x: (x[0], x[1]))
        last = int(tr.call_serves_to[call])
        rechoose = self.it.active and self.it.spec is not None and self.it.spec.after_denial
        ready_by = t - p.boarding_closes_s[platform]  # those who reached the platform before its gates closed
        ready = [(cid, a) for tp, cid, a, _ in waiting if tp <= ready_by]
        holders = None
        if self.tickets.reserved[platform]:  # a ticket for this train, bought now by those who hold none
            let_go: set[int] = set()
            ids = np.asarray([cid for cid, _ in ready], dtype=np.int64)
            slots = self.it.leg_slot(ids, self.it.ptr[ids])
            self.tickets.book_on_platform(platform, slots, np.asarray([a for _, a in ready], dtype=np.int64))
            holders = set(ids[self.tickets.holders(call, slots)].tolist())
        else:
            present = np.unique([a for _, a in ready]).astype(np.int64)
            let_go = set(self.it.let_go(call, platform, t, present).tolist()) if self.it.informed[platform] else set()
        stay, boarded = [], 0
        for item in waiting:
            t_plat, cid, alight, ev = item
            if t_plat > ready_by or (holders is not None and cid not in holders):
                stay.append(item)
                continue
            if stop_pos[alight] > max(pos, last):
                rec.left_by_short_run[cid] = True
            if pos < stop_pos[alight] <= last and alight not in let_go:
                if boarded < room:
                    boarded += 1
                    leave = self.env.event()
                    self.onboard[k].append((cid, alight, leave))
                    ev.succeed((k, leave))
                    continue
                rec.deny(cid, call)
                if rechoose and self.take(DENIED, cid, platform, max(t_plat, t)):
                    ev.succeed(None)
                    continue
            stay.append(item)
        self.waiting[platform] = stay
        rec.call_boarded[call] += boarded
        rec.call_load[call] = len(self.onboard[k])
        for meter in self.meters_at[platform]:
            if meter.counts_at(t):
                self.count_in(meter, t)
        return boarded

    def announce(self, t: float):
        """At time t a closure becomes known: riders on platforms whose trains it cuts choose again."""
        yield self.env.timeout(t - self.env.now)
        for platform in range(self.plan.n_platforms):
            stay = []
            for item in sorted(self.waiting[platform], key=lambda x: (x[0], x[1])):
                _, cid, alight, ev = item
                cut = self.it.cut_off(np.asarray([cid]), np.asarray([platform]), np.asarray([alight]), np.asarray([t]))
                if cut[0] and self.take(ANNOUNCED, cid, platform, t):
                    ev.succeed(None)
                    continue
                stay.append(item)
            self.waiting[platform] = stay

    def on_depart(self, k: int, call: int, t: float) -> None:
        """Riders for whom this call was the last train re-choose now."""
        self.tickets.departed(call)
        last = self.it.departed(call)
        if not len(last):
            return
        platform = int(self.plan.trains.call_platform[call])
        stations = set(last.tolist())
        stay = []
        for item in sorted(self.waiting[platform], key=lambda x: (x[0], x[1])):
            t_plat, cid, alight, ev = item
            if alight in stations and self.take(STRANDED, cid, platform, max(t_plat, t)):
                ev.succeed(None)
                continue
            stay.append(item)
        self.waiting[platform] = stay

    def run(self, progress: Callable[[float], None] | None = None) -> Records:
        p = self.plan
        start_trains(self.env, p, self.on_arrive, self.on_board, self.on_depart, self.rec)
        for announced, _ in self.it.closures + self.it.extensions:
            self.env.process(self.announce(announced))
        for meter in self.meters.values():
            self.env.process(self.meter_window(meter))
        self.env.process(self.feeder())
        if progress is not None:
            self.env.process(progress_ticker(self.env, progress))
        enabled = gc.isenabled()
        gc.disable()
        try:
            self.env.run(until=p.t_end)
        finally:
            if enabled:
                gc.enable()
        self.rec.truncate(p.t_end)
        self.rec.compact()
        return self.rec


def run_reference(plan: Plan, progress: Callable[[float], None] | None = None,
                  way: OnTheWay | None = None) -> Records:
    return ReferenceEngine(plan, way).run(progress)
