"""A section of line closed for a time, against a hand count: trains turn back at the station
before it, riders aboard for beyond are put off there and wait, riders shown the shortened runs
wait where they are, service resumes at the end of the closure, and the counts in summary.json
match; both engines agree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import toynet as T
from sim.api import run
from sim.errors import UserError

H = 3600.0
WAIT_ON = {"decisions": {"when_stranded": False, "after_denial": False}}
"""Nobody chooses again on the way: riders wait where a disruption leaves them (tests/unit/test_on_the_way.py
covers the choices)."""


def closed_line(tmp_path, total: int = 300, closure: dict | None = None, origins=("A",), destinations=("D",)):
    """Line L: A - B - C - D (2 km apart), 120 s between stations, 30 s stops, trains from A every 5 min
    from 06:00; the track C - D closed 06:30 - 07:00 (trains leaving C then are cut)."""
    stops = [("A", 0.0), ("B", 2.0), ("C", 4.0), ("D", 6.0)]
    line = T.line("L", stops, {"forward": T.headway("06:00", "08:00", 300)},
                  run_s={"A>B": 120, "B>C": 120, "C>D": 120}, dwell_s=30)
    net = T.network([T.station(s, 121.0 + 0.02 * i) for i, (s, _) in enumerate(stops)], [line])
    scn = T.scenario(total, list(origins), list(destinations), start="06:00", end="07:00", sim_end="08:30",
                     routing=WAIT_ON)
    scn["disruptions"] = [closure or {"id": "cd", "line": "L", "between": ["C", "D"], "start": "06:30", "end": "07:00"}]
    return T.write(tmp_path, net, scn)


def expected_arrival(t_platform: float) -> float:
    """Arrival at D of a rider reaching platform A at t (trains leave A at 06:00 + k x 5 min and reach
    D 7 min later): the 06:25 train is cut at C (it leaves C at 06:30), its riders are put off at
    06:29:30 and take the 06:55 train from C at 07:00; the trains leaving A 06:30-06:50 are shown as
    ending at C, so riders for D wait at A for the 06:55 train; D at 07:02."""
    dep = 6 * H + 300 * np.ceil((t_platform - 6 * H) / 300)
    return np.where((dep >= 6 * H + 25 * 60) & (dep < 6 * H + 55 * 60), 7 * H + 120, dep + 420)


@pytest.mark.parametrize("engine", ["bulk", "reference"])
def test_riders_are_put_off_or_wait_and_arrive_when_the_track_reopens(tmp_path, engine):
    res = run(closed_line(tmp_path), engine=engine)
    trips = res.trips.set_index("commuter_id")
    legs = res.legs.set_index("commuter_id")
    assert (trips["status"] == "arrived").all()
    assert np.array_equal(trips["t_arrive"].to_numpy(), expected_arrival(legs.loc[trips.index, "t_platform"].to_numpy()))
    # put off at C: on the 06:25 train (A 06:25 -> C 06:29:30, 270 s aboard), then the 06:55 train from C
    put_off = legs[legs["ride_before_s"] > 0]
    assert len(put_off) > 0 and np.allclose(put_off["ride_before_s"], 270.0)
    assert (put_off["t_board"] == 7 * H).all() and put_off["train_id"].astype(str).str.endswith("@06:55:00").all()
    mine = trips.loc[put_off.index]
    assert np.allclose(mine["in_vehicle_s"], 270.0 + 120.0)
    assert np.allclose(mine["wait_s"], (6 * H + 25 * 60 - put_off["t_platform"]) + (7 * H - (6 * H + 29 * 60 + 30)))
    parts = mine[["access_s", "wait_s", "in_vehicle_s", "transfer_s", "egress_s"]].sum(axis=1)
    assert np.allclose(parts, mine["travel_time_s"])
    # the cut trains end at C; nothing runs C - D between 06:30 and 07:00
    tr = res.trains
    cd = tr[(tr["station"].astype(str) == "C") & (tr["t_depart"] >= 6.5 * H) & (tr["t_depart"] < 7 * H)]
    assert (cd["load_after"] == 0).all()
    assert set(tr.loc[tr["train_id"].astype(str).str.contains("@06:3"), "station"].astype(str)) == {"A", "B", "C"}


def test_riders_within_the_open_part_are_not_affected(tmp_path):
    res = run(closed_line(tmp_path, origins=("A",), destinations=("C",)))
    trips = res.trips
    legs = res.legs.set_index("commuter_id").loc[trips["commuter_id"]]
    dep = 6 * H + 300 * np.ceil((legs["t_platform"].to_numpy() - 6 * H) / 300)
    assert np.array_equal(trips["t_arrive"].to_numpy(), dep + 270)  # the next train, cut or not
    assert (res.legs["ride_before_s"] == 0).all()


def test_engines_agree_with_a_closure_in_dynamic_operations(tmp_path):
    scn = closed_line(tmp_path, total=600, origins=("A", "B", "C"), destinations=("B", "C", "D"))
    scn = scn.with_overrides({"operations.mode": "dynamic", "changes.lines.L.operations": {
        "door_channels": 4, "door_time_s": 5, "boarding_s": 1.0, "alighting_s": 1.0, "crowded_density_p_m2": 4.0,
        "crowded_factor": 1.0, "max_dwell_s": 90, "seats": 100, "standing_area_m2": 50, "min_headway_s": 90,
        "running_recovery": 0.05}})
    bulk, ref = run(scn, engine="bulk"), run(scn, engine="reference")
    for name in ("trips", "legs", "trains", "facilities", "fares"):
        pd.testing.assert_frame_equal(getattr(bulk, name), getattr(ref, name), check_exact=True)


def test_mistakes_name_the_field(tmp_path):
    with pytest.raises(UserError, match=r"disruptions\[0\]\.between\[1\]: unknown station of line L 'X'"):
        closed_line(tmp_path / "a", closure={"id": "x", "line": "L", "between": ["C", "X"], "start": "06:30", "end": "07:00"})
    with pytest.raises(UserError, match="unknown line 'Q'"):
        closed_line(tmp_path / "b", closure={"id": "x", "line": "Q", "between": ["C", "D"], "start": "06:30", "end": "07:00"})
    with pytest.raises(UserError, match="'end' must be after 'start'"):
        closed_line(tmp_path / "c", closure={"id": "x", "line": "L", "between": ["C", "D"], "start": "07:30", "end": "07:00"})


def test_summary_counts_the_commuters_the_closure_touched(tmp_path):
    res = run(closed_line(tmp_path))
    tp = res.legs.set_index("commuter_id").loc[res.trips["commuter_id"], "t_platform"].to_numpy()
    put_off = int(((tp > 6 * H + 20 * 60) & (tp <= 6 * H + 25 * 60)).sum())    # on the 06:25 train
    waited = int(((tp > 6 * H + 25 * 60) & (tp <= 6 * H + 50 * 60)).sum())     # passed by a shortened run
    d = res.summary["disruptions"]
    # trains leaving C 06:30-06:55 are cut: those leaving A at 06:25, 06:30, ..., 06:50
    assert d["closures"] == {"cd": {"line": "L", "between": ["C", "D"], "start_s": 6.5 * H, "end_s": 7 * H,
                                    "announced_s": 6.5 * H, "expected_end_s": 7 * H, "trains_cut": 6}}
    assert (d["put_off"], d["waited"], d["stranded"]) == (put_off, waited, 0) and put_off > 0 and waited > 0
    kind = res.trips["disruption"].astype(str)
    assert d["travel_time_mean_s"] == pytest.approx(res.trips.loc[kind != "", "travel_time_s"].mean())


def test_riders_not_served_before_the_end_are_stranded(tmp_path):
    # closed to the end of the simulation: nobody for D gets there after 06:30
    res = run(closed_line(tmp_path, closure={"id": "cd", "line": "L", "between": ["C", "D"], "start": "06:30",
                                                "end": "09:00"}))
    d = res.summary["disruptions"]
    arrived = res.trips["status"] == "arrived"
    assert d["stranded"] == int((~arrived).sum()) > 0
    assert d["stranded"] == d["put_off"] + d["waited"]


def test_commuters_starting_during_the_closure_take_another_route(tmp_path):
    # a second line M: B - E - D (10 min); normally A -> D is direct on L (7 min), and it is closed C - D
    # 06:30 - 08:00: those who start in that time know it and change at B to M; the others keep L
    stops = [("A", 0.0), ("B", 2.0), ("C", 4.0), ("D", 6.0)]
    ln = T.line("L", stops, {"forward": T.headway("06:00", "09:00", 300)},
                run_s={"A>B": 120, "B>C": 120, "C>D": 120}, dwell_s=30)
    m = T.line("M", [("B", 0.0), ("E", 5.0), ("D", 10.0)], {"forward": T.headway("06:01", "09:00", 300)},
               run_s={"B>E": 300, "E>D": 300}, dwell_s=30)
    net = T.network([T.station(s, 121.0 + 0.02 * i) for i, s in enumerate("ABCDE")], [ln, m])
    scn = T.scenario(400, ["A"], ["D"], start="06:00", end="07:00", sim_end="09:00",
                     routing={"logit_scale_per_min": 5.0, **WAIT_ON})
    scn["disruptions"] = [{"id": "cd", "line": "L", "between": ["C", "D"], "start": "06:30", "end": "08:00"}]
    res = run(T.write(tmp_path, net, scn))
    trips = res.trips
    informed = trips["t_depart"] >= 6.5 * H
    assert (trips.loc[informed, "route"].astype(str) == "L>M").all()
    assert (trips.loc[~informed, "route"].astype(str) == "L").all()
    d = res.summary["disruptions"]
    assert d["rerouted"] == int(informed.sum()) > 0
    assert (trips.loc[informed, "disruption"].astype(str) == "rerouted").all()
    assert d["put_off"] + d["waited"] + d["rerouted"] == int((trips["disruption"].astype(str) != "").sum())
    assert d["stranded"] == 0 and (trips["status"] == "arrived").all()
