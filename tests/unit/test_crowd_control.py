"""Crowd control at a station's entrances, against hand computation: with more arriving than trains
take away, the queue outside and the time spent in it follow the fluid approximation (arrivals at
rate lambda, let in at rate mu = holding limit per headway, in batches after each train); each count
lets in exactly what the platform has room for; the platform never holds more than its limit; both
engines agree; and a window no one reaches in changes nothing but the rows of the queue."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import toynet as T
from metered import ENTRY_WALK_S, HEADWAY_S, LIMIT, metered_station
from sim.api import run
from sim.errors import UserError

H = 3600.0


@pytest.fixture(scope="module")
def metered_runs(tmp_path_factory):
    scn = metered_station(tmp_path_factory.mktemp("metered"), TOTAL, ("06:00", "08:00"))
    return {engine: run(scn, engine=engine) for engine in ("bulk", "reference")}


TOTAL = 3000
T0 = 6.5 * H
"""Demand starts at 06:30 (a train leaves then, the platform empty): lambda = 3000 / 3600 s, more than
mu = 120 / 180 s."""


def entrance(res) -> pd.DataFrame:
    gate = res.facilities[res.facilities["facility_id"].astype(str) == "A.entry_control"]
    return gate.sort_values(["t_join", "commuter_id"])


def test_both_engines_agree(metered_runs):
    bulk, ref = metered_runs["bulk"], metered_runs["reference"]
    for name in ("trips", "legs", "facilities", "trains"):
        pd.testing.assert_frame_equal(getattr(bulk, name), getattr(ref, name), obj=name)
    assert bulk.summary["crowd_control"] == ref.summary["crowd_control"]


def test_queue_outside_and_time_there_follow_the_fluid_approximation(metered_runs):
    res = metered_runs["bulk"]
    gate = entrance(res)
    tau = gate["t_join"].to_numpy() - T0
    i = np.arange(1, len(gate) + 1)
    lam, mu = TOTAL / H, LIMIT / HEADWAY_S  # arrivals and let in per s
    # fluid: the i-th arrival goes in when the flow let in, mu per s through the middle of the batches of 120
    # let in after each train (from 120 at 06:30), reaches i: at (i - L/2) / mu, having waited that less tau
    fluid_wait = np.maximum(0.0, (i - LIMIT / 2) / mu - tau)
    waited = (gate["t_start"] - gate["t_join"]).to_numpy()
    assert abs(waited.mean() - fluid_wait.mean()) < 10.0
    # batches: half a headway either way, and a few more persons' worth: before the queue lasts from one count
    # to the next, those let in just before a count are still walking in at it and take room from the batch
    assert np.abs(waited - fluid_wait).max() <= HEADWAY_S / 2 + 5 / mu
    # the same at the rates: who arrives tau after 06:30 waits (lambda / mu - 1) tau - h/2
    late = tau > 600
    assert abs((waited[late] - ((lam / mu - 1) * tau[late] - HEADWAY_S / 2)).mean()) < 0.1 * waited[late].mean()
    # the longest queue: at the last arrival (lambda - mu) 3600 s - L/2, give or take half a batch (and the
    # few persons' worth above)
    kpis = res.summary["crowd_control"]["A"]
    assert abs(kpis["queue_outside_max"] - ((lam - mu) * H - LIMIT / 2)) <= LIMIT / 2 + 5
    assert kpis["holding_limit"] == LIMIT and kpis["reached_entrance"] == TOTAL
    assert kpis["held"] == int((waited > 0).sum()) and kpis["time_outside_max_s"] == pytest.approx(waited.max())
    assert kpis["time_outside_mean_s"] == pytest.approx(waited.mean(), abs=0.01)
    # the queue clears at rate mu once arrivals stop, before the window ends: nobody is left outside
    assert res.trips["status"].eq("arrived").all() and kpis["still_outside"] == 0


def test_each_count_lets_in_what_the_platform_has_room_for(metered_runs):
    res = metered_runs["bulk"]
    gate = entrance(res).set_index("commuter_id")
    legs = res.legs[res.legs["board_station"].astype(str) == "A"].set_index("commuter_id").loc[gate.index]
    join, go_in = gate["t_join"].to_numpy(), gate["t_start"].to_numpy()
    t_plat, t_board = legs["t_platform"].to_numpy(), legs["t_board"].to_numpy()
    held = go_in > join
    departures = np.sort(res.trains[res.trains["station"].astype(str) == "A"]["t_depart"].to_numpy())
    # those held go in only at the counts made after trains leave
    assert set(go_in[held]) <= set(departures)
    counted = 0
    for d in departures[(departures > 6 * H) & (departures < 8 * H)]:
        # by hand at each count: room = limit - riders left on the platform - those let in still walking to it
        on_platform = int(((t_plat <= d) & (t_board > d)).sum())
        walking = int(((go_in < d) & (t_plat > d)).sum())
        outside = int(((join <= d) & (go_in >= d) & held).sum())
        assert int((held & (go_in == d)).sum()) == min(outside, max(0, LIMIT - on_platform - walking))
        # the platform never holds more than the limit when a train leaves (only this entrance feeds it)
        assert int(((t_plat <= d) & (t_board >= d)).sum()) <= LIMIT
        counted += outside >= LIMIT
    assert counted >= 15  # counts with a full batch outside


def plain_station(tmp_path, total: int):
    """metered_station without crowd control."""
    ln = T.line("L", [("A", 0.0), ("C", 6.0)], {"forward": T.headway("06:00", "10:00", HEADWAY_S)},
                run_s={"A>C": 300}, capacity=100000)
    net = T.network([T.station("A", 121.0), T.station("C", 121.06)], [ln],
                    operators=[T.operator(entry=[{"walk_s": ENTRY_WALK_S}])])
    return T.write(tmp_path, net, T.scenario(total, ["A"], ["C"], start="06:30", end="07:30", sim_end="09:00"))


def test_a_window_nobody_reaches_changes_nothing(tmp_path):
    quiet = run(metered_station(tmp_path / "quiet", 600, ("09:30", "10:00")))
    plain = run(plain_station(tmp_path / "plain", 600))
    pd.testing.assert_frame_equal(quiet.trips, plain.trips)
    pd.testing.assert_frame_equal(quiet.legs, plain.legs)
    gate = quiet.facilities
    assert (gate["t_start"] == gate["t_join"]).all() and len(gate) == 600
    assert quiet.summary["crowd_control"]["A"]["reached_entrance"] == 0


def test_the_limit_from_the_platform_area(tmp_path):
    res = run(metered_station(tmp_path, 100, ("07:01", "08:00"), {"platform_area_m2": 61.0}))
    assert res.summary["crowd_control"]["A"]["holding_limit"] == 122  # 61 m2 at 0.5 m2 per person


def test_two_limits_are_a_clear_error(tmp_path):
    with pytest.raises(UserError) as err:
        metered_station(tmp_path, 10, ("07:01", "08:00"), {"holding_limit": 100, "platform_area_m2": 50.0})
    text = str(err.value)
    assert "net.yaml" in text and "crowd_control" in text and "exactly one" in text


def test_report_and_compare_show_the_queue_outside(tmp_path):
    from sim.cli import main

    metered = metered_station(tmp_path / "metered", 600, ("06:00", "08:00"), {"holding_limit": 20})
    assert main(["run", str(plain_station(tmp_path / "plain", 600).path), "--quiet", "--no-plots",
                 "--out", str(tmp_path / "plain_run")]) == 0
    assert main(["run", str(metered.path), "--quiet", "--out", str(tmp_path / "metered_run")]) == 0
    page = (tmp_path / "metered_run" / "report.html").read_text(encoding="utf-8")
    assert "Crowd control at entrances" in page and "<td>A</td><td>20</td>" in page
    assert main(["compare", str(tmp_path / "plain_run"), str(tmp_path / "metered_run"), "--out",
                 str(tmp_path / "cmp")]) == 0
    table = (tmp_path / "cmp" / "kpis.md").read_text(encoding="utf-8")
    assert "crowd control A: held outside" in table and "crowd control A: longest queue outside" in table
