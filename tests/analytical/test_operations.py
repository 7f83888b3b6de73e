"""Dynamic train operations against exact values: dwell from passenger flows, recovery of a late
train, separation of consecutive trains, no overtaking without a passing track, order at a merge;
and timetable operations reproduce the outputs recorded before dynamic operations existed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

import toynet as T
from sim.api import run
from sim.scenario import load_scenario

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
H630 = 6.5 * 3600


def ops(**extra) -> dict:
    base = {"door_channels": 10, "door_time_s": 8, "boarding_s": 1.0, "alighting_s": 0.8,
            "crowded_density_p_m2": 3.0, "crowded_factor": 1.0, "max_dwell_s": 200, "seats": 100,
            "standing_area_m2": 50, "min_headway_s": 0, "running_recovery": 0.0}
    return {**base, **extra}


def segments_scenario(counts: dict[tuple[str, str], int], end: str = "06:10") -> dict:
    """A scenario with exactly counts[(o, d)] commuters from o to d, all starting 06:00-`end`."""
    scn = T.scenario(sum(counts.values()), ["A"], ["B"], start="06:00", end=end, sim_end="08:00",
                     operations="dynamic")
    scn["demand"]["segment_shares"] = "weights"  # shares are the commuter counts
    scn["demand"]["segments"] = [
        {"name": f"{o}_{d}", "share": n, "profile": "p", "payment": {"qr": 1.0},
         "generator": {"origins": {"stations": [o]}, "destinations": {"stations": [d]}}}
        for (o, d), n in counts.items()]
    return scn


def calls(res, train_prefix: str) -> pd.DataFrame:
    tr = res.trains
    return tr[tr["train_id"].astype(str).str.startswith(train_prefix)].set_index("station")


@pytest.mark.parametrize("factor, cap, dwell_b", [
    (1.0, 200, 46),   # 8 + (100 x 0.8 + 300 x 1.0) / 10 = 46 s
    (1.5, 200, 65),   # standing density (300 - 100) / 50 = 4 > 3: flow part x 1.5 -> 8 + 57
    (1.0, 40, 40),    # capped at max_dwell_s
])
def test_dwell_follows_the_passenger_flows_and_a_late_train_recovers_its_slack(tmp_path, factor, cap, dwell_b):
    stops = [("A", 0.0), ("B", 2.0), ("C", 4.0)]
    line = T.line("L", stops, {"forward": {"departures": ["06:30"]}}, run_s={"A>B": 120, "B>C": 600}, dwell_s=30)
    line["operations"] = ops(crowded_factor=factor, max_dwell_s=cap, running_recovery=1 / 60)  # 10 s of 600
    net = T.network([T.station("A", 121.0), T.station("B", 121.02), T.station("C", 121.04)], [line])
    res = run(T.write(tmp_path, net, segments_scenario({("A", "B"): 100, ("B", "C"): 300})))
    c = calls(res, "L.all.forward@06:30")
    assert c.loc["A", "t_depart"] == H630  # boarding at the first stop happens before departure
    assert (c.loc["B", "alighted"], c.loc["B", "boarded"]) == (100, 300)
    assert c.loc["B", "t_arrive"] == H630 + 120
    assert c.loc["B", "t_depart"] - c.loc["B", "t_arrive"] == dwell_b
    late = dwell_b - 30
    assert c.loc["B", "delay_s"] == late
    assert c.loc["C", "t_arrive"] - (H630 + 120 + 30 + 600) == max(0, late - 10)  # 10 s recovered


@pytest.mark.parametrize("engine", ["bulk", "reference"])
def test_a_full_train_leaves_each_commuter_behind_once_even_when_its_doors_reopen(tmp_path, engine):
    # 300 wait at B for one train with room for 50; boarding 50 at 10 s each through 10 channels keeps
    # the doors open 8 + 50 = 58 s > the 30 s timetabled dwell, so boarding is tried a second time
    stops = [("A", 0.0), ("B", 2.0), ("C", 4.0)]
    line = T.line("L", stops, {"forward": {"departures": ["06:30"]}}, capacity=50, run_s={"A>B": 120, "B>C": 600},
                  dwell_s=30)
    line["operations"] = ops(boarding_s=10.0)
    net = T.network([T.station("A", 121.0), T.station("B", 121.02), T.station("C", 121.04)], [line])
    res = run(T.write(tmp_path, net, segments_scenario({("B", "C"): 300})), engine=engine)
    c = calls(res, "L.all.forward@06:30")
    assert c.loc["B", "t_depart"] - c.loc["B", "t_arrive"] == 58
    assert c.loc["B", "boarded"] == 50
    assert sorted(res.trips["denied_boardings"].value_counts().items()) == [(0, 50), (1, 250)]


def test_consecutive_trains_keep_the_minimum_headway_and_the_follower_loses_the_shortfall(tmp_path):
    stops = [("A", 0.0), ("B", 3.0), ("C", 6.0)]
    line = T.line("L", stops, {"forward": {"departures": ["06:30:00", "06:31:00"]}},
                  run_s={"A>B": 200, "B>C": 200}, dwell_s=30)
    line["operations"] = ops(door_channels=1, door_time_s=0, boarding_s=0, alighting_s=0, min_headway_s=120)
    net = T.network([T.station("A", 121.0), T.station("B", 121.03), T.station("C", 121.06)], [line])
    res = run(T.write(tmp_path, net, segments_scenario({("A", "C"): 10})))
    lead, follow = calls(res, "L.all.forward@06:30"), calls(res, "L.all.forward@06:31")
    assert (follow["delay_s"] == 60.0).all()  # 120 s required, 60 s timetabled
    assert ((follow["t_arrive"] - lead["t_arrive"]) >= 120).all()
    assert ((follow["t_depart"] - lead["t_depart"]).loc[["A", "B"]] == 120).all()


def express_network(passing: list[str]) -> dict:
    """All-stops A-B-C (long dwell at B) at 06:30 and an express A-C (passing B) at 06:32 that is
    timetabled to overtake it around B."""
    stops = [("A", 0.0), ("B", 3.0), ("C", 6.0)]
    line = T.line("L", stops, {}, run_s={"A>B": 200, "B>C": 200, "A>C": 300}, dwell_s=30, patterns=[
        {"id": "all", "stops": ["A", "C"], "timetable": {"forward": {"departures": ["06:30"]}}},
        {"id": "express", "stops": ["A", "C"], "skip": ["B"], "timetable": {"forward": {"departures": ["06:32"]}}}])
    line["dwell_s_at"] = {"B": 120}
    line["operations"] = ops(door_channels=1, door_time_s=0, boarding_s=0, alighting_s=0, passing_tracks=passing)
    return T.network([T.station("A", 121.0), T.station("B", 121.03), T.station("C", 121.06)], [line])


def test_no_overtaking_without_a_passing_track(tmp_path):
    res = run(T.write(tmp_path, express_network([]), segments_scenario({("A", "C"): 10})))
    slow, fast = calls(res, "L.all.forward"), calls(res, "L.express.forward")
    # the express passes B only when the all-stops train has left it, and follows it to C
    # (the all-stops train leaves B at 06:35:20 and reaches C at 06:38:40; the express, timetabled at
    # C at 06:37:00, can only follow it there)
    assert fast.loc["C", "t_arrive"] == slow.loc["C", "t_arrive"] == 6 * 3600 + 38 * 60 + 40
    assert fast.loc["C", "delay_s"] == 100.0


def test_overtaking_at_a_passing_track(tmp_path):
    res = run(T.write(tmp_path, express_network(["B"]), segments_scenario({("A", "C"): 10})))
    slow, fast = calls(res, "L.all.forward"), calls(res, "L.express.forward")
    assert fast.loc["C", "delay_s"] == 0.0 and fast.loc["C", "t_arrive"] < slow.loc["C", "t_arrive"]


def test_trains_keep_timetable_order_at_a_merge(tmp_path):
    # A Y-shaped line: branches from X1 and X2 join at J towards Z. T0 and T1 leave X1 only 30 s apart
    # (headway 120 s), so T1 runs 90 s late; T2 from X2 is timetabled at J after T1 and gives way.
    line = {"id": "L", "operator": "OP", "name": "L", "capacity": 1000, "dwell_s": 30,
            "branches": {"one": [["Z", 0.0], ["J", 5.0], ["X1", 8.0]], "two": [["J", 5.0], ["X2", 9.0]]},
            "speed_profile": {"max_kmh": 80, "accel_ms2": 1.0, "decel_ms2": 1.0},
            "run_s": {"X1>J": 480, "X2>J": 450, "J>Z": 300},
            "patterns": [
                {"id": "one", "stops": ["X1", "Z"], "timetable": {"forward": {"departures": ["06:30:00", "06:30:30"]}}},
                {"id": "two", "stops": ["X2", "Z"], "timetable": {"forward": {"departures": ["06:31:30"]}}}],
            "operations": ops(door_channels=1, door_time_s=0, boarding_s=0, alighting_s=0, min_headway_s=120)}
    stations = [T.station(s, 121.0 + i / 100) for i, s in enumerate(["Z", "J", "X1", "X2"])]
    res = run(T.write(tmp_path, T.network(stations, [line]), segments_scenario({("X1", "Z"): 5, ("X2", "Z"): 5})))
    t0, t1, t2 = (calls(res, p) for p in ("L.one.forward@06:30:00", "L.one.forward@06:30:30", "L.two.forward"))
    assert t1.loc["X1", "delay_s"] == 90.0
    # timetabled at J: T0 06:38:00, T1 06:38:30, T2 06:39:00. T1 can be there only at 06:40:00; T2,
    # ready at 06:39:00, gives way to it and follows 120 s later.
    assert t1.loc["J", "t_arrive"] == t0.loc["J", "t_arrive"] + 120 == 6 * 3600 + 40 * 60
    assert t2.loc["J", "t_arrive"] == t1.loc["J", "t_arrive"] + 120


COLUMNS = {"legs": ["commuter_id", "leg", "line", "operator", "train_id", "board_station", "alight_station", "t_platform",
                    "t_board", "t_alight", "fare_cny"],
           "trips": ["commuter_id", "origin", "destination", "segment", "payment", "t_depart", "t_arrive", "status",
                     "travel_time_s", "access_s", "wait_s", "in_vehicle_s", "transfer_s", "egress_s", "n_transfers",
                     "denied_boardings", "fare_cny", "route"],
           "trains": ["train_id", "line", "service", "direction", "station", "seq", "t_arrive", "t_depart", "boarded",
                      "alighted", "load_after", "capacity"]}


def digest(df: pd.DataFrame, name: str) -> str:
    df = df[COLUMNS[name]] if name in COLUMNS else df
    h = pd.util.hash_pandas_object(df.reset_index(drop=True), index=False).to_numpy()
    return hashlib.sha256(h.tobytes()).hexdigest()


def test_timetable_operations_reproduce_the_recorded_outputs_even_with_line_operations(tmp_path):
    golden = json.loads((FIXTURES / "golden_timetable.json").read_text(encoding="utf-8"))["toy"]
    res = run(load_scenario(FIXTURES / "toy_scn.yaml", {"operations.mode": "timetable"}))
    assert {t: digest(getattr(res, t), t) for t in golden} == golden
    # line operations are ignored in timetable mode
    res = run(load_scenario(FIXTURES / "toy_scn.yaml", {
        "operations.mode": "timetable", "changes.lines.L1.operations": ops(min_headway_s=600)}))
    assert {t: digest(getattr(res, t), t) for t in golden} == golden
    assert (res.trains["delay_s"] == 0).all()


@pytest.mark.parametrize("passing", [[], ["B"]])
def test_engines_agree_in_dynamic_operations(tmp_path, passing):
    net = express_network(passing)
    # two door channels: passenger flows, not the (planned) timetable, make trains late here
    net["lines"][0]["operations"] = ops(min_headway_s=90, running_recovery=0.05, passing_tracks=passing,
                                        crowded_factor=1.4, crowded_density_p_m2=0.5, seats=5, standing_area_m2=10,
                                        door_channels=2)
    net["lines"][0]["dwell_s_at"] = {}
    net["lines"][0]["patterns"][0]["timetable"]["forward"] = T.headway("06:00", "08:00", 150)
    scn = T.write(tmp_path, net, T.scenario(3000, ["A", "B"], ["B", "C"], start="06:00", end="07:30",
                                            sim_end="09:00", operations="dynamic"))
    bulk, ref = run(scn, engine="bulk"), run(scn, engine="reference")
    for name in ("trips", "legs", "trains", "facilities", "fares"):
        pd.testing.assert_frame_equal(getattr(bulk, name), getattr(ref, name), check_exact=True)
    assert bulk.trains["delay_s"].max() > 0
