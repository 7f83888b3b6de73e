"""Denied boardings measured three ways, against hand counts: commuters left behind at least once
(count and share), their wait from the first train that left them behind to boarding (also when a
disruption puts them off a train before or after that denial), and the denials per train call; in
the trips and legs tables and in summary.json (whole period, windows, segments, groups), with both
engines."""

from __future__ import annotations

import numpy as np
import pytest

import toynet as T
from sim.api import run

H = 3600.0


def full_trains(tmp_path):
    """Line L: S1 - S2 (300 s), trains of 2 places leaving S1 06:30, 06:40, 06:50 (timetable
    06:30-08:00, every 10 min). Five commuters S1 -> S2 reach the platform 06:20-06:25 (no gates)."""
    line = T.line("L", [("S1", 0.0), ("S2", 5.0)], {"forward": T.headway("06:30", "08:00", 600)}, capacity=2,
                  run_s={"S1>S2": 300})
    scn = T.scenario(5, ["S1"], ["S2"], start="06:20", end="06:25", sim_end="09:00")
    scn["demand"]["groups"] = {"s1_s2": {"from": {"stations": ["S1"]}, "to": {"stations": ["S2"]}}}
    return T.write(tmp_path, T.network([T.station("S1", 121.0), T.station("S2", 121.05)], [line]), scn)


@pytest.mark.parametrize("engine", ["bulk", "reference"])
def test_five_riders_two_places_a_train(tmp_path, engine):
    # by arrival order (commuter ids): 0, 1 board at 06:30; 2, 3 are left behind by the 06:30 train
    # and board at 06:40 (600 s later); 4 is left behind at 06:30 and 06:40 and boards at 06:50
    res = run(full_trains(tmp_path), engine=engine)
    trips, legs = res.trips, res.legs
    assert list(legs["t_board"]) == [6.5 * H] * 2 + [6.5 * H + 600] * 2 + [6.5 * H + 1200]
    assert list(trips["denied_boardings"]) == [0, 0, 1, 1, 2]
    assert list(trips["denied_wait_s"]) == [0.0, 0.0, 600.0, 600.0, 1200.0]
    assert list(legs["denied_wait_s"]) == [0.0, 0.0, 600.0, 600.0, 1200.0]
    assert (trips["denied_wait_s"] <= trips["wait_s"]).all()
    expected = {"denied_commuters": 3, "denied_share": 0.6, "denied_wait_mean_s": 800.0, "denials": 4,
                "denied_boardings": 4}
    s = res.summary
    for block in (s, s["windows"]["peak_hour"], s["segments"]["all"], s["groups"]["s1_s2"]):
        assert {k: block[k] for k in expected} == expected
    assert list(res.trains.loc[res.trains["station"].astype(str) == "S1", "boarded"])[:3] == [2, 2, 1]


def closed_line(tmp_path, segments: list[tuple[str, str, str, int]]):
    """Line L: A - B - C - D (2 km apart, 120 s between stations, 30 s stops), trains of 2 places from
    A every 5 min from 06:00; the track C - D closed 06:30-07:00: the 06:25 train ends its run at C
    (arriving 06:29:30) and puts its riders off there; the trains leaving A 06:30-06:50 are shown
    ending at C; the 06:55 train leaves C at 07:00. Commuters A -> D in segments (name, from, to,
    count): `count` of them start in [from, to)."""
    stops = [("A", 0.0), ("B", 2.0), ("C", 4.0), ("D", 6.0)]
    line = T.line("L", stops, {"forward": T.headway("06:00", "08:00", 300)}, capacity=2,
                  run_s={"A>B": 120, "B>C": 120, "C>D": 120}, dwell_s=30)
    net = T.network([T.station(s, 121.0 + 0.02 * i) for i, (s, _) in enumerate(stops)], [line])
    total = sum(n for *_, n in segments)
    scn = T.scenario(total, ["A"], ["D"], start=segments[0][1], end=segments[-1][2], sim_end="08:30",
                     routing={"decisions": {"when_stranded": False, "after_denial": False}})  # everyone waits
    one = scn["demand"]["segments"][0]
    scn["demand"]["segments"] = [{**one, "name": name, "profile": name, "share": n / total} for name, _, _, n in segments]
    scn["demand"]["profiles"] = {name: {"points": [[t0, 1.0], [t1, 1.0]]} for name, t0, t1, _ in segments}
    scn["disruptions"] = [{"id": "cd", "line": "L", "between": ["C", "D"], "start": "06:30", "end": "07:00"}]
    return T.write(tmp_path, net, scn)


@pytest.mark.parametrize("engine", ["bulk", "reference"])
def test_a_rider_left_behind_then_put_off_waits_from_the_first_denial(tmp_path, engine):
    # four at A 06:17-06:19: 0, 1 take the 06:20 train (it leaves C at 06:25, before the closure);
    # 2, 3 are left behind by it, take the 06:25 train, are put off at C at 06:29:30 (270 s aboard)
    # and take the 06:55 train there at 07:00. Their wait after the first denial: 06:20-06:25 at A
    # and 06:29:30-07:00 at C, 300 + 1830 = 2130 s (06:20 to 07:00 less the 270 s aboard)
    res = run(closed_line(tmp_path, [("early", "06:17", "06:19", 4)]), engine=engine)
    trips, legs = res.trips, res.legs
    assert list(trips["denied_boardings"]) == [0, 0, 1, 1]
    assert list(legs["ride_before_s"]) == [0.0, 0.0, 270.0, 270.0]
    assert list(legs["t_board"]) == [6 * H + 1200] * 2 + [7 * H] * 2
    assert list(trips["denied_wait_s"]) == [0.0, 0.0, 2130.0, 2130.0]
    late = trips.iloc[2:]
    assert np.allclose(late["wait_s"] - late["denied_wait_s"], 6 * H + 1200 - legs["t_platform"].iloc[2:])
    s = res.summary
    assert (s["denied_commuters"], s["denied_wait_mean_s"], s["denials"]) == (2, 2130.0, 2)


@pytest.mark.parametrize("engine", ["bulk", "reference"])
def test_a_rider_put_off_then_left_behind_waits_from_that_denial(tmp_path, engine):
    # "early" (06:21-06:24) take the 06:25 train and are put off at C at 06:29:30; "late" (06:40-06:45)
    # are shown the trains ending at C, wait at A and fill the 06:55 train, which leaves the early two
    # behind at C at 07:00; the 07:00 train takes them there at 07:05: 300 s after that denial
    res = run(closed_line(tmp_path, [("early", "06:21", "06:24", 2), ("late", "06:40", "06:45", 2)]), engine=engine)
    trips = res.trips.set_index("commuter_id")
    legs = res.legs.set_index("commuter_id")
    early = trips.index[trips["segment"].astype(str) == "early"]
    assert list(trips["segment"].astype(str)) == ["early"] * 2 + ["late"] * 2
    assert list(trips["disruption"].astype(str)) == ["put_off"] * 2 + ["waited"] * 2
    assert list(trips["denied_boardings"]) == [1, 1, 0, 0]
    assert list(legs.loc[early, "ride_before_s"]) == [270.0, 270.0]
    assert list(legs["t_board"]) == [7 * H + 300] * 2 + [6 * H + 55 * 60] * 2
    assert list(trips["denied_wait_s"]) == [300.0, 300.0, 0.0, 0.0]
    s = res.summary
    assert (s["denied_commuters"], s["denied_share"], s["denied_wait_mean_s"], s["denials"]) == (2, 0.5, 300.0, 2)
    assert s["segments"]["early"]["denied_wait_mean_s"] == 300.0 and s["segments"]["late"]["denied_wait_mean_s"] is None
