"""Through-running against hand computations: a line's trains running over a track link onto another
operator's line call at that line's platforms, riders stay on board, fares follow the fare policy
per operator section (both sides of each distance threshold), any train serving both stops of a
leg is taken whatever its line, nobody is lost, a through service that breaks the track's minimum
headway is rejected, and both engines agree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import toynet as T
from sim.api import run
from sim.cli import main
from sim.errors import UserError

H = 3600.0
OA_FARE, OB_FARE = T.OA_FARE, T.OB_FARE


def ops(min_headway_s: float = 0.0) -> dict:
    return {"door_channels": 20, "door_time_s": 5, "boarding_s": 0.5, "alighting_s": 0.5, "crowded_density_p_m2": 4.0,
            "crowded_factor": 1.0, "max_dwell_s": 120, "seats": 100, "standing_area_m2": 50,
            "min_headway_s": min_headway_s, "running_recovery": 0.0}


def through_network(link_km: float = 1.0, through_times: list[str] | None = None, b_headway_s: float = 600.0,
                    min_headway_s: float = 0.0, fare_rule: dict | None = None, la_own: bool = False) -> dict:
    """Line LA (A1-A2, operator OA) and line LB (B1-B2, operator OB), an interchange A2/B1 and a track
    link A2-B1 (`link_km`, charged by OB, 60 s). LA's trains run through onto LB to B2 at
    `through_times` (and LA has its own A1-A2 trains when `la_own`); LB's own trains every
    `b_headway_s` from 06:02."""
    net = T.boundary_network(fares=(OA_FARE, OB_FARE), fare_rule=fare_rule,
                             b_timetable={"forward": T.headway("06:02", "11:00", b_headway_s)})
    la, lb = net["lines"]
    through = {"id": "through", "stops": ["A1", "B2"], "runs_onto": ["LB"],
               "timetable": {"forward": {"departures": through_times or ["06:30", "06:50", "07:10", "07:30"]}}}
    la["patterns"] = [through] + ([la["patterns"][0]] if la_own else [])
    lb["operations"] = ops(min_headway_s)
    net["track_links"] = [{"id": "ab_link", "between": ["A2", "B1"], "km": link_km, "run_s": 60, "operator": "OB"}]
    return net


def demand(tmp_path, net: dict, origins: list[str], destinations: list[str], total: int = 200,
           operations: str = "timetable", **extra):
    scn = T.scenario(total, origins, destinations, start="06:20", end="07:20", sim_end="09:00", operations=operations,
                     **extra)
    return T.write(tmp_path, net, scn)


def test_through_trains_call_at_the_other_lines_platforms(tmp_path):
    scn = demand(tmp_path, through_network(), ["A1"], ["B2"], total=10)
    net = scn.network
    p = next(p for p in net.patterns if p.id == "LA.through.forward")
    assert [net.stations[s].id for s in p.stops] == ["A1", "A2", "B1", "B2"]
    own = next(p for p in net.patterns if p.id == "LB.all.forward")
    assert p.platforms[2:] == own.platforms  # LB's platforms, shared with LB's own trains
    assert [net.lines[net.platforms[k].line].id for k in p.platforms] == ["LA", "LA", "LB", "LB"]
    # run times: 400 s A1-A2, 30 s dwell, 60 s over the link, 30 s dwell at B1, 400 s B1-B2
    assert p.arr_offset == (0.0, 400.0, 490.0, 920.0)
    assert p.hops[1] == ((-1, net.operator_index["OB"], 1.0),)


@pytest.mark.parametrize("link_km, separate, through", [
    (0.9, (3.0, 2.0), 4.0),    # OA 5 km: 3; OB 0.9 + 5 = 5.9 km: 2; through 10.9 km by OA: 4
    (1.1, (3.0, 3.0), 4.0),    # OB 6.1 km: 3
    (5.9, (3.0, 3.0), 4.0),    # OB 10.9 km: 2 + 1; through 15.9 km: 4
    (6.1, (3.0, 4.0), 5.0),    # OB 11.1 km: 2 + 2; through 16.1 km: 5
])
def test_fares_by_operator_section_on_a_through_train(tmp_path, link_km, separate, through):
    for rule, expected in ((None, separate), ({"id": "r", "operators": ["OA", "OB"], "policy": "through",
                                                "through_tariff": "OA", "clearing": "km_share"}, None)):
        res = run(demand(tmp_path / str(rule is None), through_network(link_km, fare_rule=rule), ["A1"], ["B2"]))
        trips = res.trips
        direct = trips[(trips["route"].astype(str) == "LA+LB") & (trips["status"] == "arrived")]
        assert len(direct) > 0 and (direct["n_transfers"] == 0).all()
        fares = res.fares.set_index("commuter_id").loc[direct["commuter_id"]]
        by_op = fares.groupby([fares.index, fares["operator"].astype(str)])["fare_cny"].sum().unstack()
        km = fares.groupby([fares.index, fares["operator"].astype(str)])["km"].sum().unstack()
        assert np.allclose(km["OA"], 5.0) and np.allclose(km["OB"], 5.0 + link_km)
        if expected is not None:
            assert np.allclose(by_op["OA"], expected[0]) and np.allclose(by_op["OB"], expected[1])
            assert np.allclose(direct["fare_cny"], sum(expected))
        else:  # one through fare, cleared by km: the parts add up to it
            assert np.allclose(direct["fare_cny"], through)
            assert np.allclose(by_op.sum(axis=1), through)
            assert np.allclose(by_op["OA"], np.round(through * 5.0 / (10.0 + link_km), 2))
        revenue = res.summary["fare_revenue_cny"]
        boarded = res.fares.groupby(res.fares["operator"].astype(str))["fare_cny"].sum()
        assert revenue == pytest.approx({k: round(v, 2) for k, v in boarded.items()})


def test_a_commuter_takes_the_first_train_of_either_line_serving_both_stops(tmp_path):
    # LB's own trains leave B1 (their first stop) at 06:02 + k x 10 min; through trains leave B1 at
    # 06:38:40, 06:58:40, ... (06:30 + 490 s + 30 s dwell): for commuters from B1 to B2 both lines serve the leg
    # (a few walk across to A2 and board the through train there: their legs board at A2)
    res = run(demand(tmp_path, through_network(), ["B1"], ["B2"], total=300))
    legs = res.legs[res.legs["t_board"].notna() & (res.legs["board_station"].astype(str) == "B1")]
    assert len(legs) > 250
    tr = res.trains[res.trains["station"].astype(str) == "B1"]
    departures = np.sort(tr["t_depart"].to_numpy())
    first = departures[np.searchsorted(departures, legs["t_platform"].to_numpy(), side="left")]
    assert np.array_equal(legs["t_board"].to_numpy(), first)  # the first train, whatever its line
    lines = legs["train_id"].astype(str).str.split(".").str[0]
    assert set(lines) == {"LA", "LB"}
    routes = res.trips.set_index("commuter_id").loc[legs["commuter_id"], "route"].astype(str)
    assert set(routes) == {"LB"}  # one leg option from B1: the platform is LB's


def test_nobody_is_lost_and_through_riders_make_no_transfer(tmp_path):
    net = through_network(la_own=True)
    res = run(demand(tmp_path, net, ["A1", "B1"], ["A2", "B2"], total=600))
    trips = res.trips
    assert len(trips) == 600 and (trips["status"] == "arrived").all()
    through = trips[trips["route"].astype(str) == "LA+LB"]
    assert len(through) > 0 and (through["n_transfers"] == 0).all()
    legs = res.legs.set_index("commuter_id").loc[through["commuter_id"]]
    assert legs["train_id"].astype(str).str.startswith("LA.through").all()
    # every boarding is matched by an alighting, train by train
    tr = res.trains
    assert tr["boarded"].sum() == tr["alighted"].sum() == res.legs["t_board"].notna().sum()


def test_a_through_service_that_breaks_the_minimum_headway_is_rejected(tmp_path, capsys):
    # LB leaves B1 at 06:02, 06:12, ...; a through train at 06:20 leaves B1 at 06:28:40, 200 s before
    # LB's 06:32: fine with a 120 s minimum headway; one at 06:23 leaves at 06:31:40, 20 s before it
    ok = through_network(through_times=["06:20"], min_headway_s=120)
    demand(tmp_path / "ok", ok, ["A1"], ["B2"], total=5)
    bad = through_network(through_times=["06:23"], min_headway_s=120)
    with pytest.raises(UserError) as err:
        demand(tmp_path / "bad", bad, ["A1"], ["B2"], total=5)
    text = str(err.value.problems[0])
    assert "LA.through.forward does not fit the track of line LB" in text and "120 s" in text
    assert "lines[0].patterns[0].timetable" in text
    assert main(["validate", str(tmp_path / "bad" / "net.yaml")]) == 2
    assert "minimum headway" in capsys.readouterr().err


def test_link_and_runs_onto_mistakes(tmp_path):
    net = through_network()
    net["lines"][0]["patterns"][0]["runs_onto"] = ["LX"]
    with pytest.raises(UserError, match="'LX' is not another line"):
        demand(tmp_path / "a", net, ["A1"], ["B2"], total=5)
    net = through_network()
    net["track_links"] = []
    with pytest.raises(UserError, match="no track between consecutive stops"):
        demand(tmp_path / "b", net, ["A1"], ["B2"], total=5)
    net = through_network()
    net["track_links"][0]["between"] = ["A1", "A2"]
    with pytest.raises(UserError, match="joins stations of two different lines"):
        demand(tmp_path / "c", net, ["A1"], ["B2"], total=5)


@pytest.mark.parametrize("operations", ["timetable", "dynamic"])
def test_engines_agree_with_through_running(tmp_path, operations):
    net = through_network(la_own=True, min_headway_s=60, through_times=["06:37:30", "06:57:30", "07:17:30"])
    net["lines"][0]["operations"] = ops(60)
    scn = demand(tmp_path, net, ["A1", "B1"], ["A2", "B2"], total=800, operations=operations)
    bulk, ref = run(scn, engine="bulk"), run(scn, engine="reference")
    for name in ("trips", "legs", "trains", "facilities", "fares"):
        pd.testing.assert_frame_equal(getattr(bulk, name), getattr(ref, name), check_exact=True)


def test_a_line_whose_own_track_is_in_two_pieces_runs_through_the_other_lines_track(tmp_path):
    """Line X owns A1-A2 and D1-D2, joined only by line Y's track B-C (as Line 3's two ends around the
    section it shares with Line 4): its trains run A1 ... D2 onto Y, and its riders from A1 to D2
    ride through without a change (leg building took the far piece for the line's own track)."""
    op = T.operator("OP", facilities={}, entry=[], exit=[])
    every = T.headway("06:00", "09:00", 300)
    stations = [T.station(s, 121.0 + 0.01 * i) for i, s in enumerate(["A1", "A2", "B", "C", "D1", "D2"])]
    y = T.line("Y", [("B", 0.0), ("C", 1.0)], {"forward": every})
    x = T.line("X", [("A1", 0.0), ("A2", 1.0)], {"forward": every})
    x["branches"]["east"] = [["D1", 5.0], ["D2", 6.0]]
    x["patterns"] = [{"id": "through", "stops": ["A1", "A2", "B", "C", "D1", "D2"], "runs_onto": ["Y"],
                      "timetable": {"forward": every}}]
    net = T.network(stations, [x, y], operators=[op])
    net["track_links"] = [{"id": "a2_b", "between": ["A2", "B"], "km": 1.0, "operator": "OP"},
                          {"id": "c_d1", "between": ["C", "D1"], "km": 1.0, "operator": "OP"}]
    res = run(T.write(tmp_path, net, T.scenario(200, ["A1"], ["D2"], start="07:00", end="08:00", sim_end="09:00")))
    trips = res.trips
    assert (trips["status"] == "arrived").all() and (trips["n_transfers"] == 0).all()
    assert (res.legs["line"].astype(str) == "X").all()
