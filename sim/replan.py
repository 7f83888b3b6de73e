"""Choices on the way: the decision hook through which the engines ask for a new choice.

A commuter standing on a platform re-chooses when no train still to come can carry them on their
planned leg (`stranded`), after a full train left them behind (`denied`), when a train cut short by a
closure put them off (`put_off`), when they learn there that a closure cuts their next train
(`announced`), and aboard a train that a closure cuts short of their station, at its first stop once
the closure is announced (`aboard`); see schema.DecisionsSpec. (Letting a train go for a better later one needs no new
route: departures.Departures.later_is_better.) The options are the rest of the planned route (not when stranded;
aboard: staying on to where the train ends, priced as the ride there plus the cheapest option
there), the candidate routes from the station where they stand (boarding there or at a station its
interchanges reach; aboard, not on the train's own platform, where staying on is better) and the
outside option (schema.OutsideOptionSpec), each priced by the generalised cost of
route choice at the time of the decision: wait_weight * waits to the next train on the departure
board (sim.departures) + rides + walk_weight * walks (with mean service) + transfer_penalty per
boarding after the first (and for a first boarding on another platform) + fare / value of time. The
fare is that of the rest of the trip alone. One option is drawn by the logit of route choice with a
uniform number fixed by (seed, replication, commuter, decision number), so that both engines, taking
decisions in whatever batches, draw the same.

`Choice` says what was chosen: the rest of the plan (`keep`), other legs (`legs`, with the steps
to get there from the platform), or leaving the network (`legs` empty, steps out of the station).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import numba
import numpy as np
from numba import types
from numba.typed import Dict

from . import rng as rngmod
from .choice import logit_pick
from .departures import Departures, first_departure
from .fares import FareSystem
from .network import Network
from .option_rows import Growing, OptionRows, RouteIds, Rows, enter, look_up, number
from .plan import Step, StepCompiler
from .routing import Access, CandidateSearch, LegNetwork, Route, RoutePool, candidate_sets
from .schema import OutsideOptionSpec, RoutingSpec

STRANDED = "stranded"
DENIED = "denied"
PUT_OFF = "put_off"
"""Put off a train whose run was cut short, with trains still to come for the leg."""
ANNOUNCED = "announced"
"""On a platform while a closure announced cuts the trains that would carry them."""
ABOARD = "aboard"
"""Aboard a train that a closure cuts short of their station, at a stop once it is announced."""


@dataclass(frozen=True)
class Choice:
    keep: bool
    """The rest of the planned route: nothing changes."""
    legs: tuple[int, ...] = ()
    """The legs chosen from here (leg options); empty when leaving the network."""
    steps: tuple[Step, ...] = ()
    """Steps from the platform: to and along the legs and out, or out of the station."""


class Replanner:
    """The decision hook: a pure function of (commuter, place, time, reason, decision number)
    given the network, its departure board and the routing parameters."""

    def __init__(self, network: Network, legs: LegNetwork, access: Access, search: CandidateSearch,
                 departures: Departures, compiler: StepCompiler, spec: RoutingSpec, destination: np.ndarray,
                 payment: np.ndarray, seed: int, replication: int, during: CandidateSearch | None = None,
                 closed: tuple[tuple[float, float], ...] = (), believed: Departures | None = None,
                 belief_spans: tuple[tuple[float, float], ...] = ()) -> None:
        """`during`: the candidate search on the network as it runs while closures are in force
        (disruptions.network_during), for decisions taken in one of the `closed` [start, end) spans.
        `believed`: the departure board of the trains as commuters believe they will run (a closure
        lasting to its expected end), for decisions taken in one of the `belief_spans` [from, to)."""
        self.net, self.legs, self.access, self.search, self.board = network, legs, access, search, departures
        self.believed, self.belief_spans = believed, belief_spans
        self._believed_key = (believed.key_index(departures.keys // departures.n_stations,
                                                 departures.keys % departures.n_stations)
                              if believed is not None else np.zeros(0, dtype=np.int64))
        """Per key of the board of the trains that run: its index on the believed board (-1: none)."""
        self.during, self.closed = during, closed
        self.compiler, self.spec = compiler, spec
        self.destination, self.payment = destination, payment
        self.fares = FareSystem(network, access.media)
        self.theta = spec.logit_scale_per_min / 60.0
        self.key = rngmod.stream_key(seed, replication, "decisions")
        self.km = network.station_km_matrix()
        self._routes = RouteIds(spec.max_transfers + 1)
        """Every route met, numbered (the options of situations are route ids)."""
        self._rows = OptionRows(network, legs, access, departures, self._routes, self.fares)
        self._candidates_of = Dict.empty(types.int64, types.int64)
        """(station, destination, band) code (see _candidate_runs) -> index of its run of candidates."""
        self._candidate_runs = (Growing(), Growing(), Growing())
        """Per run of candidates: its first place and length in the routes, then the route ids one
        after another: the candidate routes from a station to a destination in a start band that
        board at the station or at one its interchanges reach from inside, cheapest first."""
        self._planned_route_of = Dict.empty(types.int64, types.int64)
        """plan number x platform -> the route id of the plan ridden from that platform (_planned_routes)."""
        self._pools = {False: RoutePool(search), True: RoutePool(during) if during is not None else None}
        """Per search (the everyday one, the one during closures): the routes found so far."""
        self._whole = {False: Growing(), True: Growing()}
        """Per search: the route id of each route of its pool (its legs as legs of the whole network)."""
        self._reach = np.zeros((len(network.stations),) * 2, dtype=bool)
        """Whether an interchange leads from one station to the other inside."""
        for a, b in network.transfers:
            self._reach[a, b] = True
        self._made: dict[tuple | int, Choice] = {}
        """Every choice made so far, kept: those who make the same choice share its object (and the
        engines its steps)."""
        self._option_rows = Growing()
        """The rows (OptionRows) of the rail options of every situation, situation by situation (see first_row)."""
        self._option_routes = Growing()
        """The route id of each of those rows."""
        self._plans: list[tuple[int, ...]] = []
        """Every distinct tuple of planned legs asked for, numbered in order (see plan_number)."""
        self._plan_number: dict[tuple[int, ...], int] = {}
        self._situation_of = Dict.empty(types.int64, types.int64)
        """Situation code (see _codes) -> situation index (a compiled dict: every decision looks its
        situations up, tens of millions of them in a city's day)."""
        self._sit_arrays = (Growing(), Growing(), Growing(np.float64))
        """Per situation: number of options (the outside one included), the place of its first rail
        option in `_option_rows` (the others after it, in order), outside cost (s)."""
        self._outside = np.full((len(network.stations),) * 2, np.nan)
        """Per station and destination: the outside option's cost (s; _outside_costs), NaN until asked."""
        self._platform_station = network.platform_stations()
        self._low_band = -during.legs.n_bands if during is not None else 0
        """The lowest start band (see _bands)."""

    def uniform(self, commuters: np.ndarray, n: np.ndarray) -> np.ndarray:
        """The uniform number of each commuter's n-th decision."""
        return rngmod.keyed_uniforms(self.key, commuters, n)

    def plan_number(self, legs: tuple[int, ...]) -> int:
        """The number of a tuple of planned legs (numbered in the order asked, for every run)."""
        number = self._plan_number.get(legs)
        if number is None:
            number = self._plan_number[legs] = len(self._plans)
            self._plans.append(legs)
        return number

    def decide(self, reason: str, commuters: np.ndarray, station: np.ndarray, platform: np.ndarray,
               t: np.ndarray, planned_id: np.ndarray, n: np.ndarray,
               aboard: tuple[int, int, float] | None = None,
               left: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The choice of each commuter standing on `platform` of `station` at time t (s), whose
        planned legs from here are those numbered `planned_id` (plan_number; the leg waited for
        first), deciding for the n-th time: (keep: bool per commuter, the Choice per commuter as an
        object array; None where kept). `aboard` (reason ABOARD): the station, platform and time (s)
        where their train ends. `left`: per key of the departure board, its trains still to leave
        (None: every one); a key with none left carries no one, whatever the timetable says (its
        last train may have left at t itself)."""
        u = self.uniform(commuters, n)
        # commuters in the same place, at the same time, for the same destination, medium and plan share
        # their options and costs; only the draw is their own
        dest, medium = self.destination[commuters], self.payment[commuters]
        n_st, n_media = len(self.net.stations), len(self.access.media)
        first, group_of = _groups((planned_id.astype(np.int64) * n_media + medium) * n_st + dest, platform, t)
        sid = self._situation_ids(reason not in (STRANDED, ABOARD), platform[first], dest[first], medium[first],
                                  planned_id[first], self._bands(t[first]))
        cost = self._costs(sid, t[first], strictly=reason == DENIED, off_platform=reason == ABOARD, left=left)
        if reason == ABOARD:
            assert aboard is not None
            cost = np.column_stack([self._stay_aboard(aboard, dest[first], medium[first], planned_id[first], t[first],
                                                      left), cost])
        # a row with no option available draws its last column (the outside option's)
        picks = logit_pick(cost, u, self.theta, rows=group_of)
        keep = np.zeros(len(commuters), dtype=bool) if reason == STRANDED else picks == 0
        shift = 1 if reason == ABOARD else 0  # the column of staying aboard comes first
        last = self._sit_arrays[0].values[sid][group_of] - 1 + shift
        picks = np.where(picks >= cost.shape[1] - 1, last, picks)  # the outside option: each row's last
        chosen = np.empty(len(commuters), dtype=object)
        going = np.flatnonzero(~keep)
        if len(going):
            # commuters of one group share station, platform, destination and medium: one choice per
            # (group, pick) is made, and shared by those who took it
            width = int(picks.max()) + 1
            _, first_of, pair = np.unique(group_of[going] * width + picks[going], return_index=True,
                                          return_inverse=True)
            firsts = going[first_of]
            route = self._option_route(sid[group_of[firsts]], picks[firsts] - shift)
            made = np.empty(len(first_of), dtype=object)
            for j, key in enumerate(zip(station[firsts].tolist(), platform[firsts].tolist(), dest[firsts].tolist(),
                                        medium[firsts].tolist(), route.tolist())):
                made[j] = self._choice(None if key[4] < 0 else self._routes.legs_of[key[4]], key[:4])
            chosen[going] = made[pair.ravel()]
        return keep, chosen

    def _option_route(self, sid: np.ndarray, option: np.ndarray) -> np.ndarray:
        """The route id of option `option` (its column among the rail options) of each situation
        `sid`; -1 for the outside option (past the rail options)."""
        size, first_row = self._sit_arrays[0].values[sid], self._sit_arrays[1].values[sid]
        rail = option < size - 1
        return np.where(rail, self._option_routes.values[np.where(rail, first_row + option, 0)], -1)

    def _costs(self, sid: np.ndarray, t: np.ndarray, strictly: bool, off_platform: bool,
               left: np.ndarray | None) -> np.ndarray:
        """Generalised cost (s) of the options of each situation `sid` at its time t:
        a row per situation, its rail options in order, then the outside option in the last column
        (inf: not available; rows with fewer options padded with inf before it). `off_platform`: options
        boarding on the platform where they stand are not available; `left`: see decide."""
        size, first_row, outside = (a.values[sid] for a in self._sit_arrays)
        n_rail = size - 1  # every option but leaving
        width = int(size.max())
        group_of_row = np.repeat(np.arange(len(sid)), n_rail)
        column = np.arange(len(group_of_row)) - np.repeat(np.cumsum(n_rail) - n_rail, n_rail)
        cost = np.full((len(sid), width), np.inf)
        cost[:, width - 1] = outside
        if len(group_of_row):
            rail = self._rows.take(self._option_rows.values[first_row[group_of_row] + column])
            rail_cost = self._rail_costs(rail, t[group_of_row], strictly, left)
            cost[group_of_row, column] = np.where(rail.same_platform, np.inf, rail_cost) if off_platform else rail_cost
        return cost

    def _stay_aboard(self, end: tuple[int, int, float], dest: np.ndarray, medium: np.ndarray,
                     planned_id: np.ndarray, t: np.ndarray, left: np.ndarray | None) -> np.ndarray:
        """Generalised cost (s) of staying aboard from times t to where the train ends (`end`:
        station, platform, arrival time) and going on by the cheapest option there."""
        _, platform, t_end = end
        at_end = np.full(len(dest), t_end)
        there = self._situation_ids(True, np.full(len(dest), platform), dest, medium, planned_id, self._bands(at_end))
        return (t_end - t) + self._costs(there, at_end, strictly=False, off_platform=False, left=left).min(axis=1)

    def _codes(self, with_plan: bool, platform: np.ndarray, dest: np.ndarray, medium: np.ndarray,
               planned_id: np.ndarray, band: np.ndarray) -> np.ndarray:
        """One int64 per situation (see _situation_ids): its fields in mixed radix."""
        n_pl, n_st, n_media = len(self._platform_station), len(self.net.stations), len(self.access.media)
        n_bands = self.legs.n_bands - self._low_band
        code = ((planned_id.astype(np.int64) * n_media + medium) * n_st + dest) * n_pl + platform
        return (code * n_bands + (band - self._low_band)) * 2 + int(with_plan)

    def _situation_ids(self, with_plan: bool, platform: np.ndarray, dest: np.ndarray, medium: np.ndarray,
                       planned_id: np.ndarray, band: np.ndarray) -> np.ndarray:
        """Index of each situation: the options of commuters on `platform` for `dest` paying with
        `medium`, whose plan from here is numbered `planned_id` (an option when `with_plan`), in
        start band `band`, and what of their costs does not depend on the time (kept once asked; the
        new ones built in one go: their rail options are the plan, then the candidates from here
        other than the plan; each option's row is OptionRows', built once for every situation)."""
        codes = self._codes(with_plan, platform, dest, medium, planned_id, band)
        sid = look_up(self._situation_of, codes)
        missing = np.flatnonzero(sid < 0)
        if not len(missing):
            return sid
        new, first = np.unique(codes[missing], return_index=True)
        at = missing[first]
        where, to, paid = platform[at], dest[at], medium[at]
        station = self._platform_station[where]
        run = self._candidates(station, to, band[at])
        mine = self._planned_routes(planned_id[at], where) if with_plan else np.full(len(at), -1, dtype=np.int64)
        starts, lengths, routes = (g.values for g in self._candidate_runs)
        size, route = _options(routes, starts[run], lengths[run], mine)
        rows = self._rows.rows(route, np.repeat(where, size), np.repeat(to, size), np.repeat(paid, size))
        lo = self._option_rows.extend(rows)
        self._option_routes.extend(route)
        first_row = lo + np.cumsum(size) - size
        size_of, first_rows, outside = self._sit_arrays
        number(self._situation_of, new, size_of.extend(size + 1))
        first_rows.extend(first_row)
        outside.extend(self._outside_costs(station, to))
        sid[missing] = look_up(self._situation_of, codes[missing])
        return sid

    def _planned_routes(self, plan: np.ndarray, platform: np.ndarray) -> np.ndarray:
        """The route id of each plan (numbered `plan`, see plan_number) ridden from `platform`: its
        legs, the first from `platform` when that is another of its platforms (put off a train cut
        short: the same ride from where they stand) and a train runs so."""
        codes = plan.astype(np.int64) * len(self._platform_station) + platform
        out = look_up(self._planned_route_of, codes)
        missing = np.flatnonzero(out < 0)
        if len(missing):
            new, first = np.unique(codes[missing], return_index=True)
            ids = []
            for p, where in zip(plan[missing[first]].tolist(), platform[missing[first]].tolist()):
                planned = self._plans[p]
                leg = self.legs.options[planned[0]]
                if leg.platform != where:
                    here = int(self.legs.leg_at(where, leg.alight))
                    planned = planned if here < 0 else (here, *planned[1:])
                ids.append(self._routes.id_of(planned))
            enter(self._planned_route_of, new, np.asarray(ids, dtype=np.int64))
            out[missing] = look_up(self._planned_route_of, codes[missing])
        return out

    def _choice(self, legs: tuple[int, ...] | None, key: tuple[int, int, int, int]) -> Choice:
        """Other legs from here (or leaving when None), with the steps to and along them."""
        station, platform, dest, medium = key
        if legs is None:
            return self.leave_choice(station)
        name = self.access.media[medium]
        memo_key = (station, platform, legs, dest, name)
        if memo_key not in self._made:
            self._made[memo_key] = Choice(False, legs,
                                          tuple(self.compiler.continuation(station, platform, legs, dest, name)))
        return self._made[memo_key]

    def written_next(self, platform: np.ndarray, alight: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The next departure (s) at or after t from `platform` of a train serving `alight` in the
        written timetable (closures aside); inf where none."""
        legs = self.legs.leg_at(platform, alight)
        out = np.full(len(legs), np.inf)
        ok = legs >= 0
        out[ok] = self.legs.next_departure(legs[ok], t[ok])
        return out

    def leg_at(self, leg: int, alight: int) -> int | None:
        """The leg option from the boarding platform of leg option `leg` to station `alight` (None if
        no train runs so)."""
        here = int(self.legs.leg_at(self.legs.platform[leg], alight))
        return None if here < 0 else here

    def leave_choice(self, station: int) -> Choice:
        """Leaving the rail network through the exit of `station`."""
        if station not in self._made:
            self._made[station] = Choice(False, (), tuple(self.compiler.leave(station)))
        return self._made[station]

    def _bands(self, t: np.ndarray) -> np.ndarray:
        """The start band of each time t for the candidate search: of the search on the network as it
        runs while a closure is in force (negative, -1 - band), else of the everyday search."""
        out = self.legs.band_of(t)
        if self.during is not None and self.closed:
            hit = np.zeros(len(t), dtype=bool)
            for start, end in self.closed:
                hit |= (t >= start) & (t < end)
            out = np.where(hit, -1 - self.during.legs.band_of(t), out)
        return out

    def _candidates(self, station: np.ndarray, dest: np.ndarray, band: np.ndarray) -> np.ndarray:
        """The index of the run of candidates (`_candidate_runs`) from each `station` to `dest` in
        start band `band` (see _bands); those not asked before searched in one go per search (the
        everyday one, the one during closures: a search's cost is mostly per call), in the order
        first asked."""
        n_st = len(self.net.stations)
        codes = (station.astype(np.int64) * n_st + dest) * (self.legs.n_bands - self._low_band) + (band - self._low_band)
        run = look_up(self._candidates_of, codes)
        missing = np.flatnonzero(run < 0)
        if not len(missing):
            return run
        _, first = np.unique(codes[missing], return_index=True)
        at = missing[np.sort(first)]
        starts, lengths, routes = self._candidate_runs
        for during in (False, True):
            mine = at[(band[at] < 0) == during]
            if not len(mine):
                continue
            search = self.during if during else self.search
            assert search is not None
            od = station[mine].astype(np.int64) * n_st + dest[mine]
            pool = self._pools[during]
            assert pool is not None
            found, cand = candidate_sets(search, od, -1 - band[mine] if during else band[mine], unrouted_ok=True,
                                         pool=pool)  # a row of -1: no route from here
            whole = self._whole[during]
            whole.extend(self._whole_ids(found[whole.n:], search.legs))
            route = np.where(cand >= 0, whole.values[np.maximum(cand, 0)], -1)
            board = self.legs.board[self._routes.matrix[np.maximum(route, 0), 0]]
            here = station[mine][:, None]
            ok = (route >= 0) & ((board == here) | self._reach[here, board])
            size = ok.sum(axis=1)
            place = routes.extend(route[ok]) + np.cumsum(size) - size  # each row's in order
            lengths.extend(size)
            number(self._candidates_of, codes[mine], starts.extend(place))
        run[missing] = look_up(self._candidates_of, codes[missing])
        return run

    def _whole_ids(self, routes: list[Route], legs: LegNetwork) -> np.ndarray:
        """The route ids of `routes`, on `legs` (those of the network as it runs, with closures or
        without), as routes of the whole network: each leg the one with its platform and alighting
        station."""
        size = np.fromiter((len(route.legs) for route in routes), dtype=np.int64, count=len(routes))
        mine = np.fromiter(chain.from_iterable(route.legs for route in routes), dtype=np.int64, count=int(size.sum()))
        whole = self.legs.leg_at(legs.platform[mine], legs.alight[mine])
        assert (whole >= 0).all(), "a train of the network as it runs is one of the whole network's"
        ends = np.cumsum(size).tolist()
        legs_of = whole.tolist()
        return np.fromiter((self._routes.id_of(tuple(legs_of[end - n: end])) for n, end in zip(size.tolist(), ends)),
                           dtype=np.int64, count=len(routes))

    def _rail_costs(self, rows: Rows, t: np.ndarray, strictly: bool, left: np.ndarray | None) -> np.ndarray:
        """Generalised cost (s) of each row of options, leaving at times t: riding its legs on, waits to
        the next trains on the board (after t for a first leg boarded on the platform where the
        commuter stands when `strictly`: a full train has just left), on the board of the trains
        commuters believe will run where they weigh those (`_believing`); inf where no train is left
        (by the timetable after t, or by `left`: see decide)."""
        spec, board = self.spec, self.board
        believed = self.believed if self.believed is not None else board
        waits, rides = np.zeros(len(t)), np.zeros(len(t))
        found = _waits_and_rides(rows.keys, rows.walk_before, np.asarray(t, dtype=np.float64),
                                 rows.same_platform & strictly, self._believing(t), _NO_KEYS if left is None else left,
                                 board.sort_key, board.start, board.dep, board.arr, believed.sort_key, believed.start,
                                 believed.dep, believed.arr, self._believed_key, waits, rides)
        walks = rows.walk_after + rows.walk_before.sum(axis=1)
        cost = (spec.wait_weight * waits + rides + spec.walk_weight * walks + spec.transfer_penalty_s * rows.boardings
                + rows.fare / spec.value_of_time_cny_per_h * 3600.0)
        return np.where(found, cost, np.inf)

    def _believing(self, t: np.ndarray) -> np.ndarray:
        """Whether decisions at times t weigh the trains as commuters believe them (a closure
        announced, before its expected end and its true one) rather than as they run."""
        out = np.zeros(len(t), dtype=bool)
        if self.believed is not None:
            for start, end in self.belief_spans:
                out |= (t >= start) & (t < end)
        return out

    def _outside_costs(self, station: np.ndarray, dest: np.ndarray) -> np.ndarray:
        """Generalised cost (s) of leaving each `station` for `dest` by the outside option (inf
        without one)."""
        o = self.spec.outside_option
        if o is None:
            return np.full(len(station), np.inf)
        known = self._outside[station, dest]
        new = np.flatnonzero(np.isnan(known))
        spec = self.spec
        for a, b in set(zip(station[new].tolist(), dest[new].tolist())):
            time_s, fare = outside_trip(o, float(self.km[a, b]))
            self._outside[a, b] = (spec.wait_weight * o.wait_s + time_s + spec.walk_weight * self.access.exit_walk[a]
                                   + fare / spec.value_of_time_cny_per_h * 3600.0)
        return self._outside[station, dest]


def outside_trip(option: OutsideOptionSpec, straight_km: float) -> tuple[float, float]:
    """Ride time (s, without the wait) and fare (CNY) of the outside option over `straight_km`."""
    km = straight_km * option.detour_factor
    near = max(0.0, min(km, option.long_km) - option.base_km)
    far = max(0.0, km - max(option.long_km, option.base_km))
    fare = option.fare_base_cny + near * option.fare_per_km_cny + far * option.fare_long_per_km_cny
    return km / option.speed_kmh * 3600.0, fare


def _groups(code: np.ndarray, *columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows with equal `code` (int64) and equal values in every column: the first row of each group
    and each row's group."""
    for col in columns:
        if len(col) and not (col == col[0]).all():  # one value (the usual place and time): no further split
            _, inv = np.unique(col, return_inverse=True)
            _, code = np.unique(code, return_inverse=True)  # dense codes: the product below cannot overflow
            code = code.ravel() * (int(inv.max()) + 1) + inv.ravel()
    _, first, group = np.unique(code, return_index=True, return_inverse=True)
    return first.astype(np.int64), group.ravel()


_NO_KEYS = np.zeros(0, dtype=np.int64)
"""No count of trains left per key (see _waits_and_rides): every key has some."""


@numba.njit("b1[:](i8[:, :], f8[:, :], f8[:], b1[:], b1[:], i8[:], f8[:], i8[:], f8[:], f8[:], f8[:], i8[:], f8[:], f8[:], i8[:],"
             " f8[:], f8[:])", cache=True, nogil=True)
def _waits_and_rides(keys: np.ndarray, walk_before: np.ndarray, t: np.ndarray, strict_first: np.ndarray,
                     believe: np.ndarray, left: np.ndarray, sort_key: np.ndarray, start: np.ndarray, dep: np.ndarray,
                     arr: np.ndarray, b_sort_key: np.ndarray, b_start: np.ndarray, b_dep: np.ndarray,
                     b_arr: np.ndarray, believed_key: np.ndarray, waits: np.ndarray, rides: np.ndarray) -> np.ndarray:
    """For each row of option legs (`keys`: departure-board key indices, -1 past the last) leaving at t
    (s) after the walks `walk_before` each leg: the waits and rides (s, added into `waits` and
    `rides`) to the next trains, as Departures.next_after finds them (by first_departure; after the
    time for the first leg where `strict_first`), on the believed board (b_*, keys mapped by
    `believed_key`) where `believe` (empty: nowhere), a key with no train `left` (empty: all have
    some) carrying no one.
    Returns where every leg found a train."""
    # compiled: a decision prices a few rows a few legs long, and array operations cost more per call
    # than the arithmetic of all of them
    found = np.ones(len(t), dtype=np.bool_)
    for i in range(len(t)):
        tau = t[i] + walk_before[i, 0]
        for j in range(keys.shape[1]):
            key = keys[i, j]
            if key < 0:
                break
            if j:
                tau = tau + walk_before[i, j]
            if len(left) and left[key] == 0:
                found[i] = False
                break
            on_belief = len(believe) > 0 and believe[i]
            k = believed_key[key] if on_belief else key
            sk, st, dp, ar = (b_sort_key, b_start, b_dep, b_arr) if on_belief else (sort_key, start, dep, arr)
            row = first_departure(sk, st, k, tau, j == 0 and strict_first[i]) if k >= 0 else -1
            if row < 0 or np.isnan(ar[row]):
                found[i] = False
                break
            waits[i] += dp[row] - tau
            rides[i] += ar[row] - dp[row]
            tau = ar[row]
    return found


@numba.njit(cache=True, nogil=True)
def _options(routes: np.ndarray, start: np.ndarray, length: np.ndarray, mine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rail options (route ids) of new situations: each one's plan `mine` (none where -1), then
    its candidates (routes[start: start + length]) other than the plan; how many each has, and the
    options one situation after another."""
    # compiled: hundreds of thousands of new situations in a city's day, each a few routes long
    size = np.empty(len(start), dtype=np.int64)
    for i in range(len(start)):
        n = 1 if mine[i] >= 0 else 0
        for j in range(start[i], start[i] + length[i]):
            n += routes[j] != mine[i]
        size[i] = n
    out = np.empty(size.sum(), dtype=np.int64)
    k = 0
    for i in range(len(start)):
        if mine[i] >= 0:
            out[k] = mine[i]
            k += 1
        for j in range(start[i], start[i] + length[i]):
            if routes[j] != mine[i]:
                out[k] = routes[j]
                k += 1
    return size, out
