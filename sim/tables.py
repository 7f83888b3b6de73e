"""The output tables (trips, legs, trains, facilities, fares) assembled from the engine's records.

A leg of the tables is a ride on one train: planned legs that a commuter rode on the same train,
boarding it again at the station where they alighted (staying aboard a through train that runs onto
another line), are one leg, with no change of train between them. Columns follow docs/outputs.md;
string columns are pandas categoricals (dictionary-encoded in Parquet).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .arrays import index_dtype, unique_inverse
from .choice import Assignment
from .demand import TOUR_LEGS, Demand
from .engine.records import Records
from .engine.tickets import AHEAD, CLASS
from .fares import FareSystem, piece_fares
from .network import Network
from .plan import Plan, TicketRules
from .routing import LegNetwork, LegOption, Route, leg_matrix
from .timetable import Trains


@dataclass(frozen=True)
class Tables:
    trips: pd.DataFrame | None
    """Each table None when written as built and not kept (sim.api.RunResult reads it when asked)."""
    legs: pd.DataFrame | None
    trains: pd.DataFrame | None
    facilities: pd.DataFrame | None
    fares: pd.DataFrame | None
    """One row per operator section of every leg boarded (revenue per operator)."""
    zone_trips: pd.DataFrame | None = None
    """One row per commuter drawn between zones, with the mode chosen (sim.zones.zone_trips_table);
    None without zones."""


@dataclass(frozen=True)
class TablePlan:
    """What the tables read of a run's plan (sim.plan.Plan): its trains, each commuter's planned
    start (s) and the reserved-seat rules. The rest of a plan (steps, service times, walking speeds:
    about 100 bytes per journey) only the engines read, and can be let go before the tables."""

    trains: Trains
    t_depart: np.ndarray
    tickets: TicketRules | None

    @classmethod
    def of(cls, plan: Plan) -> TablePlan:
        return cls(plan.trains, plan.t_depart, plan.tickets)

    @property
    def n_commuters(self) -> int:
        return len(self.t_depart)


@dataclass(frozen=True)
class Rides:
    """The commuters' planned legs (the plan's leg slots) grouped into rides, one per train ridden:
    a slot joins the ride of the slot before when the commuter boarded the same train again where
    they had alighted from it."""

    # slots and rides are numbered in 32 bits while they fit (half the room, for tens of millions of rides)
    slot_ride: np.ndarray  # int per leg slot: its ride
    stay: np.ndarray  # bool per leg slot: continues the slot before aboard the same train
    first: np.ndarray  # int per ride: its first leg slot
    last: np.ndarray  # int per ride: its last leg slot
    owner: np.ndarray  # int per ride: the commuter
    ordinal: np.ndarray  # int per ride: position among the commuter's rides (the tables' `leg`)
    start: np.ndarray  # int64 per commuter + 1: the commuter's first ride
    stays: np.ndarray  # int64 per commuter: bit j set when planned leg j + 1 continued leg j on its train


def ridden(plan: TablePlan, rec: Records, board: np.ndarray, alight: np.ndarray) -> Rides:
    """Rides from the records; `board`, `alight`: per leg slot, the planned boarding and alighting
    station."""
    n = plan.n_commuters
    owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(rec.leg_offset))
    ordinal = np.arange(len(owner), dtype=np.int64) - rec.leg_offset[owner]
    j = np.flatnonzero(ordinal > 0)
    train = rec.leg_train
    stay = np.zeros(len(owner), dtype=bool)
    # the same train, boarded where they left it (it had not moved on); a leg started on a train cut
    # short records the train boarded after it (elsewhere), so it never continues the leg before
    stay[j] = (train[j] >= 0) & (train[j] == train[j - 1]) & (board[j] == alight[j - 1]) & (rec.leg_ride_s[j] == 0)
    stays = np.zeros(n, dtype=np.int64)
    np.add.at(stays, owner[stay], np.left_shift(1, ordinal[stay] - 1))
    del ordinal
    index = index_dtype(len(owner))
    first = np.flatnonzero(~stay).astype(index)
    ride_owner = owner[first].astype(index)
    del owner
    start = np.concatenate([[0], np.cumsum(np.bincount(ride_owner, minlength=n))]).astype(np.int64)
    return Rides(slot_ride=(np.cumsum(~stay) - 1).astype(index), stay=stay, first=first,
                 last=(np.append(first[1:], len(stay))[:len(first)] - 1).astype(index), owner=ride_owner,
                 ordinal=(np.arange(len(first), dtype=np.int64) - start[ride_owner]).astype(index), start=start,
                 stays=stays)


def _cat(codes: np.ndarray, labels) -> pd.Categorical:
    # pandas takes any list-like as categories, pandas-stubs only an Index: hence the ignore
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=list(labels))  # type: ignore[call-overload]


def _grouped(route: Route, stays: int, options: tuple[LegOption, ...]) -> list[list[LegOption]]:
    """The route's leg options grouped into rides: leg j + 1 rides on with leg j when bit j of `stays` is set."""
    out: list[list[LegOption]] = []
    for j, k in enumerate(route.legs):
        if j and stays >> (j - 1) & 1:
            out[-1].append(options[k])
        else:
            out.append([options[k]])
    return out


def _ride_label(ride: list[LegOption]) -> str:
    """The lines whose track a ride runs on, in order, joined by '+' (one line named once)."""
    lines = [x for leg in ride for x in leg.label.split("+")]
    return "+".join(x for i, x in enumerate(lines) if i == 0 or x != lines[i - 1])


def _transfer_stations(rides: list[list[LegOption]], station_ids: list[str]) -> str:
    """Where the commuter changes trains, '>'-joined: the station id, or 'A~B' for a walk from
    platform station A to station B; '' for a direct trip."""
    out = []
    for before, after in zip(rides, rides[1:]):
        out.append(_change_label(station_ids[before[-1].alight], station_ids[after[0].board]))
    return ">".join(out)


def _change_label(a: str, b: str) -> str:
    """A change from platform station a to station b: the station id, or 'A~B' for a walk."""
    return a if a == b else f"{a}~{b}"


def _route_columns(assignment: Assignment, stays: np.ndarray, options: tuple[LegOption, ...],
                   station_ids: list[str]) -> tuple[pd.Categorical, pd.Categorical]:
    """Per commuter: `route` (rides joined by '>') and `transfer_stations` of the chosen route as
    ridden. The categories hold the chosen routes' labels as planned too."""
    width = int(stays.max(initial=0)) + 1
    keys, key_of = unique_inverse(assignment.route_of.astype(np.int64) * width + stays)
    k_route, k_stays = keys // width, keys % width
    chosen, route_pos = np.unique(k_route, return_inverse=True)
    planned_labels, planned_changes = _plain_strings([assignment.routes[k] for k in chosen.tolist()], options,
                                                     station_ids)
    labels = [planned_labels[i] for i in route_pos.tolist()]
    changes = [planned_changes[i] for i in route_pos.tolist()]
    for i in np.flatnonzero(k_stays).tolist():  # stayed aboard a through train: rides of several legs
        ride = _grouped(assignment.routes[int(k_route[i])], int(k_stays[i]), options)
        labels[i] = ">".join(_ride_label(r) for r in ride)
        changes[i] = _transfer_stations(ride, station_ids)
    label_cats = sorted(set(planned_labels) | set(labels))
    change_cats = sorted(set(planned_changes) | set(changes))
    label_code = {x: i for i, x in enumerate(label_cats)}
    change_code = {x: i for i, x in enumerate(change_cats)}
    return (_cat(np.asarray([label_code[x] for x in labels], dtype=np.int64)[key_of], label_cats),
            _cat(np.asarray([change_code[x] for x in changes], dtype=np.int64)[key_of], change_cats))


def _plain_strings(routes: list[Route], options: tuple[LegOption, ...],
                   station_ids: list[str]) -> tuple[list[str], list[str]]:
    """Each route's label and transfer stations ridden as planned (one ride per leg), built once per
    distinct sequence of leg labels and of changes: many routes share them."""
    matrix = leg_matrix(routes)
    valid = matrix >= 0
    safe = np.maximum(matrix, 0)
    ride_label = [_ride_label([o]) for o in options]
    label_of, label_code = np.unique(np.asarray(ride_label + [""]), return_inverse=True)
    seq = np.where(valid, label_code[safe], -1)
    board = np.asarray([o.board for o in options], dtype=np.int64)
    alight = np.asarray([o.alight for o in options], dtype=np.int64)
    n_st = len(station_ids)
    change = np.where(valid[:, 1:], alight[safe[:, :-1]] * n_st + board[safe[:, 1:]], -1)
    labels = _per_distinct_row(seq, lambda row: ">".join(str(label_of[c]) for c in row if c >= 0))
    changes = _per_distinct_row(change, lambda row: ">".join(
        _change_label(station_ids[c // n_st], station_ids[c % n_st]) for c in row if c >= 0))
    return labels, changes


def _per_distinct_row(codes: np.ndarray, text) -> list[str]:
    """text(row) for each row of `codes` (a list of ints), computed once per distinct row."""
    # each row's number among the distinct rows, a column at a time: (number so far, next column)
    # numbered again (np.unique by rows sorts the rows as byte strings, far slower)
    row = np.zeros(len(codes), dtype=np.int64)
    for column in codes.T:
        row = pd.factorize(row * (int(column.max(initial=0)) + 2) + (column.astype(np.int64) + 1))[0]
    first = np.zeros(int(row.max(initial=-1)) + 1, dtype=np.int64)
    first[row[::-1]] = np.arange(len(row) - 1, -1, -1)  # the first row of each number
    texts = [text(r) for r in codes[first].tolist()]
    return [texts[i] for i in row.tolist()]


@dataclass(frozen=True)
class _FarePieces:
    """The operator pieces of the fare rows (see _leg_fares), flat: row r owns pieces start[r] ..
    start[r] + count[r] - 1, each with its planned leg (`col`), operator, km and fare (CNY); each
    commuter's row is row_of."""

    row_of: np.ndarray
    count: np.ndarray
    start: np.ndarray
    col: np.ndarray
    op: np.ndarray
    km: np.ndarray
    fare: np.ndarray

    @classmethod
    def flat(cls, row_of: np.ndarray, col: np.ndarray, op: np.ndarray, km: np.ndarray,
             fare: np.ndarray) -> _FarePieces:
        """The pieces of piece_fares' matrices (padded where `op` is -1), flat."""
        ok = op >= 0
        count = ok.sum(axis=1)
        return cls(row_of, count, np.concatenate([[0], np.cumsum(count)]).astype(np.int64), col[ok], op[ok], km[ok], fare[ok])


def _leg_fares(network: Network, legs: LegNetwork, assignment: Assignment, demand: Demand,
               plan: TablePlan, rec: Records) -> tuple[np.ndarray, np.ndarray, _FarePieces]:
    """Per leg slot: its leg option and fare; and the operator pieces per row of fares (see
    _fare_rows) with each commuter's row, for the fare sections."""
    fares = FareSystem(network, demand.media)
    pair_matrix, medium, t_board, pair_of = _fare_rows(fares, legs, assignment, demand, rec)
    # the pieces flat: as matrices, padded to the row with the most, they take several times the room
    pieces = _FarePieces.flat(pair_of, *piece_fares(legs, fares, pair_matrix, medium, t_board))
    pair_fares = np.zeros(pair_matrix.shape)
    np.add.at(pair_fares, (np.repeat(np.arange(len(pieces.count)), pieces.count), pieces.col), pieces.fare)
    valid = pair_matrix >= 0
    pair_start = np.concatenate([[0], np.cumsum(valid.sum(axis=1))]).astype(np.int64)
    owner = np.repeat(np.arange(plan.n_commuters, dtype=np.int64), np.diff(rec.leg_offset))
    flat_idx = pair_start[pair_of[owner]] + np.arange(len(owner), dtype=np.int64) - rec.leg_offset[owner]
    return pair_matrix[valid][flat_idx], pair_fares[valid][flat_idx], pieces


def _fare_rows(fares: FareSystem, legs: LegNetwork, assignment: Assignment, demand: Demand,
               rec: Records) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """The rows to price: one per (route, medium) pair in use, then one per commuter whose fares
    depend on when they boarded (FareSystem.time_dependent). Returns the rows' legs (-1 padded),
    medium codes, boarding times of the legs (s; NaN on the pairs' rows, whose fares do not depend
    on them; None without such commuters) and each commuter's row."""
    n_media = len(demand.media)
    uniq, pair_of = unique_inverse(assignment.route_of.astype(np.int64) * n_media + demand.payment)
    rows = leg_matrix([assignment.routes[int(c) // n_media] for c in uniq])
    medium = uniq % n_media
    own = np.flatnonzero(fares.time_dependent(legs, rows)[pair_of])
    if not len(own):
        return rows, medium, None, pair_of
    own_rows = rows[pair_of[own]]
    slot = np.minimum(rec.leg_offset[own, None] + np.arange(rows.shape[1]), len(rec.leg_t_board) - 1)
    t_board = np.concatenate([np.full(rows.shape, np.nan),
                              np.where(own_rows >= 0, rec.leg_t_board[slot], np.nan)])
    medium = np.concatenate([medium, medium[pair_of[own]]])
    pair_of[own] = len(uniq) + np.arange(len(own), dtype=np.int64)
    return np.concatenate([rows, own_rows]), medium, t_board, pair_of


def _denied_wait(rec: Records) -> np.ndarray:
    """Per leg slot: its wait after the first train that left the commuter behind (s): from that
    train's boarding time to the commuter's, less any time aboard a train cut short in between; 0
    without a denial, NaN when not boarded."""
    after = rec.leg_t_board - rec.leg_t_denied - (rec.leg_ride_s - rec.leg_ride_denied_s)
    return np.where(np.isnan(rec.leg_t_denied) & ~np.isnan(rec.leg_t_board), 0.0, after)


def _ride_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sums of `values` over the consecutive runs beginning at `starts` (empty without runs)."""
    return np.add.reduceat(values, starts) if len(starts) else np.zeros(0)


def started(plan: TablePlan, rec: Records) -> np.ndarray:
    """Per commuter: when their journey started (s; Records.t_start), or for one that never started
    (held for a journey still travelling at the end, Plan.after) when it was to start."""
    return np.where(np.isnan(rec.t_start), plan.t_depart, rec.t_start)


def _trip_times(plan: TablePlan, rec: Records, rides: Rides) -> dict[str, np.ndarray]:
    """Per commuter: the travel-time components over their rides (s; a change of train only between
    rides)."""
    tp, tb = rec.leg_t_platform[rides.first], rec.leg_t_board[rides.first]
    ta = rec.leg_t_alight[rides.last]
    ride = _ride_sums(rec.leg_ride_s, rides.first)  # aboard a train whose run was cut short, before boarding again
    change = np.zeros(len(rides.first))
    later = np.flatnonzero(rides.ordinal > 0)
    change[later] = tp[later] - ta[later - 1]
    first, last = rides.start[:-1], rides.start[1:] - 1
    return {
        "access_s": tp[first] - started(plan, rec),
        "wait_s": _ride_sums(tb - tp - ride, first),
        "in_vehicle_s": _ride_sums(ta - tb + ride, first),
        "transfer_s": _ride_sums(change, first),
        "egress_s": rec.t_arrive - ta[last],
    }


@dataclass(frozen=True)
class _Slots:
    """What every table of a run is built from: the routes as ridden, and per leg slot its planned
    line and stations, fare and denied wait, grouped into rides."""

    assignment: Assignment
    option: dict[str, np.ndarray]  # per leg slot: the planned line, boarding and alighting station
    leg_fare: np.ndarray  # per leg slot (CNY): none for a leg not boarded by who left the network
    rides: Rides
    denied_wait: np.ndarray  # per leg slot (s; see _denied_wait)


def _slots(network: Network, demand: Demand, legs: LegNetwork, assignment: Assignment, plan: TablePlan,
           rec: Records) -> tuple[_Slots, _FarePieces]:
    """What the tables are built from, and the fare pieces (those the fares table alone reads)."""
    assignment = as_ridden(assignment, rec, legs, demand)
    leg_option, leg_fare, pieces = _leg_fares(network, legs, assignment, demand, plan, rec)
    # in 32 bits: one per leg slot each
    option = {name: getattr(legs, name).astype(np.int32)[leg_option] for name in ("line", "board", "alight")}
    left = rec.left_station >= 0
    # who left the network pays for the legs they boarded only
    leg_fare = np.where(left[np.repeat(np.arange(plan.n_commuters), rec.leg_count)] & np.isnan(rec.leg_t_board), 0.0,
                        leg_fare)
    return _Slots(assignment, option, leg_fare, ridden(plan, rec, option["board"], option["alight"]),
                  _denied_wait(rec)), pieces


@dataclass(frozen=True)
class RideTables:
    """The legs and trains tables of one run, as build_tables makes them, and what they were built
    from (build_tables takes them on rather than building them again)."""

    legs: pd.DataFrame
    trains: pd.DataFrame
    slots: _Slots
    fare_pieces: _FarePieces


def ride_tables(network: Network, demand: Demand, legs: LegNetwork, assignment: Assignment, plan: TablePlan,
                rec: Records) -> RideTables:
    """The legs and trains tables of one run alone (what crowding measures between the runs of
    route choice)."""
    slots, pieces = _slots(network, demand, legs, assignment, plan, rec)
    return RideTables(*_ride_tables(network, plan, rec, slots), slots, pieces)


def _ride_tables(network: Network, plan: TablePlan, rec: Records, slots: _Slots) -> tuple[pd.DataFrame, pd.DataFrame]:
    rides, board = slots.rides, slots.option["board"]
    stayed = _stay_calls(plan, rec.leg_train[rides.stay], board[rides.stay], len(network.stations))
    return (_legs_table(network, plan, rec, rides, slots.option, slots.leg_fare, slots.denied_wait),
            _trains_table(network, plan, rec, stayed))


def build_tables(network: Network, demand: Demand, legs: LegNetwork, assignment: Assignment, plan: TablePlan,
                 rec: Records, rerouted: np.ndarray | None = None, ride: RideTables | None = None) -> Tables:
    """The tables of one run from its records (routes as leg indices of `legs`; `rerouted`: per
    commuter, chose another route because of a closure; `ride`: the run's legs and trains tables
    when built already, by ride_tables)."""
    return Tables(**dict(table_parts(network, demand, legs, assignment, plan, rec, rerouted, ride)))


def table_parts(network: Network, demand: Demand, legs: LegNetwork, assignment: Assignment, plan: TablePlan,
                rec: Records, rerouted: np.ndarray | None = None,
                ride: RideTables | None = None) -> Iterator[tuple[str, pd.DataFrame]]:
    """The tables of build_tables one at a time, as (name, table), in the order that holds the least
    at once: facilities first, after which the records' facility visits are let go; then fares,
    trips, legs and trains. A caller that writes each table as it comes, and lets it go, never holds
    them all beside the records (a city's day: gigabytes of each), provided it keeps no other
    reference to `rec` and `ride`."""
    yield "facilities", _facilities_table(network, plan, rec)
    rec = rec.without_visits()
    yield from _rider_tables(network, demand, legs, assignment, plan, rec, rerouted, ride)


def _rider_tables(network: Network, demand: Demand, legs: LegNetwork, assignment: Assignment, plan: TablePlan,
                  rec: Records, rerouted: np.ndarray | None,
                  ride: RideTables | None) -> Iterator[tuple[str, pd.DataFrame]]:
    """The fares, trips, legs and trains tables of table_parts, in that order."""
    n = plan.n_commuters
    station_ids = [s.id for s in network.stations]
    slots, pieces = (ride.slots, ride.fare_pieces) if ride is not None else _slots(network, demand, legs, assignment,
                                                                                    plan, rec)
    yield "fares", _fare_sections(network, rec, slots.rides, pieces)
    del pieces  # the fare pieces (a quarter of what the tables are built from) are let go
    rides, denied_wait = slots.rides, slots.denied_wait
    route, changes = _route_columns(slots.assignment, rides.stays, legs.options, station_ids)
    first = rec.leg_offset[:-1]
    arrived = ~np.isnan(rec.t_arrive)
    left = rec.left_station >= 0
    times = {k: np.where(arrived, v, np.nan) for k, v in _trip_times(plan, rec, rides).items()}
    put_off = (_ride_sums(rec.leg_ride_s > 0, first) > 0) | rec.put_off_here
    t_depart = started(plan, rec)
    yield "trips", pd.DataFrame({
        "commuter_id": np.arange(n, dtype=np.int64),
        "origin": _cat(demand.origin, station_ids),
        "destination": _cat(demand.destination, station_ids),
        "segment": _cat(demand.segment, demand.segment_names),
        "payment": _cat(demand.payment, demand.media),
        "tour_leg": _cat(demand.tour_leg if demand.tour_leg is not None else np.zeros(n, dtype=np.int8), TOUR_LEGS),
        "tour_partner": demand.partner if demand.partner is not None else np.full(n, -1, dtype=np.int64),
        "t_depart": t_depart,
        "t_arrive": rec.t_arrive,
        "status": _cat(np.where(arrived, 0, np.where(left, 2, 1)), ["arrived", "in_system", "left"]),
        "travel_time_s": rec.t_arrive - t_depart,
        **times,
        "n_transfers": np.diff(rides.start) - 1,
        "denied_boardings": rec.denied.astype(np.int64),
        "denied_wait_s": np.where(arrived, _ride_sums(denied_wait, first), np.nan),
        "fare_cny": np.round(_ride_sums(slots.leg_fare, first), 2),
        "route": route,
        "modes": _modes(network, rec, slots.option["line"]),
        "transfer_stations": changes,
        "disruption": _cat(np.where(put_off, 1, np.where(rec.left_by_short_run, 2,
                                                         np.where(rerouted if rerouted is not None else False, 3, 0))),
                           ["", "put_off", "waited", "rerouted"]),
        "rechoices": rec.rechoices.astype(np.int64),
        "rerouted_on_way": rec.rerouted_on_way.copy(),
        "left_station": _cat(np.where(left, rec.left_station, len(station_ids)), [*station_ids, ""]),
        "t_left": rec.t_left,
    }, copy=False)
    del route, changes, times, put_off, t_depart
    legs_table, trains = (ride.legs, ride.trains) if ride is not None else _ride_tables(network, plan, rec, slots)
    yield "legs", legs_table
    del legs_table  # let go by the caller before the trains
    yield "trains", trains


def _modes(network: Network, rec: Records, slot_line: np.ndarray) -> pd.Categorical:
    """Per commuter: the modes of the lines they boarded a train of, by name in alphabetical order
    joined by '+' ('metro', 'metro+rail', ...; '' before boarding any)."""
    names, line_bit = network.mode_bits()
    n = len(rec.leg_offset) - 1
    boarded = ~np.isnan(rec.leg_t_board)
    owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(rec.leg_offset))
    bits = np.zeros(n, dtype=np.int64)
    # the loop would be: bits[owner of slot] |= the bit of its line's mode, over every boarded leg slot
    np.bitwise_or.at(bits, owner[boarded], line_bit[slot_line[boarded]])
    masks = np.arange(1 << len(names))
    labels = ["+".join(nm for k, nm in enumerate(names) if m >> k & 1) for m in masks.tolist()]
    return _cat(bits, labels)


def as_ridden(assignment: Assignment, rec: Records, legs: LegNetwork, demand: Demand) -> Assignment:
    """`assignment` with the route of every commuter who took other legs on the way (rec.route_legs)
    in place: from their origin, along the legs they rode and chose, to their destination."""
    if not rec.route_legs:
        return assignment
    routes = list(assignment.routes)
    index = {r.key: i for i, r in enumerate(routes)}
    route_of = assignment.route_of.copy()
    who = np.fromiter(sorted(rec.route_legs), dtype=np.int64, count=len(rec.route_legs))
    for c, start, end in zip(who.tolist(), demand.origin[who].tolist(), demand.destination[who].tolist()):
        leg_ids = rec.route_legs[c]
        key = (start, leg_ids, end)  # Route.key: a route is made (and labelled) once per key
        k = index.get(key)
        if k is None:
            k = index[key] = len(routes)
            routes.append(Route(start, leg_ids, end, ">".join(legs.options[j].label for j in leg_ids)))
        route_of[c] = k
    return Assignment(tuple(routes), route_of)


def _stay_calls(plan: TablePlan, train: np.ndarray, station: np.ndarray, n_stations: int) -> np.ndarray:
    """The train call at which each of the given commuters stayed aboard (`train` at `station`): the
    engines let them off and on again there, the tables count neither."""
    tr = plan.trains
    stops = np.flatnonzero(tr.call_stop)
    call_train = np.repeat(np.arange(tr.n_trains, dtype=np.int64), np.diff(tr.call_start))
    key = call_train[stops] * n_stations + tr.call_station[stops]  # a train stops at a station once
    order = np.argsort(key)
    return stops[order[np.searchsorted(key[order], train.astype(np.int64) * n_stations + station)]]


def _legs_table(network: Network, plan: TablePlan, rec: Records, rides: Rides, option: dict[str, np.ndarray],
                leg_fare: np.ndarray, denied_wait: np.ndarray) -> pd.DataFrame:
    """One row per ride whose first platform the commuter reached: boarding (line, station, times) as
    its first leg slot, alighting as its last; fares, time aboard trains cut short and denied waits
    summed over its slots. `option`: per leg slot, the planned line, boarding and alighting station."""
    station_ids = [s.id for s in network.stations]
    reached = ~np.isnan(rec.leg_t_platform[rides.first])
    first, last = rides.first[reached], rides.last[reached]
    line_operator = np.asarray([ln.operator for ln in network.lines], dtype=np.int64)
    line_ids = [ln.id for ln in network.lines]
    train = rec.leg_train[first]
    train_ids = [*plan.trains.train_id, ""]
    tickets = {}
    if plan.tickets is not None:  # reserved seats: the ticket each ride was made on, and the trains missed
        held = np.where(np.isnan(rec.leg_t_board[first]), 0, rec.leg_ticket[first])
        tickets = {"ticket": _cat(held & CLASS, ["", "seat", "standing"]), "booked_ahead": (held & AHEAD) > 0,
                   "missed_trains": _ride_sums(rec.leg_missed_trains.astype(np.int64), rides.first)[reached]}
    return pd.DataFrame({
        "commuter_id": rides.owner[reached].astype(np.int64),
        "leg": rides.ordinal[reached].astype(np.int64),
        "line": _cat(option["line"][first], line_ids),
        "operator": _cat(line_operator[option["line"][first]], [o.id for o in network.operators]),
        "train_id": _cat(np.where(train >= 0, train, len(train_ids) - 1), train_ids),
        "board_station": _cat(option["board"][first], station_ids),
        "alight_station": _cat(option["alight"][last], station_ids),
        "t_platform": rec.leg_t_platform[first],
        "t_board": rec.leg_t_board[first],
        "t_alight": rec.leg_t_alight[last],
        "ride_before_s": _ride_sums(rec.leg_ride_s, rides.first)[reached],
        "denied_wait_s": _ride_sums(denied_wait, rides.first)[reached],
        "fare_cny": _ride_sums(leg_fare, rides.first)[reached],
        **tickets,
    }, copy=False)


def _trains_table(network: Network, plan: TablePlan, rec: Records, stayed: np.ndarray) -> pd.DataFrame:
    """One row per train call reached. `direction` is that of the call's platform on the line whose
    track it is: a through train runs `up` or `down` by the km posts of each track it runs on.
    `stayed`: a call per commuter who stayed aboard there (neither alighted nor boarded)."""
    tr = plan.trains
    boarded, alighted = rec.call_boarded.copy(), rec.call_alighted.copy()
    np.subtract.at(boarded, stayed, 1)
    np.subtract.at(alighted, stayed, 1)
    call_train = np.repeat(np.arange(tr.n_trains, dtype=np.int64), np.diff(tr.call_start))
    done = rec.call_done
    pat = tr.pattern[call_train[done]]
    platform = tr.call_platform[done]
    pat_line = np.asarray([p.line for p in network.patterns], dtype=np.int64)
    plat_line = np.asarray([pl.line for pl in network.platforms], dtype=np.int64)
    plat_dir = np.asarray([0 if pl.direction == "up" else 1 for pl in network.platforms], dtype=np.int64)
    line_ids = [ln.id for ln in network.lines]
    return pd.DataFrame({
        "train_id": _cat(call_train[done], tr.train_id),
        "line": _cat(pat_line[pat], line_ids),
        "track": _cat(plat_line[platform], line_ids),
        "service": _cat(pat, [p.id for p in network.patterns]),
        "direction": _cat(plat_dir[platform], ["up", "down"]),
        "station": _cat(tr.call_station[done], [s.id for s in network.stations]),
        "seq": tr.call_seq[done].astype(np.int64),
        "t_arrive": rec.call_t_arr[done],
        "t_depart": rec.call_t_dep[done],
        "boarded": boarded[done],
        "alighted": alighted[done],
        "load_after": rec.call_load[done],
        "capacity": tr.capacity[call_train[done]],
        "delay_s": rec.call_t_dep[done] - tr.call_t_dep[done],
        "stops": tr.call_stop[done],
    }, copy=False)


def _facilities_table(network: Network, plan: TablePlan, rec: Records) -> pd.DataFrame:
    """One row per facility visit (joined its queue before the end)."""
    joined = ~np.isnan(rec.fac_t_join)
    fac_owner = np.repeat(np.arange(plan.n_commuters, dtype=np.int64), np.diff(rec.fac_offset))
    fac_station = np.asarray([f.station for f in network.facilities], dtype=np.int64)
    kinds = sorted({f.kind for f in network.facilities})
    fac_kind = np.asarray([kinds.index(f.kind) for f in network.facilities], dtype=np.int64)
    sf = rec.slot_facility[joined]
    return pd.DataFrame({
        "facility_id": _cat(sf, [f.id for f in network.facilities]),
        "station": _cat(fac_station[sf], [s.id for s in network.stations]),
        "kind": _cat(fac_kind[sf], kinds),
        "commuter_id": fac_owner[joined],
        "t_join": rec.fac_t_join[joined],
        "t_start": rec.fac_t_start[joined],
        "t_end": rec.fac_t_end[joined],
    }, copy=False)


_BLOCK = 1 << 20
"""Commuters per block of the fare sections: the arrays per operator piece stay small (whole, a
city's day holds gigabytes of them at once)."""


def _fare_sections(network: Network, rec: Records, rides: Rides, pieces: _FarePieces) -> pd.DataFrame:
    """One row per operator section of every leg boarded: the commuter, the leg (a ride: as in the
    legs table), the operator, its km and the fare attributed to it (CNY; a through leg has one row
    per operator it runs on, planned legs ridden on one train are joined where they meet on one
    operator). `pieces`: those of each commuter's row of fares, by planned leg. Built a
    block of commuters at a time: a section never spans two commuters."""
    leg_offset = rec.leg_offset
    n = len(pieces.row_of)
    blocks = [_block_sections(rides, leg_offset, rec.leg_t_board, lo, min(lo + _BLOCK, n), pieces)
              for lo in range(0, max(n, 1), _BLOCK)]

    def joined(name: str) -> np.ndarray:  # a column at a time, each block's part let go as it is joined
        return np.concatenate([b.pop(name) for b in blocks])

    return pd.DataFrame({
        "commuter_id": joined("commuter_id"),
        "leg": joined("leg"),
        "operator": _cat(joined("operator"), [o.id for o in network.operators]),
        "km": joined("km"),
        "fare_cny": joined("fare_cny"),
    }, copy=False)


def _block_sections(rides: Rides, leg_offset: np.ndarray, leg_t_board: np.ndarray, lo: int, hi: int,
                    pieces: _FarePieces) -> dict[str, np.ndarray]:
    """The fare sections (columns of _fare_sections, operator as a code) of commuters lo .. hi - 1."""
    per = pieces.count[pieces.row_of[lo:hi]]
    owner = np.repeat(np.arange(lo, hi, dtype=np.int64), per)
    idx = pieces.start[pieces.row_of[owner]] + np.arange(int(per.sum()), dtype=np.int64) - np.repeat(np.cumsum(per) - per, per)
    slot = leg_offset[owner] + pieces.col[idx]
    boarded = ~np.isnan(leg_t_board[slot])
    ride, piece_op = rides.slot_ride[slot[boarded]], pieces.op[idx][boarded]
    section = np.flatnonzero(np.concatenate([[len(ride) > 0], (ride[1:] != ride[:-1]) | (piece_op[1:] != piece_op[:-1])]))
    return {"commuter_id": rides.owner[ride[section]].astype(np.int64), "leg": rides.ordinal[ride[section]].astype(np.int64),
            "operator": piece_op[section], "km": np.round(_ride_sums(pieces.km[idx][boarded], section), 4),
            "fare_cny": _ride_sums(pieces.fare[idx][boarded], section)}
