"""What the engines run: trains, and every commuter's itinerary as a template of steps plus their own
pre-drawn service times.

An itinerary template is the sequence of steps for one (route, payment medium): FACILITY (queue
and service at a facility), RIDE (wait on a platform, ride to the alighting station) and END (out
of the station), each preceded by a walk of `walk` seconds (the mean walker's; commuter i takes
`walk * walk_factor[i]`). Service times and walking speeds are drawn before the run, per facility
(per commuter) in commuter order, so both engines (and policy variants) see the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain

import numba
import numpy as np

from . import rng as rngmod
from .arrays import unique_inverse
from .choice import Assignment
from .network import FACILITY, Network
from .routing import Access, LegNetwork, Route
from .schema import WalkingSpec
from .timetable import Operations, Trains, stop_positions
from .walking import walk_factors

STEP_FACILITY = 1
STEP_RIDE = 2
STEP_END = 3
STEP_LEAVE = 4
"""Out of the station, leaving the rail network before the destination (its target: the station)."""

@dataclass(frozen=True)
class MeteredEntrance:
    """Crowd control at a station's entrances as the engines see it: the queue outside (a facility),
    the station's platforms, whose waiting riders count against the holding limit (persons), and
    the window (s) in which entry is metered."""

    facility: int
    platforms: tuple[int, ...]
    limit: int
    start_s: float
    end_s: float


def metered_entrances(network: Network) -> tuple[MeteredEntrance, ...]:
    """The metered entrances of the stations with crowd control."""
    out = []
    for st in network.stations:
        ec = st.entry_control
        if ec is not None:
            platforms = tuple(pl.index for pl in network.platforms if pl.station == st.index)
            out.append(MeteredEntrance(ec.facility, platforms, ec.limit, ec.start_s, ec.end_s))
    return tuple(out)


@dataclass(frozen=True)
class TicketRules:
    """Reserved seats as the engines see them (schema.ReservationSpec): what each train sells, where
    a ticket is needed, and each commuter's draws."""

    seats: np.ndarray  # int64 per train: seats sold to the model's riders, -1 on a line without reservations
    standing: np.ndarray  # int64 per train: standing tickets sold to them once the seats are
    advance_share: np.ndarray  # float64 per platform: share of riders who book before the day, NaN: no ticket needed
    margin_s: np.ndarray  # float64 per platform: how long before a train's gates close advance buyers plan to be there (s)
    draw: np.ndarray  # float64 per commuter in [0, 1): they book ahead where it is below the platform's advance_share
    booking_order: np.ndarray  # int64: the commuters in the order they book ahead

    @property
    def reserved(self) -> np.ndarray:
        """Per platform: a ticket for one train is needed to board there."""
        return ~np.isnan(self.advance_share)


def ticket_rules(network: Network, trains: Trains, n: int, seed: int, replication: int) -> TicketRules | None:
    """The reserved-seat rules of the network's lines (None when no line has reservations)."""
    if all(ln.reservations is None for ln in network.lines):
        return None
    line_of = np.asarray([network.patterns[int(p)].line for p in trains.pattern], dtype=np.int64)
    res = [ln.reservations for ln in network.lines]
    sold = [r.for_riders() if r is not None else (-1, 0) for r in res]
    seats = np.asarray([x for x, _ in sold], dtype=np.int64)
    standing = np.asarray([y for _, y in sold], dtype=np.int64)
    by_platform = [res[pl.line] for pl in network.platforms]
    return TicketRules(
        seats=seats[line_of] if len(line_of) else np.zeros(0, dtype=np.int64),
        standing=standing[line_of] if len(line_of) else np.zeros(0, dtype=np.int64),
        advance_share=np.asarray([r.advance_share if r is not None else np.nan for r in by_platform], dtype=float),
        margin_s=np.asarray([r.booking_margin_s if r is not None else 0.0 for r in by_platform], dtype=float),
        draw=rngmod.stream(seed, replication, "tickets/advance").random(n),
        booking_order=rngmod.stream(seed, replication, "tickets/booking_order").permutation(n),
    )


Step = tuple[int, int, int, float, int]
"""(kind, target, alighting station, walk before (s), leg option of a RIDE or -1)."""


@dataclass(frozen=True)
class Plan:
    """Immutable engine input. Step arrays are flat; template t owns rows
    template_start[t] .. template_start[t+1]-1. Commuter i's recorded legs and facility visits use
    slots leg_offset[i] + leg number and fac_offset[i] + facility ordinal."""

    trains: Trains
    ops: Operations
    stop_pos: np.ndarray  # [pattern, station] -> stop position or -1
    n_stations: int
    n_platforms: int
    fac_servers: np.ndarray  # int64 per facility
    step_kind: np.ndarray  # int8
    step_target: np.ndarray  # int32: facility or platform index, -1 for END
    step_alight: np.ndarray  # int32: alighting station of a RIDE, else -1
    step_walk: np.ndarray  # float64 s, walked before the step
    step_ordinal: np.ndarray  # int32: leg number of a RIDE, facility ordinal of a FACILITY
    step_leg: np.ndarray  # int32: leg option (of the routing legs) of a RIDE, else -1
    step_facs_before: np.ndarray  # int32: facility steps before this one in its template
    template_start: np.ndarray  # int64, n_templates + 1
    t_depart: np.ndarray  # float64 per commuter
    template: np.ndarray  # int32 per commuter
    leg_offset: np.ndarray  # int64, n_commuters + 1
    fac_offset: np.ndarray  # int64, n_commuters + 1
    walk_factor: np.ndarray  # float64 per commuter: their walk time per second of the network's walks
    service_s: np.ndarray  # float64 per facility slot
    slot_facility: np.ndarray  # int32 per facility slot
    t_end: float
    """The simulation covers times strictly before t_end (s)."""
    boarding_closes_s: np.ndarray
    """Per platform: how long before a departure its gates close (s); a rider must be there by then."""
    entrances: tuple[MeteredEntrance, ...] = ()
    tickets: TicketRules | None = None
    """Reserved seats (None: no line has them)."""
    after: np.ndarray | None = None
    """Per commuter (int64): the journey that must end before theirs starts (a tour's outbound
    journey, for its return), -1 for none; None when nobody waits for another journey. Such a
    journey starts at its t_depart or when that one ends (arrives, or leaves the network), whichever
    is later; never while that one is still travelling."""

    @property
    def n_commuters(self) -> int:
        return len(self.t_depart)

    @property
    def n_facilities(self) -> int:
        return len(self.fac_servers)


Piece = tuple[tuple[Step, ...], float]
"""Steps through a station and the walk after them."""


class StepCompiler:
    """Compiles (route, medium) pairs into steps from cached pieces: the entry of a station, the
    change between two stations, the exit of a station (each per medium where it matters)."""

    def __init__(self, network: Network, legs: LegNetwork, access: Access) -> None:
        self.net, self.legs, self.access = network, legs, access
        self._pieces: dict[tuple, Piece] = {}

    def _station_piece(self, path, needs_ticket: bool) -> Piece:
        steps, walk = [], 0.0
        for st in path:
            if st.kind != FACILITY:
                walk += st.value
                continue
            fac = self.net.facilities[int(st.value)]
            if fac.kind == "ticket_machine" and not needs_ticket:
                continue
            steps.append((STEP_FACILITY, fac.index, -1, walk, -1))
            walk = 0.0
        return tuple(steps), walk

    def entry(self, station: int, medium: str) -> Piece:
        key = ("entry", station, medium)
        if key not in self._pieces:
            st = self.net.stations[station]
            self._pieces[key] = self._station_piece(st.entry, self.access.needs_ticket(medium, st.operator))
        return self._pieces[key]

    def exit(self, station: int) -> Piece:
        key = ("exit", station)
        if key not in self._pieces:
            self._pieces[key] = self._station_piece(self.net.stations[station].exit, False)
        return self._pieces[key]

    def change(self, a: int, b: int, medium: str) -> Piece:
        key = ("change", a, b, medium)
        if key not in self._pieces:
            if a == b:
                self._pieces[key] = ((), self.net.stations[a].transfer_walk_s)
            else:
                path = self.access.transfer_path(a, b, medium)
                assert path is not None, "routes without a path for the medium are never chosen"
                needs = self.access.needs_ticket(medium, self.net.stations[b].operator)
                self._pieces[key] = self._station_piece(path.steps, needs)
        return self._pieces[key]

    def templates(self, routes: Sequence[Route], media: Sequence[str], medium: np.ndarray) -> Templates:
        """The steps of each route paid with its medium (`medium`: per route, a code into the names
        `media`): the entry of the station of its first boarding, each ride with the change before
        it, the exit of its last alighting station and END. A route starting (ending) at a station
        other than its first boarding (last alighting) station walks there in the street and enters
        (leaves) through the station it rides from (to). The pieces through stations are built once
        each (entry, change, exit); a kernel lays them out per route."""
        n = len(routes)
        n_legs = np.fromiter((len(r.legs) for r in routes), dtype=np.int64, count=n)
        leg = np.fromiter(chain.from_iterable(r.legs for r in routes), dtype=np.int64, count=int(n_legs.sum()))
        first = np.cumsum(n_legs) - n_legs  # each route's first leg in `leg`
        last = first + n_legs - 1
        medium = np.asarray(medium, dtype=np.int64)
        n_st, n_m = len(self.net.stations), len(media)
        board, alight = self.legs.board[leg], self.legs.alight[leg]
        bank = _PieceBank()
        entry = bank.ids(board[first] * n_m + medium, lambda code: self.entry(code // n_m, media[code % n_m]))
        exits = bank.ids(alight[last], self.exit)
        later = np.ones(len(leg), dtype=bool)
        later[first] = False  # a change comes before every leg but the first
        after_leg = np.flatnonzero(later)
        change = np.full(len(leg), -1, dtype=np.int64)
        change[after_leg] = bank.ids((alight[after_leg - 1] * n_st + board[after_leg]) * n_m
                                     + np.repeat(medium, n_legs)[after_leg],
                                     lambda code: self.change(code // n_m // n_st, code // n_m % n_st,
                                                              media[code % n_m]))
        start = np.fromiter((r.start for r in routes), dtype=np.int64, count=n)
        end = np.fromiter((r.end for r in routes), dtype=np.int64, count=n)
        street = self.access.street_walk

        def street_walk(code: int) -> float:  # code: from * n_st + to
            return street.get((code // n_st, code % n_st), 0.0)

        walk_in = _per_distinct(start * n_st + board[first], street_walk, float)
        walk_out = _per_distinct(alight[last] * n_st + end, street_walk, float)
        return Templates(*_lay_out(n_legs, leg, self.legs.platform[leg], alight, entry, walk_in, change, exits,
                                   walk_out, *bank.arrays()))

    def continuation(self, station: int, platform: int, legs: tuple[int, ...], end: int, medium: str) -> list[Step]:
        """Steps for riding `legs` on to `end` from `platform` of `station`, where the commuter
        stands: no walk to a first leg from that platform, the station's change walk to another of
        its platforms, the change path to another station."""
        board = self.legs.options[legs[0]]
        out: list[Step] = []
        walk = 0.0
        if board.platform != platform:
            walk = self._add(out, self.change(station, board.board, medium), 0.0)
        return self._rides(out, walk, legs, end, medium)

    def leave(self, station: int) -> list[Step]:
        """Steps out of `station` (its exit) leaving the rail network there."""
        out: list[Step] = []
        walk = self._add(out, self.exit(station), 0.0)
        out.append((STEP_LEAVE, station, -1, walk, -1))
        return out

    @staticmethod
    def _add(out: list[Step], piece: Piece, walk: float) -> float:
        """Append a piece's steps after `walk` (s); the walk after them."""
        steps, after = piece
        if not steps:
            return walk + after
        kind, target, alight, before, leg = steps[0]
        out.append((kind, target, alight, walk + before, leg))
        out.extend(steps[1:])
        return after

    def _rides(self, out: list[Step], walk: float, route_legs: tuple[int, ...], end: int, medium: str) -> list[Step]:
        """Append the rides of `route_legs` (with the changes between them), the exit and the END."""
        legs = [self.legs.options[k] for k in route_legs]
        for pos, (k, leg) in enumerate(zip(route_legs, legs)):
            if pos > 0:
                walk = self._add(out, self.change(legs[pos - 1].alight, leg.board, medium), walk)
            out.append((STEP_RIDE, leg.platform, leg.alight, walk, k))
            walk = 0.0
        walk = self._add(out, self.exit(legs[-1].alight), walk)
        out.append((STEP_END, -1, -1, walk + self.access.street_walk.get((legs[-1].alight, end), 0.0), -1))
        return out


@dataclass(frozen=True)
class Templates:
    """The steps of many itinerary templates, flat: template t owns rows start[t] .. start[t+1]-1
    (the columns of Step)."""

    kind: np.ndarray  # int8
    target: np.ndarray  # int32: facility or platform index, -1 for END
    alight: np.ndarray  # int32: alighting station of a RIDE, else -1
    walk: np.ndarray  # float64: walked before the step (s)
    leg: np.ndarray  # int32: leg option of a RIDE, else -1
    start: np.ndarray  # int64, n_templates + 1


class _PieceBank:
    """Pieces (StepCompiler's) numbered as they come, for _lay_out: their steps in one table."""

    def __init__(self) -> None:
        self._number: dict[Piece, int] = {}

    def ids(self, codes: np.ndarray, piece: Callable[[int], Piece]) -> np.ndarray:
        """The number of the piece of each code (`piece` builds it from a code, once per distinct code)."""
        return _per_distinct(codes, lambda code: self._number.setdefault(piece(code), len(self._number)), np.int64)

    def arrays(self) -> tuple[np.ndarray, ...]:
        """Per piece, its first row and the walk after it (s); per row, the Step's columns."""
        pieces = list(self._number)  # in number order
        sizes = np.fromiter((len(steps) for steps, _ in pieces), dtype=np.int64, count=len(pieces))
        rows = np.asarray([step for steps, _ in pieces for step in steps], dtype=float).reshape(-1, 5)
        after = np.fromiter((walk for _, walk in pieces), dtype=float, count=len(pieces))
        return (np.concatenate([[0], np.cumsum(sizes)]), after, rows[:, 0].astype(np.int64),
                rows[:, 1].astype(np.int64), rows[:, 2].astype(np.int64), rows[:, 3].copy(), rows[:, 4].astype(np.int64))


def _per_distinct(codes: np.ndarray, value: Callable[[int], float], dtype: type) -> np.ndarray:
    """value(code) of each code (as `dtype`), called once per distinct code in ascending order."""
    uniq, inverse = unique_inverse(codes)
    return np.asarray([value(code) for code in uniq.tolist()], dtype=dtype)[inverse]


@numba.njit(cache=True, nogil=True)
def _lay_out(n_legs, leg, platform, alight, entry, walk_in, change, exits, walk_out, piece_start, piece_after,
             row_kind, row_target, row_alight, row_before, row_leg):
    """StepCompiler.templates' steps: per template its entry piece (after the walk walk_in, s), its
    legs (leg, platform, alighting station; the change piece before each but the first), its exit
    piece and END (with the walk walk_out after the exit, s). A piece's walk before its first step
    takes the walk carried to it; a piece without steps passes the walk on, its own added
    (StepCompiler._add). Returns the Templates columns."""
    # compiled: a city's day has about a million templates of a dozen steps each; in Python each
    # step was a tuple
    n = len(n_legs)
    size = np.empty(n + 1, dtype=np.int64)
    size[0] = 0
    j = 0
    for i in range(n):
        rows = piece_start[entry[i] + 1] - piece_start[entry[i]] + piece_start[exits[i] + 1] - piece_start[exits[i]] + 1
        for _ in range(n_legs[i]):
            if change[j] >= 0:
                rows += piece_start[change[j] + 1] - piece_start[change[j]]
            rows += 1
            j += 1
        size[i + 1] = size[i] + rows
    total = size[n]
    kind = np.empty(total, dtype=np.int8)
    target = np.empty(total, dtype=np.int32)
    down = np.empty(total, dtype=np.int32)
    walk = np.empty(total, dtype=np.float64)
    ride = np.empty(total, dtype=np.int32)
    j = 0
    for i in range(n):
        r = size[i]
        carry = walk_in[i]
        for step in range(n_legs[i] + 2):
            if step == 0:
                p = entry[i]
            elif step == n_legs[i] + 1:
                p = exits[i]
            else:
                p = change[j]
            if p >= 0:  # a piece: its steps, the walk carried to the first
                lo, hi = piece_start[p], piece_start[p + 1]
                for q in range(lo, hi):
                    kind[r], target[r], down[r], ride[r] = row_kind[q], row_target[q], row_alight[q], row_leg[q]
                    walk[r] = carry + row_before[q] if q == lo else row_before[q]
                    r += 1
                carry = piece_after[p] if hi > lo else carry + piece_after[p]
            if 0 < step <= n_legs[i]:
                kind[r], target[r], down[r], walk[r], ride[r] = STEP_RIDE, platform[j], alight[j], carry, leg[j]
                carry = 0.0
                r += 1
                j += 1
        kind[r], target[r], down[r], walk[r], ride[r] = STEP_END, -1, -1, carry + walk_out[i], -1
    return kind, target, down, walk, ride, size


@numba.njit(cache=True, nogil=True)
def _slot_facilities(template_facilities: np.ndarray, template_first: np.ndarray, template: np.ndarray,
                     fac_offset: np.ndarray) -> np.ndarray:
    """The facility of every facility slot: commuter i's slots (from fac_offset[i]) take their
    template's facility steps in order (template_facilities, template t's from template_first[t])."""
    # compiled: one pass over a city day's 6 x 10^7 slots; as arrays, four temporaries of that size
    out = np.empty(fac_offset[-1], dtype=np.int32)
    for i in range(len(template)):
        first = template_first[template[i]]
        for j in range(fac_offset[i + 1] - fac_offset[i]):
            out[fac_offset[i] + j] = template_facilities[first + j]
    return out


@numba.njit(cache=True, nogil=True)
def _in_slot_order(slot_facility: np.ndarray, block: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Per slot, its service time (s): facility f's draws (draws[block[f]:block[f + 1]]) to its
    slots in slot order."""
    # compiled: a cursor per facility walks its block as the slots come (a stable counting sort's
    # scatter; the sort by facility it replaces cost seconds on a city's day)
    cursor = block[:-1].copy()
    out = np.empty(len(slot_facility))
    for s in range(len(slot_facility)):
        f = slot_facility[s]
        out[s] = draws[cursor[f]]
        cursor[f] += 1
    return out


def medium_classes(network: Network, access: Access, media: tuple[str, ...]) -> np.ndarray:
    """A class index per medium: media whose itineraries are identical everywhere (same ticket
    needs on every operator, same interchange paths open) share a class and a template."""
    paths = [p for group in network.transfers.values() for p in group]
    seen: dict[tuple, int] = {}
    out = []
    for m in media:
        signature = (tuple(access.needs_ticket(m, o.index) for o in network.operators),
                     tuple(p.media is None or m in p.media for p in paths))
        out.append(seen.setdefault(signature, len(seen)))
    return np.asarray(out, dtype=np.int64)


def _exclusive_ordinal(mask: np.ndarray, starts: np.ndarray, template_of_step: np.ndarray) -> np.ndarray:
    """For each step: how many earlier steps of its template satisfy `mask`."""
    before = np.cumsum(mask) - mask
    return before - before[starts[template_of_step]]


def build_plan(network: Network, legs: LegNetwork, access: Access, assignment: Assignment, payment: np.ndarray,
               media: tuple[str, ...], t_depart: np.ndarray, trains: Trains, ops: Operations, t_end: float,
               seed: int, replication: int, walking: WalkingSpec | None = None,
               walk_factor: np.ndarray | None = None, after: np.ndarray | None = None) -> Plan:
    """Compile templates for the (route, medium class) pairs in use, draw every service time and
    every commuter's walking speed (`walking`; None: the network's walk times for everyone). Routes
    are leg indices of `legs`; walks and paths through stations per medium come from `access`.
    `walk_factor`: the commuters' walk factors drawn already, by a plan of the same commuters, seed
    and replication (they do not depend on the routes). `after`: see Plan.after."""
    n = len(t_depart)
    klass = medium_classes(network, access, media)
    representative = {int(c): media[m] for m, c in reversed(list(enumerate(klass)))}
    n_classes = int(klass.max()) + 1 if len(klass) else 1
    pair = assignment.route_of.astype(np.int64) * n_classes + klass[payment]
    uniq, template = unique_inverse(pair)
    steps = StepCompiler(network, legs, access).templates([assignment.routes[r] for r in (uniq // n_classes).tolist()],
                                                          [representative[k] for k in range(n_classes)],
                                                          uniq % n_classes)
    step_kind, step_target, template_start = steps.kind, steps.target, steps.start
    lengths = np.diff(template_start)
    template_of_step = np.repeat(np.arange(len(uniq), dtype=np.int64), lengths)
    is_ride = step_kind == STEP_RIDE
    is_fac = step_kind == STEP_FACILITY
    facs_before = _exclusive_ordinal(is_fac, template_start, template_of_step)
    ordinal = np.where(is_ride, _exclusive_ordinal(is_ride, template_start, template_of_step),
                       np.where(is_fac, facs_before, 0))
    n_legs = np.bincount(template_of_step[is_ride], minlength=len(uniq))
    n_fac = np.bincount(template_of_step[is_fac], minlength=len(uniq))
    template = template.astype(np.int32)
    n_legs_c = n_legs[template]
    n_fac_c = n_fac[template]
    leg_offset = np.concatenate([[0], np.cumsum(n_legs_c)])
    fac_offset = np.concatenate([[0], np.cumsum(n_fac_c)])

    # facility of every slot: the template's facility steps, in order
    slot_facility = _slot_facilities(step_target[is_fac], np.concatenate([[0], np.cumsum(n_fac)]), template,
                                     fac_offset)
    # each facility's service times drawn in one block, in its slots' order, then put in their slots
    count = np.bincount(slot_facility, minlength=len(network.facilities))
    block = np.concatenate([[0], np.cumsum(count)])
    draws = np.empty(int(block[-1]))
    for f, fac in enumerate(network.facilities):
        if count[f]:
            g = rngmod.stream(seed, replication, f"service/{fac.id}")
            draws[block[f]: block[f + 1]] = fac.service.sample(g, int(count[f]))
    service = _in_slot_order(slot_facility, block, draws)
    del draws

    plan = Plan(
        trains=trains,
        ops=ops,
        stop_pos=stop_positions(network),
        n_stations=len(network.stations),
        n_platforms=len(network.platforms),
        fac_servers=np.asarray([f.servers for f in network.facilities], dtype=np.int64),
        step_kind=step_kind,
        step_target=step_target,
        step_alight=steps.alight,
        step_walk=steps.walk,
        step_ordinal=ordinal.astype(np.int32),
        step_leg=steps.leg,
        step_facs_before=facs_before.astype(np.int32),
        template_start=template_start,
        t_depart=np.asarray(t_depart, dtype=float),
        template=template,
        leg_offset=leg_offset.astype(np.int64),
        fac_offset=fac_offset.astype(np.int64),
        walk_factor=(walk_factors(walking, n, rngmod.stream(seed, replication, "walking")) if walk_factor is None
                     else walk_factor),
        service_s=service,
        slot_facility=slot_facility,
        t_end=float(t_end),
        boarding_closes_s=np.asarray([network.stations[pl.station].boarding_closes_s for pl in network.platforms],
                                     dtype=float),
        entrances=metered_entrances(network),
        tickets=ticket_rules(network, trains, n, seed, replication),
        after=after,
    )
    return plan
