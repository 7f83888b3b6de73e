"""The output tables (trips, legs, trains, facilities) assembled from the engine's records.

Columns follow SPEC.md; string columns are pandas categoricals (dictionary-encoded in Parquet).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .choice import Assignment
from .demand import Demand
from .engine.records import Records
from .network import Network
from .plan import Plan
from .routing import Router


@dataclass(frozen=True)
class Tables:
    trips: pd.DataFrame
    legs: pd.DataFrame
    trains: pd.DataFrame
    facilities: pd.DataFrame
    fares: pd.DataFrame
    """One row per operator section of every leg boarded (revenue per operator)."""


def _cat(codes: np.ndarray, labels) -> pd.Categorical:
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=list(labels))


def _transfer_stations(route, router: Router, station_ids: list[str]) -> str:
    """Where a route changes trains, '>'-joined: the station id, or 'A~B' for a walk from platform
    station A to station B; '' for a direct trip."""
    legs = [router.legs[k] for k in route.legs]
    out = []
    for before, after in zip(legs, legs[1:]):
        a, b = station_ids[before.alight], station_ids[after.board]
        out.append(a if a == b else f"{a}~{b}")
    return ">".join(out)


def build_tables(network: Network, demand: Demand, router: Router, assignment: Assignment, plan: Plan,
                 rec: Records, rerouted: np.ndarray | None = None) -> Tables:
    n = plan.n_commuters
    station_ids = [s.id for s in network.stations]
    media = demand.media

    # per distinct (route, medium): leg options and leg fares, flattened
    pair = assignment.route_of.astype(np.int64) * len(media) + demand.payment
    uniq, pair_of = np.unique(pair, return_inverse=True)
    pair_matrix = router.leg_matrix([assignment.routes[int(c) // len(media)] for c in uniq])
    piece_col, piece_op, piece_km, piece_fare = router.piece_fares(pair_matrix, uniq % len(media))
    pair_fares = np.zeros(pair_matrix.shape)
    has_piece = piece_op >= 0
    np.add.at(pair_fares, (np.nonzero(has_piece)[0], piece_col[has_piece]), piece_fare[has_piece])
    valid = pair_matrix >= 0
    pair_legs_a = pair_matrix[valid]
    pair_fares_a = pair_fares[valid]
    pair_start_a = np.concatenate([[0], np.cumsum(valid.sum(axis=1))]).astype(np.int64)
    n_legs = np.diff(plan.leg_offset)
    owner = np.repeat(np.arange(n, dtype=np.int64), n_legs)
    ordinal = np.arange(len(owner), dtype=np.int64) - plan.leg_offset[owner]
    flat_idx = pair_start_a[pair_of[owner]] + ordinal
    leg_option = pair_legs_a[flat_idx]
    leg_fare = pair_fares_a[flat_idx]

    # travel-time components
    first = plan.leg_offset[:-1]
    last = plan.leg_offset[1:] - 1
    tp, tb, ta = rec.leg_t_platform, rec.leg_t_board, rec.leg_t_alight
    arrived = ~np.isnan(rec.t_arrive)
    transfer_slot = np.zeros(len(owner))
    not_first = ordinal > 0
    transfer_slot[not_first] = tp[not_first] - ta[np.flatnonzero(not_first) - 1]
    ride = rec.leg_ride_s  # aboard a train whose run was cut short, before boarding again
    with np.errstate(invalid="ignore"):
        wait = np.add.reduceat(tb - tp - ride, first) if n else np.zeros(0)
        ivt = np.add.reduceat(ta - tb + ride, first) if n else np.zeros(0)
        transfer = np.add.reduceat(transfer_slot, first) if n else np.zeros(0)
    access = tp[first] - plan.t_depart if n else np.zeros(0)
    egress = rec.t_arrive - ta[last] if n else np.zeros(0)

    def only_arrived(x: np.ndarray) -> np.ndarray:
        return np.where(arrived, x, np.nan)

    fare_total = np.add.reduceat(leg_fare, first) if n else np.zeros(0)
    route_labels = sorted({r.label for r in assignment.routes})
    label_code = {lab: i for i, lab in enumerate(route_labels)}
    route_code = np.asarray([label_code[r.label] for r in assignment.routes], dtype=np.int64)
    changes = [_transfer_stations(r, router, station_ids) for r in assignment.routes]
    change_labels = sorted(set(changes))
    change_index = {c: i for i, c in enumerate(change_labels)}
    change_code = np.asarray([change_index[c] for c in changes], dtype=np.int64)
    trips = pd.DataFrame({
        "commuter_id": np.arange(n, dtype=np.int64),
        "origin": _cat(demand.origin, station_ids),
        "destination": _cat(demand.destination, station_ids),
        "segment": _cat(demand.segment, demand.segment_names),
        "payment": _cat(demand.payment, media),
        "t_depart": plan.t_depart,
        "t_arrive": rec.t_arrive,
        "status": _cat(np.where(arrived, 0, 1), ["arrived", "in_system"]),
        "travel_time_s": rec.t_arrive - plan.t_depart,
        "access_s": only_arrived(access),
        "wait_s": only_arrived(wait),
        "in_vehicle_s": only_arrived(ivt),
        "transfer_s": only_arrived(transfer),
        "egress_s": only_arrived(egress),
        "n_transfers": (n_legs - 1).astype(np.int64),
        "denied_boardings": rec.denied.astype(np.int64),
        "fare_cny": np.round(fare_total, 2),
        "route": _cat(route_code[assignment.route_of], route_labels),
        "transfer_stations": _cat(change_code[assignment.route_of], change_labels),
        "disruption": _cat(np.where(np.add.reduceat(ride > 0, first) > 0 if n else np.zeros(0, bool), 1,
                                    np.where(rec.left_by_short_run, 2,
                                             np.where(rerouted if rerouted is not None else False, 3, 0))),
                           ["", "put_off", "waited", "rerouted"]),
    })

    reached = ~np.isnan(tp)
    lo = [router.legs[k] for k in range(len(router.legs))]
    opt_line = np.asarray([x.line for x in lo], dtype=np.int64)
    opt_board = np.asarray([x.board for x in lo], dtype=np.int64)
    opt_alight = np.asarray([x.alight for x in lo], dtype=np.int64)
    line_operator = np.asarray([ln.operator for ln in network.lines], dtype=np.int64)
    train_ids = list(plan.trains.train_id) + [""]
    legs = pd.DataFrame({
        "commuter_id": owner[reached],
        "leg": ordinal[reached],
        "line": _cat(opt_line[leg_option[reached]], [ln.id for ln in network.lines]),
        "operator": _cat(line_operator[opt_line[leg_option[reached]]], [o.id for o in network.operators]),
        "train_id": _cat(np.where(rec.leg_train[reached] >= 0, rec.leg_train[reached], len(train_ids) - 1),
                         train_ids),
        "board_station": _cat(opt_board[leg_option[reached]], station_ids),
        "alight_station": _cat(opt_alight[leg_option[reached]], station_ids),
        "t_platform": tp[reached],
        "t_board": tb[reached],
        "t_alight": ta[reached],
        "ride_before_s": ride[reached],
        "fare_cny": leg_fare[reached],
    })

    tr = plan.trains
    n_calls = np.diff(tr.call_start)
    call_train = np.repeat(np.arange(tr.n_trains, dtype=np.int64), n_calls)
    done = rec.call_done
    pat = tr.pattern[call_train]
    pat_line = np.asarray([p.line for p in network.patterns], dtype=np.int64)
    pat_dir = np.asarray([0 if p.direction == "up" else 1 for p in network.patterns], dtype=np.int64)
    plat_line = np.asarray([pl.line for pl in network.platforms], dtype=np.int64)
    trains = pd.DataFrame({
        "train_id": _cat(call_train[done], tr.train_id),
        "line": _cat(pat_line[pat[done]], [ln.id for ln in network.lines]),
        "track": _cat(plat_line[tr.call_platform[done]], [ln.id for ln in network.lines]),
        "service": _cat(pat[done], [p.id for p in network.patterns]),
        "direction": _cat(pat_dir[pat[done]], ["up", "down"]),
        "station": _cat(tr.call_station[done], station_ids),
        "seq": tr.call_seq[done].astype(np.int64),
        "t_arrive": rec.call_t_arr[done],
        "t_depart": rec.call_t_dep[done],
        "boarded": rec.call_boarded[done],
        "alighted": rec.call_alighted[done],
        "load_after": rec.call_load[done],
        "capacity": tr.capacity[call_train[done]],
        "delay_s": rec.call_t_dep[done] - tr.call_t_dep[done],
        "stops": tr.call_stop[done],
    })

    joined = ~np.isnan(rec.fac_t_join)
    fac_owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(plan.fac_offset))
    fac_station = np.asarray([f.station for f in network.facilities], dtype=np.int64)
    kinds = sorted({f.kind for f in network.facilities})
    fac_kind = np.asarray([kinds.index(f.kind) for f in network.facilities], dtype=np.int64)
    sf = plan.slot_facility[joined]
    facilities = pd.DataFrame({
        "facility_id": _cat(sf, [f.id for f in network.facilities]),
        "station": _cat(fac_station[sf], station_ids),
        "kind": _cat(fac_kind[sf], kinds),
        "commuter_id": fac_owner[joined],
        "t_join": rec.fac_t_join[joined],
        "t_start": rec.fac_t_start[joined],
        "t_end": rec.fac_t_end[joined],
    })
    fares = _fare_sections(network, plan, rec, pair_of, piece_col, piece_op, piece_km, piece_fare)
    return Tables(trips, legs, trains, facilities, fares)


def _fare_sections(network: Network, plan: Plan, rec: Records, pair_of: np.ndarray, col: np.ndarray, op: np.ndarray,
                   km: np.ndarray, fare: np.ndarray) -> pd.DataFrame:
    """One row per operator section of every leg boarded: the commuter, the leg, the operator, its
    km and the fare attributed to it (CNY; a through leg has one row per operator it runs on)."""
    ok = op >= 0
    count = ok.sum(axis=1)
    start = np.concatenate([[0], np.cumsum(count)]).astype(np.int64)
    p_col, p_op, p_km, p_fare = col[ok], op[ok], km[ok], fare[ok]
    per = count[pair_of]
    owner = np.repeat(np.arange(len(pair_of), dtype=np.int64), per)
    idx = start[pair_of[owner]] + np.arange(int(per.sum()), dtype=np.int64) - np.repeat(np.cumsum(per) - per, per)
    leg = p_col[idx]
    boarded = ~np.isnan(rec.leg_t_board[plan.leg_offset[owner] + leg])
    return pd.DataFrame({
        "commuter_id": owner[boarded],
        "leg": leg[boarded],
        "operator": _cat(p_op[idx][boarded], [o.id for o in network.operators]),
        "km": np.round(p_km[idx][boarded], 4),
        "fare_cny": p_fare[idx][boarded],
    })
