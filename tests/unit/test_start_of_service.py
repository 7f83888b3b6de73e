"""Start of service: trains entering service at depots along the line, the warm-up window in the
KPIs, and the plausibility warning for commuters who come before the first train."""

from __future__ import annotations

import numpy as np
import pytest

import toynet as T
from sim.api import run
from sim.routing import build_leg_options
from sim.scenario import load_scenario

STOPS = [("A", 0.0), ("B", 2.0), ("C", 4.0), ("D", 6.0)]
STATIONS = [T.station("A", 121.0), T.station("B", 121.02), T.station("C", 121.04), T.station("D", 121.06)]


def early_line(depots: list[str], start: str = "06:00") -> dict:
    tt = {"forward": {**T.headway("06:30", "08:00", 600), "early_service": {"from": start, "depots": depots}}}
    return T.line("L", STOPS, tt, run_s={"A>B": 300, "B>C": 300, "C>D": 300}, dwell_s=0)


def test_trains_enter_service_at_depots_before_the_first_train_reaches_them(tmp_path):
    scn = T.write(tmp_path, T.network(STATIONS, [early_line(["B", "C"])]), T.scenario(10, ["A"], ["D"]))
    (p,) = scn.network.patterns
    # the 10-min headway continued backwards from 06:30: 06:20 reaches B at 06:25 (enters at B),
    # 06:10 reaches B at 06:15, 06:00 at 06:05, 05:50 reaches B at 05:55 < 06:00 but C at 06:00
    # (enters at C); 05:40 reaches C at 05:50: too early for any depot
    assert [t / 60 - 360 for t in p.departures[:5]] == [-10, 0, 10, 20, 30]
    assert p.entry[:5] == (2, 1, 1, 1, 0)
    res = run(scn)
    first_calls = res.trains.groupby("train_id", observed=True)["station"].first().astype(str)
    assert first_calls["L.all.forward@05:50:00"] == "C"
    assert first_calls["L.all.forward@06:00:00"] == "B"
    assert first_calls["L.all.forward@06:30:00"] == "A"
    # trains not yet in service at a stop are not offered there
    legs = {(scn.network.stations[leg.board].id, scn.network.stations[leg.alight].id): leg
            for leg in build_leg_options(scn.network)}
    assert legs[("A", "D")].departures[0] == 6.5 * 3600
    assert legs[("B", "D")].departures[0] == 6 * 3600 + 5 * 60
    assert legs[("C", "D")].departures[0] == 5 * 3600 + 60 * 60


def test_early_service_mistakes(tmp_path):
    net = T.network(STATIONS, [early_line(["Q"])])
    (tmp_path / "net.yaml").write_text(__import__("yaml").safe_dump(net), encoding="utf-8")
    from sim.errors import UserError
    from sim.scenario import load_network

    with pytest.raises(UserError) as info:
        load_network(tmp_path / "net.yaml")
    assert info.value.problems[0].path == "lines[0].patterns[0].timetable.forward.early_service.depots[0]"


def test_warm_up_excludes_early_commuters_from_the_kpis_but_reports_everyone(tmp_path):
    net = T.network(STATIONS, [T.line("L", STOPS, {"forward": T.headway("05:30", "09:00", 300)})])
    scn_dict = T.scenario(600, ["A"], ["D"], start="06:00", end="07:00")
    scn_dict["period"]["warm_up_until"] = "06:20"
    res = run(T.write(tmp_path, net, scn_dict))
    after = res.trips[res.trips["t_depart"] >= 6 * 3600 + 20 * 60]
    assert res.summary["commuters"] == len(after) < 600
    assert res.summary["travel_time_mean_s"] == pytest.approx(after["travel_time_s"].mean())
    w = res.summary["warm_up"]
    assert (w["until_s"], w["commuters_excluded"]) == (6 * 3600 + 1200, 600 - len(after))
    assert w["all_commuters"]["commuters"] == 600


def test_warning_for_commuters_before_the_first_train(tmp_path):
    net = T.network(STATIONS, [T.line("L", STOPS, {"forward": T.headway("06:30", "09:00", 300)})])
    res = run(T.write(tmp_path, net, T.scenario(300, ["A"], ["D"], start="06:00", end="07:00")))
    early = (res.trips["t_depart"] < 6.5 * 3600).sum()
    [msg] = [w for w in res.summary["warnings"] if "before the first train" in w]
    assert msg.startswith(f"{early:,} commuters reach a L platform")


def test_warning_for_commuters_after_the_last_train(tmp_path):
    # service ends at 06:30 (last train 06:25 from A); those starting later never arrive
    net = T.network(STATIONS, [T.line("L", STOPS, {"forward": T.headway("05:30", "06:30", 300)})])
    res = run(T.write(tmp_path, net, T.scenario(300, ["A"], ["D"], start="06:00", end="07:00")))
    stuck = res.trips["status"] != "arrived"
    [msg] = [w for w in res.summary["warnings"] if "no train between their start" in w]
    # every commuter starting after the last departure from A (the walk to the platform aside)
    assert (res.trips.loc[stuck, "t_depart"] > 6 * 3600 + 25 * 60 - 120).all() and stuck.sum() > 100
    assert msg.startswith(f"{stuck.sum():,} commuters have a leg of their route") and f"(destinations: D {stuck.sum():,})" in msg


def test_baseline_commuters_starting_first_wait_what_the_timetable_gives():
    """On the baseline, the first quarter hour's waits are what random incidence on the running
    timetable predicts (no start-up artefact: before trains entered service at depots they were 3x
    the period's mean)."""
    from sim.routing import LegNetwork

    scn = load_scenario(T_ROOT / "scenarios" / "baseline.yaml", {"demand.total": 40000})
    res = run(scn)
    m = scn.model
    legs_net = LegNetwork(scn.network, m.period.start, m.period.end)
    key = {(leg.platform, leg.alight): k for k, leg in enumerate(legs_net.options)}
    net = scn.network
    plat = {(p.station, p.line, p.direction): p.index for p in net.platforms}
    legs = res.legs[res.legs["leg"] == 0]
    km = {ln.index: ln.km for ln in net.lines}
    k = []
    for board, alight, line in zip(legs["board_station"].astype(str), legs["alight_station"].astype(str),
                                   legs["line"].astype(str)):
        b, a, li = net.station_index[board], net.station_index[alight], net.line_index[line]
        k.append(key[(plat[(b, li, "up" if km[li][a] > km[li][b] else "down")], a)])
    expected = legs_net.expected_wait(np.asarray(k), legs["t_platform"].to_numpy())
    actual = (legs["t_board"] - legs["t_platform"]).to_numpy()
    first = res.trips.set_index("commuter_id").loc[legs["commuter_id"], "t_depart"].to_numpy() < 6 * 3600 + 900
    assert abs(actual[first].mean() / expected[first].mean() - 1) < 0.1
    assert actual[first].mean() < 1.5 * actual.mean()


T_ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
