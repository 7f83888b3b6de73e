"""Timetable planning (sim.timetable_plan) against hand computation: an express overtakes an
all-stops train where it waits at a passing track, follows it where there is none, trains closer
than the minimum headway are spaced, trains entering service at a depot take their place by time;
dynamic and timetable operations run the planned times; the shipped networks plan without warnings.

Toy line A-B-C-D-E (2 km apart), forward only: the all-stops train runs 120 s a section and dwells
30 s; the express stops at A, C and E, runs A-C and C-E in 180 s each and passes B and D halfway
(90 s after leaving the stop before). Dwell does not depend on passengers; recovery is 0.

Offsets from 06:30:00 of the all-stops train leaving A at 06:30:00 and the express at 06:32:30, as
written: all-stops A 0, B 120/150, C 270/300, D 420/450, E 570; express A 150, B 240, C 330/360,
D 450, E 540. The express catches the all-stops train between C and D (at D it would pass at 450,
when the all-stops train leaves).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import toynet as T
from sim.api import run
from sim.plausibility import timetable_notes
from sim.scenario import load_network, load_scenario
from sim.timetable import build_trains
from sim.timetable_plan import MAX_HOLD_S, plan_trains
from sim.units import parse_time

ROOT = Path(__file__).resolve().parents[2]
STOPS = [("A", 0.0), ("B", 2.0), ("C", 4.0), ("D", 6.0), ("E", 8.0)]
STATIONS = [T.station(s, 121.0 + km / 100) for s, km in STOPS]
RUNS = {"A>B": 120, "B>C": 120, "C>D": 120, "D>E": 120, "A>C": 180, "C>E": 180}


def toy(passing: list[str], all_stops: list[str], express: list[str] | None = None, min_headway_s: float = 60,
        early_service: dict | None = None) -> dict:
    """The toy network: all-stops departures `all_stops` (or a timetable dict), express `express`."""
    forward = {"departures": all_stops} if isinstance(all_stops, list) else all_stops
    if early_service:
        forward = {**forward, "early_service": early_service}
    patterns = [{"id": "all", "stops": ["A", "E"], "timetable": {"forward": forward}}]
    if express:
        patterns.append({"id": "express", "stops": ["A", "E"], "skip": ["B", "D"],
                         "timetable": {"forward": {"departures": express}}})
    line = T.line("L", STOPS, {}, run_s=RUNS, dwell_s=30, patterns=patterns)
    line["operations"] = {"door_channels": 1, "door_time_s": 0, "boarding_s": 0.0, "alighting_s": 0.0,
                          "seats": 100, "standing_area_m2": 50, "min_headway_s": min_headway_s,
                          "running_recovery": 0.0, "passing_tracks": passing}
    return T.network(STATIONS, [line])


def scenario(tmp_path: Path, net: dict, mode: str = "dynamic"):
    return T.write(tmp_path, net, T.scenario(10, ["A"], ["E"], start="06:00", end="06:10", sim_end="08:00",
                                             operations=mode))


def at(clock: str) -> float:
    return parse_time(clock)


def calls(res, prefix: str) -> pd.DataFrame:
    tr = res.trains
    return tr[tr["train_id"].astype(str).str.startswith(prefix)].set_index("station")


def planned(scn, passes: bool = True):
    return plan_trains(scn.network, at("06:00"), at("08:00"), passes=passes)


def times(trains, train_id: str) -> dict[str, tuple[float, float]]:
    """Station id -> (arrival, departure) of one planned train."""
    k = trains.train_id.index(train_id)
    lo, hi = trains.call_start[k], trains.call_start[k + 1]
    return {chr(ord("A") + int(s)): (trains.call_t_arr[c], trains.call_t_dep[c])
            for c, s in zip(range(lo, hi), trains.call_station[lo:hi])}


@pytest.mark.parametrize("engine", ["bulk", "reference"])
def test_the_express_overtakes_where_the_all_stops_train_waits_at_the_passing_track(tmp_path, engine):
    scn = scenario(tmp_path, toy(["C"], ["06:30"], ["06:32:30"]))
    plan = planned(scn)
    # the express leaves C at 360; the all-stops train leaves a minimum headway (60 s) later, at 420:
    # held 420 - 300 = 120 s, and every later call of it moves by the same
    slow, fast = times(plan.trains, "L.all.forward@06:30:00"), times(plan.trains, "L.express.forward@06:32:30")
    assert slow["C"] == (at("06:34:30"), at("06:37:00"))
    assert slow["D"] == (at("06:39:00"), at("06:39:30")) and slow["E"][0] == at("06:41:30")
    assert fast == {"A": (at("06:32:30"),) * 2, "B": (at("06:34:00"),) * 2, "C": (at("06:35:30"), at("06:36:00")),
                    "D": (at("06:37:30"),) * 2, "E": (at("06:39:00"),) * 2}  # as written
    assert plan.notes == ["L: the 06:30 all train from A waits 2 min at C for the 06:32:30 express train from A to "
                          "overtake it"]
    assert plan.warnings == []
    res = run(scn, engine=engine)
    assert (res.trains["delay_s"] == 0).all()  # dynamic operations run the plan exactly
    slow_run, fast_run = calls(res, "L.all.forward"), calls(res, "L.express.forward")
    assert fast_run.loc["E", "t_arrive"] == at("06:39:00")
    assert slow_run.loc["C", "t_depart"] == at("06:37:00")
    # the order on the track: all-stops first up to C, the express first after it
    assert slow_run.loc["B", "t_arrive"] < fast_run.loc["B", "t_arrive"]
    assert slow_run.loc["C", "t_arrive"] < fast_run.loc["C", "t_arrive"]
    assert fast_run.loc["D", "t_arrive"] < slow_run.loc["D", "t_arrive"]
    assert fast_run.loc["E", "t_arrive"] < slow_run.loc["E", "t_arrive"]
    assert not fast_run.loc["D", "stops"]


def test_engines_agree_on_a_planned_line(tmp_path):
    scn = scenario(tmp_path, toy(["C"], ["06:30"], ["06:32:30"]))
    bulk, ref = run(scn, engine="bulk"), run(scn, engine="reference")
    for name in ("trips", "legs", "trains", "facilities", "fares"):
        pd.testing.assert_frame_equal(getattr(bulk, name), getattr(ref, name), check_exact=True)


def test_timetable_operations_keep_exactly_to_the_planned_times(tmp_path):
    res = run(scenario(tmp_path, toy(["C"], ["06:30"], ["06:32:30"]), mode="timetable"))
    slow = calls(res, "L.all.forward")
    assert slow.loc["C", "t_depart"] == at("06:37:00") and slow.loc["E", "t_arrive"] == at("06:41:30")
    assert (res.trains["delay_s"] == 0).all()
    assert "D" not in calls(res, "L.express.forward").index  # passed stations only in dynamic operations


def test_without_a_passing_track_before_the_catch_up_the_express_follows_and_is_warned_about(tmp_path):
    # the only passing track is at the end of the line. At D the express may pass at the earliest
    # 60 s after the all-stops train arrived (480) and left (450 + 60 = 510); at E it arrives 60 s
    # after it: 570 + 60 = 630 = 06:40:30, 90 s later than written
    scn = scenario(tmp_path, toy(["E"], ["06:30"], ["06:32:30"]))
    plan = planned(scn)
    fast = times(plan.trains, "L.express.forward@06:32:30")
    assert fast["C"] == (at("06:35:30"), at("06:36:00"))  # unchanged before the catch-up
    assert fast["D"] == (at("06:38:30"),) * 2 and fast["E"][0] == at("06:40:30")
    assert times(plan.trains, "L.all.forward@06:30:00") == times(build_trains(scn.network, at("06:00"), at("08:00"),
                                                                               passes=True), "L.all.forward@06:30:00")
    assert plan.notes == []
    assert plan.warnings == [
        "L: the 06:32:30 express train from A cannot run as timetabled: it catches up with the 06:30 all train "
        f"from A at D, with no passing track before where that train could wait at most {MAX_HOLD_S / 60:g} min "
        "for it, and follows it; planned, it reaches E 1 min 30 s later than timetabled"]
    res = run(scn)
    assert calls(res, "L.express.forward").loc["E", "t_arrive"] == at("06:40:30")
    assert (res.trains["delay_s"] == 0).all()
    assert any("cannot run as timetabled" in w for w in res.summary["warnings"])


@pytest.mark.parametrize("second, spaced, warned", [("06:31:30", 30, False), ("06:30:30", 90, True)])
def test_departures_closer_than_the_minimum_headway_are_spaced(tmp_path, second, spaced, warned):
    scn = scenario(tmp_path, toy(["C"], ["06:30", second], min_headway_s=120))
    plan = planned(scn)
    written = build_trains(scn.network, at("06:00"), at("08:00"), passes=True)
    train = f"L.all.forward@{second}"
    moved = {s: (a - spaced, d - spaced) for s, (a, d) in times(plan.trains, train).items()}
    assert moved == times(written, train)  # every call 120 s after the first train's, `spaced` s late
    assert times(plan.trains, train)["A"][1] == at("06:32:00")
    if warned:
        assert plan.notes == [] and plan.warnings == [
            f"L: the {second} all train from A cannot run as timetabled: it is due at A less than the line's "
            "minimum headway (2 min) after the 06:30 all train from A; planned, it reaches E 1 min 30 s later "
            "than timetabled"]
    else:
        assert plan.warnings == [] and plan.notes == [
            "L: 1 train planned up to 30 s later than timetabled, to keep the minimum headway or the order on "
            "the track"]
    assert (run(scn).trains["delay_s"] == 0).all()


def test_a_train_entering_service_at_a_depot_takes_its_place_by_time_there(tmp_path):
    # every 10 min from 06:30, trains entering service at C from 06:00: the one named 06:20 (its time
    # at A) appears at C at 06:24:30. The express leaving A at 06:21 comes after it in departure
    # order but reaches C first (06:24:00): the depot train enters 60 s after it, at 06:25:00.
    net = toy(["C"], T.headway("06:30", "07:00", 600), ["06:21"], early_service={"from": "06:00", "depots": ["C"]})
    scn = scenario(tmp_path, net)
    plan = planned(scn)
    depot = times(plan.trains, "L.all.forward@06:20:00")
    assert list(depot) == ["C", "D", "E"]
    assert depot["C"] == (at("06:25:00"), at("06:25:30")) and depot["E"][0] == at("06:30:00")
    assert times(plan.trains, "L.express.forward@06:21:00")["C"] == (at("06:24:00"), at("06:24:30"))  # as written
    assert plan.warnings == []
    assert (run(scn).trains["delay_s"] == 0).all()


def test_lines_without_a_passing_track_keep_their_written_timetable(tmp_path):
    scn = scenario(tmp_path, toy([], ["06:30"], ["06:32:30"]))
    plan = plan_trains(scn.network, at("06:00"), at("08:00"), passes=False)
    written = build_trains(scn.network, at("06:00"), at("08:00"), passes=False)
    for field in ("call_start", "call_station", "call_platform", "call_seq", "call_t_arr", "call_t_dep", "call_stop",
                  "call_serves_to"):
        assert (getattr(plan.trains, field) == getattr(written, field)).all()
    assert plan.lines == frozenset() and plan.notes == plan.warnings == []
    # not planned, the track warnings stay: both leave D at 450 and the express ends its run at E at
    # 540, 30 s before the all-stops train (2 departures under 60 s apart), overtaking it after D
    notes, warnings = timetable_notes(scn.network, at("06:00"), at("08:00"), dynamic=True)
    assert notes == [] and warnings == [
        "L: 1 times a train is timetabled to overtake another between two stations without a passing track; it "
        "will run behind it",
        "L: 2 departures are timetabled closer than the line's minimum headway after the one before; they will "
        "leave later"]


NETWORKS = ["yrd_today.yaml", "yrd_2028.yaml", "suzhou_l11.yaml", "shanghai_l11.yaml", "shanghai_l17.yaml",
            "demo_zone_line.yaml"]


@pytest.mark.parametrize("name", NETWORKS)
def test_the_shipped_networks_plan_without_warnings(name):
    net = load_network(ROOT / "networks" / name)[0]
    notes, warnings = timetable_notes(net, 0.0, math.inf, dynamic=True)
    assert warnings == []
    if "SZ11" in {ln.id for ln in net.lines}:  # every express overtakes twice, the all-stops train waiting
        holds = [n for n in notes if " waits " in n]
        assert len(holds) == len(notes) == 8 and all("express train" in n for n in holds)


def test_the_shipped_express_runs_its_planned_timetable_in_dynamic_operations():
    scn = load_scenario(ROOT / "scenarios" / "baseline.yaml", {"demand.total": 20000})
    m = scn.model
    notes, warnings = timetable_notes(scn.network, m.period.start, scn.t_end, dynamic=True)
    assert warnings == [] and len(notes) == 4  # two AM expresses, two holds each
    res = run(scn)
    assert not any("timetabled" in w for w in res.summary["warnings"])
    tr = res.trains
    express = tr[tr["train_id"].astype(str).str.startswith("SZ11.express")]
    end = express[express["station"].astype(str) == "sz_huaqiao"]
    assert len(end) == 2 and (end["delay_s"] <= 120).all()
    start = express[express["station"].astype(str) == "sz_weiting"].set_index("train_id")["t_depart"]
    run_s = end.set_index("train_id")["t_arrive"] - start.loc[end["train_id"]].to_numpy()
    assert (run_s - end.set_index("train_id")["delay_s"] == 32 * 60 + 19).all()  # planned: the free run


def test_validate_prints_what_run_prints_and_strict_makes_warnings_errors(tmp_path, capsys, caplog):
    from sim.cli import main

    scenario(tmp_path, toy(["C"], ["06:30", "06:30:30"], min_headway_s=120))
    path = str(tmp_path / "scn.yaml")
    assert main(["validate", path]) == 0  # warnings do not fail validation
    assert "cannot run as timetabled" in caplog.text and f"ok: {path}" in capsys.readouterr().out
    warned = [r.getMessage() for r in caplog.records if "cannot run as timetabled" in r.getMessage()]
    caplog.clear()
    run(load_scenario(path))  # the same warning, as the run logs it
    assert any(w.endswith(r.getMessage()) for w in warned for r in caplog.records)
    assert main(["validate", path, "--strict"]) == 2
    err = capsys.readouterr().err
    assert "timetable: L: the 06:30:30 all train from A cannot run as timetabled" in err and "(--strict)" in err
