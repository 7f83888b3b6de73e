"""Journeys that wait for another to end before they start (Plan.after: the returns of tours), in
the bulk engine.

A waiting journey starts at its own start or when the journey it waits for ends (arrives, or
leaves the network), whichever is later. The bulk engine serves facilities lazily; two rules keep
this exact:
- before anything a waiting journey may join is served up to a time T, every facility where a
  journey waited for may end by T (`sync`: those not only on the way to a train) is served up to
  T, with what feeds it, when the journey waiting for it is to start within LOOKAHEAD_S of T:
  each journey that can release one by T has done so by then;
- the facilities where waiting journeys begin that only commuters from the street reach (and the
  facilities after them) are served ahead of the clock (`ahead`): up to the earliest start of a
  journey still waiting there, since none of those joins before it (up to the train's time while
  one is overdue). Served at every train instead, they would cost a whole day of small batches.

Not exact yet in one case: a return that reaches a platform after its last train (or one a closure
cut) is found stranded only when its entry is next served, and may then join an exit that `sync`
has served past its arrival for an outbound journey ending there (the exit's queue order then
differs from the reference engine's; entry, stranding, exit and release make a cycle that serving
by time alone does not order). Seen on a toy line with trains of 2 places and returns stranded
after the last train; not on the shipped scenarios at the tested demands.
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np

from ..arrays import grown
from ..plan import STEP_FACILITY, STEP_RIDE, Plan
from .facility_graph import facility_edges, facility_links, platform_feeders, reach
from .records import Records

LOOKAHEAD_S = 900.0
"""How long before a waiting journey's start the end of the one it waits for is served (s): the
facilities where waiting journeys begin are then served ahead in batches of about that span. Any
value gives the same results (a journey can only start later than its start); it sets how often
the facilities are served, and so the speed. Measured on the whole Shanghai day in one sitting
each (BENCHMARKS.md, sitting M): at 10,000,000 journeys 900 s took the simulation 134-142 s where
3600 s took 150-161 s; at 2,000,000, 14,400 s was slower still and 300 s no faster."""

Serve = Callable[[int, float], None]
"""Serve everyone who joined facility f by a time (s): the engine's."""


class WaitingJourneys:
    """The journeys of a plan that wait for others, for the bulk engine (see the module)."""

    def __init__(self, plan: Plan, rec: Records, after: np.ndarray, order: list[int], static: list[int]) -> None:
        """`after`: plan.after; `order` and `static`: the facilities in topological order and the
        static ones (facility_graph.facility_order)."""
        self.plan, self.rec = plan, rec
        waiting = np.flatnonzero(after >= 0)
        self.return_of = np.full(plan.n_commuters, -1, dtype=np.int64)
        """Per commuter: the journey waiting for theirs (-1: none)."""
        self.return_of[after[waiting]] = waiting
        ff, fp, _ = facility_edges(plan)
        pred, succ = facility_links(ff, plan.n_facilities)
        rank = {f: i for i, f in enumerate(order)}
        first = plan.template_start[plan.template[waiting]]
        at_facility = plan.step_kind[first] == STEP_FACILITY
        self._roots = _starts_by_facility(plan.step_target[first[at_facility]], waiting[at_facility], plan.t_depart,
                                          set(static))
        ahead = reach(set(self._roots), succ, set(static))  # and the facilities after them
        self.static = [f for f in static if f not in ahead]
        """The static facilities less those served ahead."""
        self._pred_ahead = {f: sorted(pred[f] & ahead) for f in ahead}
        self._served_to = dict.fromkeys(ahead, -np.inf)
        self._ahead_of = platform_feeders(plan.n_platforms, fp, pred, ahead, rank)
        self._ready = np.full(plan.n_platforms, -np.inf)
        """Per platform: a time (s) up to which all its facilities served ahead are served, at least."""
        self._feeders = _feeders(pred, rank, set(self.static))
        self._rank = rank
        self._tracked = ~_ride_bound(plan)
        self._tracked[self.static] = False
        self._synced = np.full(plan.n_facilities, -np.inf)
        """Per facility: the time (s) up to which sync served it last."""
        self._ends = _Ends(plan.t_end)
        """The ends of journeys others wait for, in tracked facilities, by when they are to be served."""

    @classmethod
    def of(cls, plan: Plan, rec: Records, order: list[int], static: list[int]) -> WaitingJourneys | None:
        """The plan's waiting journeys; None when nobody waits."""
        if plan.after is None or not (plan.after >= 0).any():
            return None
        return cls(plan, rec, plan.after, order, static)

    def starting(self) -> np.ndarray:
        """The commuters who start at their t_depart (waiting for nobody)."""
        assert self.plan.after is not None  # see of()
        return np.flatnonzero(self.plan.after < 0)

    def release(self, c: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Journeys `c` ended at times t: the journeys waiting for them and their starts (s), the
        later of their own and t (recorded as started)."""
        r = self.return_of[c]
        mine = r >= 0
        r = r[mine]
        start = np.maximum(self.plan.t_depart[r], t[mine])
        self.rec.t_start[r] = start
        return r, start

    def track(self, c: np.ndarray, t: np.ndarray, target: np.ndarray) -> None:
        """Commuters `c` joined facilities `target` at times t: keep when journeys others wait for
        did so at a tracked facility, and by when their end is to be served: at the join, or
        LOOKAHEAD_S before the waiting journey's own start if later."""
        self._ends.add(*_tracked_ends(self._tracked, self.return_of, self.plan.t_depart, c, t, target))

    def sync(self, until: float, serve: Serve) -> None:
        """Serve up to `until` every tracked facility holding a journey others wait for whose end
        can matter by then (see track), after what feeds it; again while that brings such journeys
        to others. A journey whose end is not served yet cannot release one starting after `until`."""
        while True:
            joined, facility = self._ends.take(until)
            if not len(facility):
                return
            # not served when sync last served the facility
            due = np.unique(facility[joined > self._synced[facility]]).tolist()
            for g in sorted({g for f in due for g in self._feeders[f]}, key=self._rank.__getitem__):
                serve(g, until)
            self._synced[due] = until

    def ahead(self, platform: int, t: float, serve: Serve) -> None:
        """Bring the facilities served ahead that feed `platform` to time t at least (see the
        module): each up to the earliest start still waiting at it, and no further than the
        facilities before it."""
        if self._ready[platform] >= t:
            return
        for f in self._ahead_of[platform]:
            if self._served_to[f] >= t:
                continue
            # short of the earliest start: one joining at that very time is served with the others then
            to = max(t, float(np.nextafter(self._earliest(f), -np.inf))) if f in self._roots else np.inf
            for g in self._pred_ahead[f]:
                to = min(to, self._served_to[g])
            if to > self._served_to[f]:
                serve(f, to)
                self._served_to[f] = to
        # served further through other platforms meanwhile is only missed here, and looked at again
        self._ready[platform] = min((self._served_to[f] for f in self._ahead_of[platform]), default=np.inf)

    def _earliest(self, f: int) -> float:
        """The earliest start (s) of the journeys beginning at facility f that still wait (inf: none)."""
        starts, ids, cursor = self._roots[f]
        started = self.rec.t_start
        # past those started already, a block at a time (the loop would step one journey at a time)
        while cursor < len(ids):
            waits = np.flatnonzero(np.isnan(started[ids[cursor: cursor + 256]]))
            if len(waits):
                cursor += int(waits[0])
                break
            cursor += 256
        cursor = min(cursor, len(ids))
        self._roots[f] = (starts, ids, cursor)
        return float(starts[cursor]) if cursor < len(ids) else np.inf


def _starts_by_facility(first: np.ndarray, who: np.ndarray, t_depart: np.ndarray,
                        static: set[int]) -> dict[int, tuple[np.ndarray, np.ndarray, int]]:
    """Per static facility where waiting journeys begin: their starts sorted, their ids in that
    order, and a cursor (0)."""
    if not len(who):
        return {}
    # one sort by facility, then start (ties in the order given), cut per facility: a pass over the
    # journeys per facility would cost facilities x journeys (a city's day: 10^3 x 5 x 10^6)
    order = np.lexsort((t_depart[who], first))
    f_sorted, ids = first[order], who[order]
    cuts = np.flatnonzero(f_sorted[1:] != f_sorted[:-1]) + 1
    out = {}
    for lo, hi in zip([0, *cuts.tolist()], [*cuts.tolist(), len(ids)]):
        f = int(f_sorted[lo])
        if f in static:
            out[f] = (t_depart[ids[lo:hi]], ids[lo:hi], 0)
    return out


def _feeders(pred: list[set[int]], rank: dict[int, int], static: set[int]) -> list[list[int]]:
    """Per facility: the facilities, not static, that can feed it through facilities alone, and
    itself (when not static), in topological order: what is served up to a time before it is."""
    return [sorted((g for g in reach({f}, pred) if g not in static), key=rank.__getitem__) for f in range(len(pred))]


def _ride_bound(plan: Plan) -> np.ndarray:
    """Per facility: every template passing it goes on to a train (through facilities alone), none
    ends there; False for facilities no template passes (choices on the way may reach them)."""
    kind, target = plan.step_kind, plan.step_target
    is_fac = kind == STEP_FACILITY
    # the next step that is not a facility, for every step: a minimum over the positions after it,
    # taken from the end (each template ends with END, so it never looks into the next template)
    pos = np.where(is_fac, len(kind), np.arange(len(kind)))
    after = np.minimum.accumulate(pos[::-1])[::-1][is_fac]
    to_train = kind[np.minimum(after, len(kind) - 1)] == STEP_RIDE
    out = np.zeros(plan.n_facilities, dtype=bool)
    out[target[is_fac][to_train]] = True
    out[target[is_fac][~to_train]] = False
    return out


class _Ends:
    """Ends of journeys, each with the time by when it is to be served (`due`), when it joined its
    facility and the facility, taken by `due`: a calendar of one-second buckets up to a horizon
    (later ones in the last bucket), each a linked list of entries in a pool whose freed entries
    are reused. The engine asks at every train, seconds apart, and ends mostly come hours before
    they are due: each end is put in its bucket once and taken out once, and the bucket of the
    current second is the only one read in part."""

    def __init__(self, horizon_s: float) -> None:
        self.head = np.full(int(max(horizon_s, 0.0)) + 2, -1, dtype=np.int64)
        """Per bucket (second): its first entry (-1: none)."""
        self.due, self.joined, self.facility = np.empty(1024), np.empty(1024), np.empty(1024, dtype=np.int64)
        self.next = np.empty(1024, dtype=np.int64)
        """Per entry: the next entry of its bucket, or of the free list (-1: none)."""
        self.state = np.asarray([0, 0, 0, -1], dtype=np.int64)
        """The current bucket (those before it are empty), entries held, entries ever used, first free entry."""
        self.low = np.asarray([np.inf])
        """A time (s) no end held is due before."""

    def add(self, due: np.ndarray, joined: np.ndarray, facility: np.ndarray) -> None:
        if not len(due):
            return
        used, need = int(self.state[2]), int(self.state[2]) + len(due)
        self.due, self.joined, self.facility, self.next = (grown(a, used, need) for a in
                                                           (self.due, self.joined, self.facility, self.next))
        _calendar_add(self.head, self.due, self.joined, self.facility, self.next, self.state, self.low,
                      np.asarray(due, dtype=np.float64), np.asarray(joined, dtype=np.float64),
                      np.asarray(facility, dtype=np.int64))

    def take(self, until: float) -> tuple[np.ndarray, np.ndarray]:
        """Remove the ends due by `until`: when they joined, and their facilities (in no set order)."""
        if until < self.low[0]:  # the usual answer, without a call into compiled code
            return _NO_TIMES, _NO_FACILITIES
        return _calendar_take(self.head, self.due, self.joined, self.facility, self.next, self.state, self.low, until)


LOOK_S = 600
"""How far ahead (s) _Ends looks for the next second with ends after taking those due: that far the
engine's next asks are answered without a look."""

_NO_TIMES = np.zeros(0)
_NO_FACILITIES = np.zeros(0, dtype=np.int64)


@numba.njit(cache=True, nogil=True)
def _tracked_ends(tracked: np.ndarray, return_of: np.ndarray, t_depart: np.ndarray, c: np.ndarray, t: np.ndarray,
                  target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ends WaitingJourneys.track keeps of commuters `c` joining facilities `target` at times t:
    when each is due, when it joined, and its facility."""
    # compiled: at every batch joining facilities, a filter that would be a dozen array operations
    # (most batches join untracked entrances and keep nothing)
    keep = np.zeros(len(c), dtype=np.bool_)
    for i in range(len(c)):
        keep[i] = tracked[target[i]] and return_of[c[i]] >= 0
    joined, facility = t[keep], target[keep]
    due = np.maximum(joined, t_depart[return_of[c[keep]]] - LOOKAHEAD_S)
    return due, joined, facility.astype(np.int64)


@numba.njit(cache=True, nogil=True)
def _calendar_add(head: np.ndarray, due: np.ndarray, joined: np.ndarray, facility: np.ndarray, nxt: np.ndarray,
                  state: np.ndarray, low: np.ndarray, new_due: np.ndarray, new_joined: np.ndarray,
                  new_facility: np.ndarray) -> None:
    """Put the new ends in their buckets (_Ends; the pool has room for them all past the entries ever
    used): the bucket of their second, the current one if that has passed, the last if beyond it."""
    # compiled: a constant-time insert per end, a loop of scalar steps
    last = len(head) - 1
    for i in range(len(new_due)):
        d = new_due[i]
        if d < low[0]:
            low[0] = d
        b = last if d >= last else int(np.floor(d))
        if b < state[0]:
            b = state[0]
        slot = state[3]
        if slot >= 0:
            state[3] = nxt[slot]
        else:
            slot = state[2]
            state[2] += 1
        due[slot], joined[slot], facility[slot] = d, new_joined[i], new_facility[i]
        nxt[slot] = head[b]
        head[b] = slot
    state[1] += len(new_due)


@numba.njit(cache=True, nogil=True)
def _calendar_take(head: np.ndarray, due: np.ndarray, joined: np.ndarray, facility: np.ndarray, nxt: np.ndarray,
                   state: np.ndarray, low: np.ndarray, until: float) -> tuple[np.ndarray, np.ndarray]:
    """Take the ends due by `until` out of their buckets (_Ends): the buckets before its second
    whole, that second's in part; their join times and facilities. `low` becomes the earliest due
    of the ends kept in that second, or the start of the next second with ends (looked for up to
    LOOK_S ahead), whichever is earlier."""
    # compiled: a walk of linked lists, entry by entry
    last = len(head) - 1
    upto = last if until >= last else int(np.floor(until))
    out_joined, out_facility = np.empty(16), np.empty(16, dtype=np.int64)
    k = 0
    kept = np.inf
    b = state[0]
    while b <= max(upto, state[0]):
        whole = b < upto  # every entry of an earlier bucket is due by `until`
        prev, slot = -1, head[b]
        while slot >= 0:
            following = nxt[slot]
            if whole or due[slot] <= until:
                if k == len(out_joined):
                    out_joined = np.concatenate((out_joined, np.empty(k)))
                    out_facility = np.concatenate((out_facility, np.empty(k, dtype=np.int64)))
                out_joined[k], out_facility[k] = joined[slot], facility[slot]
                k += 1
                if prev >= 0:
                    nxt[prev] = following
                else:
                    head[b] = following
                nxt[slot] = state[3]  # onto the free list
                state[3] = slot
            else:
                prev = slot
                kept = min(kept, due[slot])
            slot = following
        b += 1
    if upto > state[0]:
        state[0] = upto
    state[1] -= k
    ahead = state[0] + 1
    while ahead < last and ahead <= state[0] + LOOK_S and head[ahead] < 0:
        ahead += 1
    low[0] = min(kept, float(ahead))
    return out_joined[:k], out_facility[:k]
