"""Itineraries during a run, shared by both engines: the steps every commuter follows, which a choice
on the way replaces from where the commuter stands, and the countdown of trains still to come for
each leg (sim.departures) that tells who is stranded.

A commuter's step pointer indexes growing step arrays: the plan's templates first, then every
continuation a choice appended (a copy with the leg and facility numbers of the commuters who made
that choice from the same leg and visit, shared by them). The
engines call `stranded` and `denied` at their decision points and `switch` with what the hook chose;
nothing else here knows what a decision is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np

from .. import rng as rngmod
from ..departures import Departures
from ..network import Network
from ..plan import STEP_FACILITY, STEP_RIDE, Plan
from ..replan import ABOARD, ANNOUNCED, DENIED, PUT_OFF, STRANDED, Choice, Replanner
from ..schema import DecisionsSpec
from .records import Records

CUT_SLACK_S = 60.0
"""Planned timetables may move a train by this much (s) without its being cut by a closure."""
STRANDED_CHOICES = 4
"""Stranded, a commuter chooses again up to this many times max_rechoices before leaving where they stand."""

_STEP_FIELDS = ("kind", "target", "alight", "walk", "ordinal", "leg", "facs_before")


@dataclass(frozen=True)
class OnTheWay:
    """What decisions on the way need: the network, the decision hook, the departure board of the
    plan's trains and the switches."""

    network: Network
    hook: Replanner
    departures: Departures
    decisions: DecisionsSpec
    closures: tuple[tuple[float, float], ...] = ()
    """(announced, end) of each closure (s)."""
    extensions: tuple[tuple[float, float], ...] = ()
    """(expected end, end) of each closure still in force when it was expected to end (s): its
    true end is announced then."""


@dataclass(frozen=True)
class _Steps:
    """A choice's steps as arrays (see Itineraries._arrays)."""

    table: np.ndarray
    """int64, a row per step: kind, target, alight, leg, rank (of a RIDE among the rides, of a
    FACILITY among the facilities; 0 for others), facilities before it."""
    walk: np.ndarray
    n_rides: int
    facs: list[int]
    log_normal: list[tuple[float, float]] | None
    """Distribution.log_normal of each facility visited, when each is lognormal (else None)."""


class Itineraries:
    def __init__(self, plan: Plan, rec: Records, way: OnTheWay | None = None) -> None:
        network = way.network if way is not None else None
        hook = way.hook if way is not None else None
        departures = way.departures if way is not None else None
        decisions = way.decisions if way is not None else None
        self.plan, self.rec, self.hook, self.board, self.spec = plan, rec, hook, departures, decisions
        self.closures = way.closures if way is not None else ()
        self.extensions = way.extensions if way is not None else ()
        self.kind, self.target, self.alight = plan.step_kind, plan.step_target, plan.step_alight
        self.walk, self.ordinal = plan.step_walk, plan.step_ordinal
        self.leg, self.facs_before = plan.step_leg, plan.step_facs_before
        self.n_steps = len(self.kind)
        """Steps in use; the arrays have room beyond (they grow by doubling)."""
        self.ptr = plan.template_start[plan.template] - 1
        self.active = hook is not None and departures is not None and decisions is not None
        self.remaining = departures.counts().copy() if departures is not None else np.zeros(0, dtype=np.int64)
        """Per leg key of the board: train calls still to leave that carry riders for it."""
        self.platform_station = network.platform_stations() if network is not None else np.zeros(0, dtype=np.int64)
        self._fac_service = [f.service for f in network.facilities] if network is not None else []
        self._streams = rngmod.KeyedStreams(hook.key if hook is not None else 0)
        self._plan_of_step = np.zeros(0, dtype=np.int64)
        """Per step: 1 + the number of its planned legs (Replanner.plan_number), 0 when not asked yet."""
        self._step_arrays: dict[int, tuple[Choice, _Steps]] = {}
        """By id of a choice: the choice (held, so that its id stays its own) and its steps as arrays."""
        self._template_legs: dict[int, tuple[int, ...]] = {}
        """The legs of each template asked for (riders of one template switch together)."""
        self.informed = np.zeros(plan.n_platforms, dtype=bool)
        """Per platform: its riders know the departures and let a train go for a better later one."""
        if self.active and hook is not None and network is not None and decisions is not None and \
                decisions.fastest_train and hook.spec.information == "real_time":
            names = hook.spec.real_time_operators
            line_operator = [network.operators[ln.operator].id for ln in network.lines]
            self.informed = np.asarray([names is None or line_operator[pl.line] in names for pl in network.platforms],
                                       dtype=bool)

    # -- where commuters are -----------------------------------------------------------------------

    def step_on(self, c: np.ndarray, t: np.ndarray, walk_factor: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """Commuters `c` (distinct) finished their current step at times t (s): move each on to its
        next step. Returns the steps, when they reach them (t plus the walk before each, times the
        commuter's `walk_factor`) and the kind of step they share (-1: not all the same)."""
        ptr, t_next = np.empty(len(c), dtype=np.int64), np.empty(len(c))
        kind = _step_on(c, t, self.ptr, self.walk, walk_factor, self.kind, ptr, t_next)
        return ptr, t_next, kind

    def join_facilities(self, c: np.ndarray, t: np.ndarray, ptr: np.ndarray) -> tuple[np.ndarray, int]:
        """Commuters `c` join the queues of their facility steps `ptr` at times t (s), recorded as
        their visits' join times: the facility of each (int32), and the one they all join (-1: not
        all the same)."""
        facility = np.empty(len(c), dtype=self.target.dtype)
        shared = _join_facilities(c, t, ptr, self.rec.fac_base, self.ordinal, self.target, self.rec.fac_t_join,
                                  facility)
        return facility, shared

    def reach_platforms(self, c: np.ndarray, t: np.ndarray, ptr: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """Commuters `c` reach the platforms of their ride steps `ptr` at times t (s), recorded as
        their legs' platform times (a leg chosen again on the way keeps the time its commuter
        first waited for it): the platform and alighting station of each (int32), and the platform
        they all reach (-1: not all the same)."""
        platform, alight = np.empty(len(c), dtype=self.target.dtype), np.empty(len(c), dtype=self.alight.dtype)
        shared = _reach_platforms(c, t, ptr, self.rec.leg_base, self.ordinal, self.target, self.alight,
                                  self.rec.leg_t_platform, platform, alight)
        return platform, alight, shared

    def leg_slot(self, c: np.ndarray | int, ptr: np.ndarray | int) -> np.ndarray:
        return self.rec.leg_base[c] + self.ordinal[ptr]

    def fac_slot(self, c: np.ndarray | int, ptr: np.ndarray | int) -> np.ndarray:
        return self.rec.fac_base[c] + self.ordinal[ptr]

    def next_ride(self, ptr: np.ndarray) -> np.ndarray:
        """The first step after each step `ptr` that is not at a facility (on an entry path: the
        ride it leads to)."""
        step = np.asarray(ptr) + 1
        while True:
            on = self.kind[step] == STEP_FACILITY
            if not on.any():
                return step
            step = step + on

    def key_of(self, platform: np.ndarray | int, alight: np.ndarray | int) -> np.ndarray:
        """Leg key of the departure board for riders waiting on `platform` for `alight`."""
        assert self.board is not None
        return self.board.key_index(np.atleast_1d(platform), np.atleast_1d(alight))

    def is_stranded(self, platform: np.ndarray | int, alight: np.ndarray | int) -> np.ndarray:
        """Whether no train still to come carries riders on `platform` to `alight` (bool array);
        all False when decisions on the way are off."""
        platform, alight = np.atleast_1d(platform), np.atleast_1d(alight)
        if not (self.active and self.spec is not None and self.spec.when_stranded):
            return np.zeros(len(platform), dtype=bool)
        assert self.board is not None  # active
        return self.board.none_left(platform, alight, self.remaining)

    def departed(self, call: int) -> np.ndarray:
        """A train call has left: count it off; the alighting stations (on the call's platform) for
        which it was the last train."""
        if not self.active:
            return np.zeros(0, dtype=np.int64)
        assert self.board is not None
        return self.board.count_off(call, self.remaining)

    def let_go(self, call: int, platform: int, t: float, stations: np.ndarray) -> np.ndarray:
        """Of alighting `stations` of riders on `platform` at train call `call` boarding at t (s), those
        for which informed riders let the train go: a later train gets them there at a lower
        generalised cost (Departures.later_is_better)."""
        if not self.informed[platform] or self.board is None or self.hook is None or not len(stations):
            return stations[:0]
        keys = self.key_of(np.full(len(stations), platform), stations)
        carried = np.isin(keys, self.board.keys_of_call(call))
        stations, keys = stations[carried], keys[carried]
        return stations[self.board.later_is_better(call, t, keys, self.hook.spec.wait_weight)]

    def cut_off(self, c: np.ndarray, platform: np.ndarray, alight: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Whether commuters `c`, on `platform` for `alight` at times t, learn there that an announced
        closure cuts the next train that would have carried them (the next one on the departure
        board leaves more than CUT_SLACK_S after the next of the written timetable), and have not
        chosen knowing of it (on leaving home or on the way): bool array."""
        out = np.zeros(len(c), dtype=bool)
        if not self.active or not self.closures or self.board is None or self.hook is None:
            return out
        p = self.plan
        news = [(a, e, True) for a, e in self.closures] + [(a, e, False) for a, e in self.extensions]
        for announced, end, first in news:
            # an extension is news to everyone who chose before it, whatever they knew of the closure
            knew = (p.t_depart[c] >= announced) | (self.rec.t_decided[c] >= announced)
            if first:
                knew |= self.rec.knows_closure[c]
            now = (t >= announced) & (t < end) & ~knew
            if now.any():
                dep, _ = self.board.next_after(self.key_of(platform[now], alight[now]), t[now])
                written = self.hook.written_next(platform[now], alight[now], t[now])
                out[np.flatnonzero(now)[dep > written + CUT_SLACK_S]] = True
        return out

    def train_end(self, train: int) -> tuple[int, int, float]:
        """Where and when (timetabled) `train` ends its run: station, platform, arrival time (s)."""
        tr = self.plan.trains
        last = int(tr.call_start[train + 1]) - 1
        return int(tr.call_station[last]), int(tr.call_platform[last]), float(tr.call_t_arr[last])

    def told_aboard(self, c: np.ndarray, alight: np.ndarray, train: int, call: int, t: float) -> np.ndarray:
        """Whether riders `c` aboard `train`, stopping at `call` at time t (s) before its last call,
        learn here that a closure cuts its run short of their station `alight`: they boarded before
        the run was shown short, the closure has been announced, and they have not chosen knowing
        of it (bool array)."""
        tr, p = self.plan.trains, self.plan
        last = int(tr.call_start[train + 1]) - 1
        if not self.active or not self.closures or call == last:
            return np.zeros(len(c), dtype=bool)
        beyond = p.stop_pos[tr.pattern[train]][alight] > tr.call_seq[last]
        out = np.zeros(len(c), dtype=bool)
        for announced, _ in self.closures:
            if t >= announced:
                knew = (self.rec.t_decided[c] >= announced) | self.rec.knows_closure[c]
                out |= beyond & ~knew
        return out

    def planned_ids(self, ptr: np.ndarray) -> np.ndarray:
        """The number (Replanner.plan_number) of the planned legs from each step `ptr` (kept once
        asked: many riders at the same steps choose again at every full train)."""
        if len(self._plan_of_step) < self.n_steps:
            grown = np.zeros(len(self.kind), dtype=np.int64)
            grown[: len(self._plan_of_step)] = self._plan_of_step
            self._plan_of_step = grown
        known = self._plan_of_step[ptr]
        if known.all():
            return known - 1
        assert self.hook is not None
        new = np.unique(ptr[known == 0])
        legs, bounds = _legs_from(self.kind, self.leg, new)
        legs_l, bounds_l = legs.tolist(), bounds.tolist()
        for i, p in enumerate(new.tolist()):
            self._plan_of_step[p] = self.hook.plan_number(tuple(legs_l[bounds_l[i]: bounds_l[i + 1]])) + 1
        return self._plan_of_step[ptr] - 1

    # -- choices -----------------------------------------------------------------------------------

    def choose(self, reason: str, c: np.ndarray, platform: np.ndarray, t: np.ndarray,
               aboard: tuple[int, int, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Ask the hook for the choice of commuters `c` waiting for their current leg on `platform`
        (or aboard a train there, reason ABOARD: `aboard` is where and when it ends) at times t (s):
        (keep: bool per commuter, Choice per commuter). Commuters past their last choice
        (routing.decisions.max_rechoices) wait on; stranded, they choose anyway (up to
        STRANDED_CHOICES times that many, then leave)."""
        assert self.hook is not None and self.spec is not None
        rec = self.rec
        n = rec.rechoices[c]
        live = self.choosing(reason, c)
        keep = np.full(len(c), reason != STRANDED)
        out = np.empty(len(c), dtype=object)
        if live.any():
            who, where, when = c[live], platform[live], t[live]
            # itineraries at other steps may plan the same legs from here: they share a number
            keep[live], out[live] = self.hook.decide(reason, who, self.platform_station[where], where, when,
                                                     self.planned_ids(self.ptr[who]), n[live], aboard,
                                                     self.remaining)
            rec.rechoices[who] += 1
            rec.t_decided[who] = np.fmax(rec.t_decided[who], when)
        if reason == STRANDED:
            for i in np.flatnonzero(~live).tolist():
                out[i] = self.hook.leave_choice(int(self.platform_station[platform[i]]))
        if reason in (PUT_OFF, ANNOUNCED, ABOARD):
            rec.knows_closure[c] = True
        return keep, out

    def choosing(self, reason: str, c: np.ndarray) -> np.ndarray:
        """Which of commuters `c` still choose for `reason` (bool array): those whose choices made
        (`rec.rechoices`) are fewer than `most_choices(reason)`."""
        return self.rec.rechoices[c] < self.most_choices(reason)

    def most_choices(self, reason: str) -> int:
        """How many choices on the way a commuter makes for `reason`: past their last choice
        commuters wait on, unless nothing is left to wait for (STRANDED): then they still choose (a
        bounded number of times more, each at a later time, before they leave)."""
        assert self.spec is not None
        return STRANDED_CHOICES * self.spec.max_rechoices if reason == STRANDED else self.spec.max_rechoices

    def switch(self, c: np.ndarray, choices: Sequence[Choice] | np.ndarray, platform: np.ndarray | int) -> None:
        """Commuters `c` (distinct), each waiting on its `platform` for their current leg, follow their
        `choices` instead (none `keep`): their steps from here are the choice's, numbered on from the
        current leg (from the next, when a train cut short put them off here: that ride becomes a leg
        of its own, to here) and facility visit, with service times of their own; each pointer is left
        just before the first. Commuters taking the same choice from the same leg and visit numbers
        share one copy of its steps (steps never change once written)."""
        rec = self.rec
        c = np.asarray(c, dtype=np.int64)
        if not len(c):
            return
        platform = np.broadcast_to(np.asarray(platform, dtype=np.int64), c.shape)
        ptr = self.ptr[c]
        leg0, fac0 = self.ordinal[ptr].astype(np.int64), self.facs_before[ptr].astype(np.int64)
        prefixes = self._put_off_here(c, ptr, leg0, platform)  # leg0 moves on past their ride to here
        code, distinct = _numbered(choices)
        arrays = [self._arrays(ch) for ch in distinct]
        n_legs = leg0 + np.asarray([a.n_rides for a in arrays], dtype=np.int64)[code]
        n_facs = fac0 + np.asarray([len(a.facs) for a in arrays], dtype=np.int64)[code]
        rec.relocate(c, np.maximum(n_legs, rec.leg_count[c]), n_facs)
        rec.fac_count[c] = n_facs
        # their route as it stands: for who takes other legs, and for who leaves after being put off here
        # (the ride to here is a leg of their route now)
        other_legs = np.asarray([bool(ch.legs) for ch in distinct], dtype=bool)[code]
        changed = other_legs.copy()
        changed[list(prefixes)] = True
        mine = np.flatnonzero(changed)
        rec.leg_count[c[mine]] = n_legs[mine]
        rec.rerouted_on_way[c[mine]] = other_legs[mine]
        chosen_legs, route_legs = [ch.legs for ch in distinct], rec.route_legs
        for i, ci, first, k in zip(mine.tolist(), c[mine].tolist(), leg0[mine].tolist(), code[mine].tolist()):
            prefix = prefixes.get(i)
            route_legs[ci] = (self._route_legs(ci)[:first] if prefix is None else prefix) + chosen_legs[k]
        self._draw_services(c, fac0, [arrays[k] for k in code.tolist()])
        self._share_steps(c, code, arrays, leg0, fac0)

    def _draw_services(self, c: np.ndarray, fac0: np.ndarray, steps: list[_Steps]) -> None:
        """The facility visits of `steps` of commuters `c` from their visit number fac0 on, with
        service times of their own: drawn from the generator of (commuter, choices made), whatever
        the batch."""
        rec = self.rec
        some = [i for i, a in enumerate(steps) if a.facs]
        if not some:
            return
        who = c[some]
        drawn: list[float] = []
        for g, i in zip(self._streams.each(who, rec.rechoices[who]), some):
            mine = steps[i]
            if mine.log_normal is None:
                drawn.extend(float(self._fac_service[f].sample(g, 1)[0]) for f in mine.facs)
            else:  # every visit lognormal: the same draws from the normals drawn at once
                z = g.standard_normal(len(mine.facs)).tolist()
                drawn.extend(math.exp(mean + sd * x) for (mean, sd), x in zip(mine.log_normal, z))
        facs = [steps[i].facs for i in some]
        size = np.asarray([len(f) for f in facs], dtype=np.int64)
        # each commuter's slots from fac_base + fac0 on: a run of consecutive slots per commuter
        start = np.repeat(rec.fac_base[who] + fac0[some] - np.cumsum(size) + size, size)
        slots = start + np.arange(len(start))
        rec.slot_facility[slots] = [f for mine in facs for f in mine]
        rec.service_s[slots] = drawn

    def _share_steps(self, c: np.ndarray, code: np.ndarray, arrays: list[_Steps], leg0: np.ndarray,
                     fac0: np.ndarray) -> None:
        """Append the steps of choice `arrays[code]` numbered on from leg0 and fac0 once per distinct
        (choice, leg0, fac0), and point each commuter just before the first of theirs."""
        width_leg, width_fac = int(leg0.max()) + 1, int(fac0.max()) + 1
        _, first, group_of = np.unique((code * width_leg + leg0) * width_fac + fac0, return_index=True,
                                       return_inverse=True)
        # every group's steps appended in one go (a group at a time cost a dozen array operations each)
        parts = [arrays[k] for k in code[first].tolist()]
        size = np.asarray([len(a.walk) for a in parts], dtype=np.int64)
        starts = self.n_steps + np.cumsum(size) - size
        table = np.concatenate([a.table for a in parts])
        kind, rank = table[:, 0], table[:, 4]
        leg_from, fac_from = np.repeat(leg0[first], size), np.repeat(fac0[first], size)
        ordinal = rank + np.where(kind == STEP_RIDE, leg_from, 0) + np.where(kind == STEP_FACILITY, fac_from, 0)
        self._append({"kind": kind, "target": table[:, 1], "alight": table[:, 2],
                      "walk": np.concatenate([a.walk for a in parts]), "ordinal": ordinal, "leg": table[:, 3],
                      "facs_before": fac_from + table[:, 5]})
        self.ptr[c] = starts[group_of.reshape(-1)] - 1

    def _put_off_here(self, c: np.ndarray, ptr: np.ndarray, leg0: np.ndarray,
                      platform: np.ndarray) -> dict[int, tuple[int, ...]]:
        """Of commuters `c` about to switch, those a train cut short put off at the station of their
        `platform`: their ride so far ends here and becomes a leg of its own (leg0 moves on past it).
        Returns their legs so far, by position in `c`."""
        rec = self.rec
        slot = rec.leg_base[c] + leg0
        out: dict[int, tuple[int, ...]] = {}
        maybe = (rec.leg_train[slot] >= 0) & np.isnan(rec.leg_t_alight[slot]) & (rec.leg_ride_s[slot] > 0)
        for i in np.flatnonzero(maybe).tolist():
            assert self.hook is not None
            part = self.hook.leg_at(int(self.leg[ptr[i]]), int(self.platform_station[platform[i]]))
            if part is None:
                continue
            s = int(slot[i])
            rec.leg_t_alight[s] = rec.leg_t_board[s] + rec.leg_ride_s[s]
            rec.leg_ride_s[s] = 0.0
            rec.put_off_here[c[i]] = True
            out[i] = (*self._route_legs(int(c[i]))[:leg0[i]], part)
            leg0[i] += 1
        return out

    def _arrays(self, choice: Choice) -> _Steps:
        """The steps of a choice as arrays, with each RIDE's and FACILITY's rank among its kind (kept
        by choice: commuters taking the same choice share its object, see Replanner)."""
        kept = self._step_arrays.get(id(choice))
        known = kept[1] if kept is not None else None
        if known is None:
            # in Python: a choice is a dozen steps, fewer than the array calls would be
            rows: list[tuple[int, ...]] = []
            facs: list[int] = []
            n_rides = 0
            for kind, target, alight, _, leg in choice.steps:
                rank, before = 0, len(facs)
                if kind == STEP_RIDE:
                    rank, n_rides = n_rides, n_rides + 1
                elif kind == STEP_FACILITY:
                    rank = before
                    facs.append(int(target))
                rows.append((kind, target, alight, leg, rank, before))
            log_normal = [p for p in (self._fac_service[f].log_normal for f in facs) if p is not None]
            known = _Steps(np.asarray(rows, dtype=np.int64).reshape(-1, 6),
                           np.asarray([s[3] for s in choice.steps], dtype=np.float64), n_rides, facs,
                           log_normal if len(log_normal) == len(facs) else None)
            self._step_arrays[id(choice)] = (choice, known)
        return known

    def _route_legs(self, c: int) -> tuple[int, ...]:
        """The legs of commuter c's route as it stands."""
        known = self.rec.route_legs.get(c)
        if known is not None:
            return known
        p = self.plan
        template = int(p.template[c])
        legs = self._template_legs.get(template)
        if legs is None:
            lo, hi = int(p.template_start[template]), int(p.template_start[template + 1])
            legs = self._template_legs[template] = tuple(k for k in p.step_leg[lo:hi].tolist() if k >= 0)
        return legs

    def _append(self, new: dict[str, np.ndarray]) -> None:
        """Append steps: a value of each of _STEP_FIELDS per step."""
        lo, hi = self.n_steps, self.n_steps + len(new["kind"])
        if hi > len(self.kind):  # grow by doubling: appending one continuation at a time stays linear
            room = max(hi, 2 * len(self.kind))
            for name in _STEP_FIELDS:
                arr = getattr(self, name)
                grown = np.zeros(room, dtype=arr.dtype)
                grown[: self.n_steps] = arr[: self.n_steps]
                setattr(self, name, grown)
        for name, values in new.items():
            getattr(self, name)[lo:hi] = values
        self.n_steps = hi


def _numbered(choices: Sequence[Choice] | np.ndarray) -> tuple[np.ndarray, list[Choice]]:
    """Each choice's number among the distinct choice objects (as they first come), and those objects."""
    number: dict[int, int] = {}
    distinct: list[Choice] = []
    code = np.empty(len(choices), dtype=np.int64)
    for i, ch in enumerate(choices):
        k = number.get(id(ch))
        if k is None:
            k = number[id(ch)] = len(distinct)
            distinct.append(ch)
        code[i] = k
    return code, distinct


@numba.njit(cache=True, nogil=True)
def _step_on(c: np.ndarray, t: np.ndarray, ptr_of: np.ndarray, walk: np.ndarray, walk_factor: np.ndarray,
             kind: np.ndarray, ptr: np.ndarray, t_next: np.ndarray) -> int:
    """Itineraries.step_on: each commuter's step pointer `ptr_of` moved on by one (and copied into
    `ptr`), the time they reach that step into `t_next`; the kind of step all share, else -1."""
    # compiled: every batch the engine moves (alighting riders, a facility's served) takes this, and
    # as array operations the gathers and scatters cost more per call than the arithmetic
    shared = -1
    for i in range(len(c)):
        p = ptr_of[c[i]] + 1
        ptr_of[c[i]] = p
        ptr[i] = p
        t_next[i] = t[i] + walk[p] * walk_factor[c[i]]
        if i == 0:
            shared = kind[p]
        elif kind[p] != shared:
            shared = -1
    return shared


@numba.njit(cache=True, nogil=True)
def _join_facilities(c: np.ndarray, t: np.ndarray, ptr: np.ndarray, fac_base: np.ndarray, ordinal: np.ndarray,
                     target: np.ndarray, fac_t_join: np.ndarray, facility: np.ndarray) -> int:
    """Itineraries.join_facilities: join times into fac_t_join, each commuter's facility into
    `facility`; returns the facility all share, else -1."""
    # compiled: every batch that reaches facilities takes this; as array operations, a handful of
    # gathers and a scatter per batch
    shared = -1
    for i in range(len(c)):
        p = ptr[i]
        fac_t_join[fac_base[c[i]] + ordinal[p]] = t[i]
        f = target[p]
        facility[i] = f
        if i == 0:
            shared = f
        elif f != shared:
            shared = -1
    return shared


@numba.njit(cache=True, nogil=True)
def _reach_platforms(c: np.ndarray, t: np.ndarray, ptr: np.ndarray, leg_base: np.ndarray, ordinal: np.ndarray,
                     target: np.ndarray, alight_of: np.ndarray, leg_t_platform: np.ndarray, platform: np.ndarray,
                     alight: np.ndarray) -> int:
    """Itineraries.reach_platforms: platform times into leg_t_platform (the earlier, as np.fmin), each
    commuter's platform and alighting station into `platform` and `alight`; returns the platform all
    share, else -1."""
    # compiled: every batch that reaches platforms takes this; as array operations, a handful of
    # gathers and a scatter per batch
    shared = -1
    for i in range(len(c)):
        p = ptr[i]
        s = leg_base[c[i]] + ordinal[p]
        was = leg_t_platform[s]
        if np.isnan(was) or t[i] < was:
            leg_t_platform[s] = t[i]
        q = target[p]
        platform[i], alight[i] = q, alight_of[p]
        if i == 0:
            shared = q
        elif q != shared:
            shared = -1
    return shared


@numba.njit(cache=True, nogil=True)
def _legs_from(kind: np.ndarray, leg: np.ndarray, ptrs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The leg options of the RIDE steps from each step of `ptrs` to the end of its itinerary (the
    first step neither RIDE nor FACILITY), one after another, and the bounds of each ptr's (first
    0, last their number)."""
    # compiled: a walk along a few steps for each of hundreds of thousands of new steps in a city's day
    bounds = np.zeros(len(ptrs) + 1, dtype=np.int64)
    for i in range(len(ptrs)):  # counted
        p, n = ptrs[i], 0
        while kind[p] == STEP_RIDE or kind[p] == STEP_FACILITY:
            n += kind[p] == STEP_RIDE
            p += 1
        bounds[i + 1] = bounds[i] + n
    legs = np.empty(bounds[-1], dtype=np.int64)
    for i in range(len(ptrs)):  # written
        p, j = ptrs[i], bounds[i]
        while kind[p] == STEP_RIDE or kind[p] == STEP_FACILITY:
            if kind[p] == STEP_RIDE:
                legs[j] = leg[p]
                j += 1
            p += 1
    return legs, bounds


__all__ = ["ABOARD", "ANNOUNCED", "DENIED", "PUT_OFF", "STRANDED", "Itineraries", "OnTheWay"]
