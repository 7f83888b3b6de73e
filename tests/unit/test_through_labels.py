"""Through trains in the output tables, against hand counts: each call's `direction` follows the km
posts of the track the train is on; a commuter who stays aboard a through train where their route
changes to the other line's platform rides one leg (no transfer, one route label, the fares of the
one-leg through ride, neither alighting nor boarding at that call), while one who changes train, or
leaves the train while it moves on, has two."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import toynet as T
from sim.api import prepare
from sim.choice import Assignment
from sim.engine import run_engine
from sim.metrics import KpiSetup, summarize
from sim.plan import build_plan
from sim.routing import Route
from sim.tables import TablePlan, Tables, build_tables

H = 3600.0
T0 = 6 * H + 30 * 60  # the through train leaves A1 at 06:30


def through_network(km_a: tuple[float, float] = (0.0, 5.0), km_b: tuple[float, float] = (0.0, 5.0),
                    b1_dwell_s: float = 90.0) -> dict:
    """Line LA (A1-A2, operator OA, km posts `km_a`) and line LB (B1-B2, operator OB, `km_b`), an
    interchange A2/B1 and a 1 km track link A2-B1 (60 s, charged by OB). One through train of LA
    leaves A1 at 06:30 for B2 over the link: A2 06:36:40-06:37:10, B1 from 06:38:10 for `b1_dwell_s`,
    400 s to B2. LB's own trains leave B1 every 10 min from 06:02; LA has no trains of its own."""
    net = T.boundary_network(fares=(T.OA_FARE, T.OB_FARE),
                             b_timetable={"forward": T.headway("06:02", "11:00", 600)})
    la, lb = net["lines"]
    la["branches"]["main"] = [["A1", km_a[0]], ["A2", km_a[1]]]
    lb["branches"]["main"] = [["B1", km_b[0]], ["B2", km_b[1]]]
    la["patterns"] = [{"id": "through", "stops": ["A1", "B2"], "runs_onto": ["LB"],
                       "timetable": {"forward": {"departures": ["06:30"]}}}]
    lb["dwell_s_at"] = {"B1": b1_dwell_s}
    net["track_links"] = [{"id": "ab_link", "between": ["A2", "B1"], "km": 1.0, "run_s": 60, "operator": "OB"}]
    return net


def riding(tmp_path, net: dict, route: list[tuple[str, str]], total: int = 4, engine: str = "bulk",
           operations: str = "timetable") -> Tables:
    """The tables of a run in which every commuter (reaching A1's platform 06:20:32-06:25:32) takes
    the route of the legs `route`, each (boarding station, alighting station)."""
    scn = T.write(tmp_path, net, T.scenario(total, [route[0][0]], [route[-1][1]], start="06:20", end="06:25",
                                            sim_end="09:00", operations=operations))
    prep, network = prepare(scn), scn.network
    at = network.station_index
    options = prep.legs.options
    legs = tuple(next(k for k, o in enumerate(options) if (o.board, o.alight) == (at[a], at[b])) for a, b in route)
    chosen = Route(at[route[0][0]], legs, at[route[-1][1]], ">".join(options[k].label for k in legs))
    assignment = Assignment((chosen,), np.zeros(total, dtype=np.int32))
    p = prep.plan
    plan = build_plan(network, prep.legs, prep.access, assignment, prep.demand.payment, prep.demand.media, prep.demand.t_depart,
                      p.trains, p.ops, p.t_end, prep.seed, 0)
    return build_tables(network, prep.demand, prep.legs, assignment, TablePlan.of(plan), run_engine(plan, engine))


@pytest.mark.parametrize("km_a, km_b, expected", [
    ((0.0, 5.0), (5.0, 0.0), ["up", "up", "down", "down"]),   # km rise on LA's track, fall on LB's
    ((5.0, 0.0), (0.0, 5.0), ["down", "down", "up", "up"]),   # the shipped case: down on one, up on the other
])
def test_a_through_trains_direction_follows_the_km_of_the_track_at_each_call(tmp_path, km_a, km_b, expected):
    tables = riding(tmp_path, through_network(km_a, km_b), [("A1", "B2")])
    tr = tables.trains
    through = tr[tr["train_id"].astype(str) == "LA.through.forward@06:30:00"].sort_values("seq")
    assert list(through["station"].astype(str)) == ["A1", "A2", "B1", "B2"]
    assert list(through["track"].astype(str)) == ["LA", "LA", "LB", "LB"]
    assert list(through["direction"].astype(str)) == expected
    own = tr[tr["line"].astype(str) == "LB"]  # LB's own trains B1 -> B2: LB's direction, as before
    assert len(own) > 0 and set(own["direction"].astype(str)) == {expected[-1]}


def test_staying_aboard_a_through_train_is_one_leg(tmp_path):
    # planned: A1 -> B1 on the through train (its only train there), change at B1, B1 -> B2 on LB's
    # platform. The through train reaches B1 at 06:38:10 and stays 90 s; the 60 s walk of the change
    # puts everyone back on its platform at 06:39:10, and it leaves with them at 06:39:40
    net = through_network()
    tables = riding(tmp_path, net, [("A1", "B1"), ("B1", "B2")])
    trips, legs = tables.trips, tables.legs
    arrive_b1, leave_b1, arrive_b2 = T0 + 490, T0 + 580, T0 + 980
    assert len(legs) == 4 and (legs["leg"] == 0).all()
    assert (legs["train_id"].astype(str) == "LA.through.forward@06:30:00").all()
    assert (legs["board_station"].astype(str) == "A1").all() and (legs["alight_station"].astype(str) == "B2").all()
    assert (legs["line"].astype(str) == "LA").all() and (legs["operator"].astype(str) == "OA").all()
    assert np.array_equal(legs["t_platform"], trips["t_depart"] + 2.0 + 30.0)  # entry gate 2 s, walk 30 s
    assert (legs["t_board"] == T0).all() and (legs["t_alight"] == arrive_b2).all()
    # fares as for the one-leg through ride: OA 5 km 3 CNY; OB 1 + 5 km 2 CNY
    assert (legs["fare_cny"] == 5.0).all()
    fares = tables.fares
    assert (fares["leg"] == 0).all() and len(fares) == 8
    by_op = fares.groupby(fares["operator"].astype(str))[["km", "fare_cny"]].sum()
    assert by_op.loc["OA"].tolist() == [4 * 5.0, 4 * 3.0] and by_op.loc["OB"].tolist() == [4 * 6.0, 4 * 2.0]
    assert (trips["route"].astype(str) == "LA+LB").all() and (trips["transfer_stations"].astype(str) == "").all()
    assert (trips["n_transfers"] == 0).all() and (trips["transfer_s"] == 0).all()
    assert np.array_equal(trips["wait_s"], T0 - legs["t_platform"])
    assert (trips["in_vehicle_s"] == arrive_b2 - T0).all()  # the 90 s at B1 aboard, not a change
    parts = trips[["access_s", "wait_s", "in_vehicle_s", "transfer_s", "egress_s"]].sum(axis=1)
    assert np.allclose(parts, trips["travel_time_s"]) and (trips["t_arrive"] == arrive_b2 + 32).all()
    # aboard at B1 all along: the train's call there lets nobody off or on
    tr = tables.trains[tables.trains["train_id"].astype(str) == "LA.through.forward@06:30:00"].set_index("station")
    assert tr.loc["B1", ["t_arrive", "t_depart", "alighted", "boarded", "load_after"]].tolist() == [
        arrive_b1, leave_b1, 0, 0, 4]
    assert tr["boarded"].sum() == tr["alighted"].sum() == 4
    s = summarize(trips, legs, tables.trains, None, KpiSetup(interchanges={"ab": ("A2", "B1")}), fares)
    assert s["transfers_mean"] == 0.0 and s["interchanges"]["ab"]["transfers"] == 0


def test_a_change_of_train_and_a_walk_off_the_train_stay_two_legs(tmp_path):
    # 30 s at B1: the through train leaves at 06:38:40, before the walk ends (06:39:10); LB's own
    # 06:42 train takes everyone on
    tables = riding(tmp_path / "missed", through_network(b1_dwell_s=30), [("A1", "B1"), ("B1", "B2")])
    legs = tables.legs.sort_values(["commuter_id", "leg"])
    assert list(legs["leg"]) == [0, 1] * 4
    assert list(legs["train_id"].astype(str)) == ["LA.through.forward@06:30:00", "LB.all.forward@06:42:00"] * 4
    trips = tables.trips
    assert (trips["route"].astype(str) == "LA>LB").all() and (trips["transfer_stations"].astype(str) == "B1").all()
    assert (trips["n_transfers"] == 1).all() and (trips["transfer_s"] == 60).all()
    # off at A2 (06:36:40), through the interchange to B1 (100 s) and onto the same train there
    # (06:39:40): the train moved on without them, so two legs on one train and a transfer
    tables = riding(tmp_path / "walk", through_network(), [("A1", "A2"), ("B1", "B2")])
    legs = tables.legs.sort_values(["commuter_id", "leg"])
    assert list(legs["leg"]) == [0, 1] * 4
    assert (legs["train_id"].astype(str) == "LA.through.forward@06:30:00").all()
    assert (legs.loc[legs["leg"] == 1, "t_board"] == T0 + 580).all()
    trips = tables.trips
    assert (trips["route"].astype(str) == "LA>LB").all() and (trips["transfer_stations"].astype(str) == "A2~B1").all()
    assert (trips["n_transfers"] == 1).all()
    s = summarize(trips, tables.legs, tables.trains, None, KpiSetup(interchanges={"ab": ("A2", "B1")}), tables.fares)
    assert s["interchanges"]["ab"]["transfers"] == 4


@pytest.mark.parametrize("operations", ["timetable", "dynamic"])
def test_engines_agree_on_rides_aboard_through_trains(tmp_path, operations):
    tables = {e: riding(tmp_path / e, through_network(), [("A1", "B1"), ("B1", "B2")], total=8, engine=e,
                        operations=operations) for e in ("bulk", "reference")}
    assert (tables["bulk"].trips["n_transfers"] == 0).all()
    for name in ("trips", "legs", "trains", "facilities", "fares"):
        pd.testing.assert_frame_equal(getattr(tables["bulk"], name), getattr(tables["reference"], name), check_exact=True)


def test_a_through_trains_sections_belong_to_the_line_whose_track_it_runs_on(tmp_path):
    from sim.geo import section_loads
    from sim.scenario import load_network

    tables = riding(tmp_path, through_network(), [("A1", "B2")])
    network, _ = load_network(tmp_path / "net.yaml")
    through = tables.trains[tables.trains["train_id"].astype(str) == "LA.through.forward@06:30:00"]
    sec = section_loads(network, through, (6 * 3600.0, 8 * 3600.0))
    assert sorted(zip(sec["line"], sec["from_station"], sec["to_station"])) == [
        ("LA", "A1", "A2"), ("LA", "A2", "B1"), ("LB", "B1", "B2")]  # B1-B2 is LB's track: LB's section
