"""The whole Shanghai Metro for a whole day (scenarios/shanghai_day.yaml) at small demand: both
engines give the same tables, every tour comes back after its outbound journey arrived, and the
day's periods add up to the day."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.api import run
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def day():
    scn = load_scenario(ROOT / "scenarios" / "shanghai_day.yaml").with_overrides({"demand.total": 600})
    return run(scn, engine="bulk"), run(scn, engine="reference")


@pytest.mark.slow
def test_both_engines_give_identical_tables_on_the_whole_network_for_a_day(day):
    bulk, ref = day
    for table in ("trips", "legs", "trains", "facilities", "fares"):
        pd.testing.assert_frame_equal(getattr(bulk, table), getattr(ref, table), check_exact=True, obj=table)
    trips = bulk.trips
    assert len(trips) == 1200 and (trips["tour_leg"] == "return").sum() == 600
    assert trips["route"].astype(str).str.contains(">", regex=False).sum() > 100  # changes between lines


@pytest.mark.slow
def test_every_tour_returns_after_it_arrived_and_the_periods_make_the_day(day):
    bulk, _ = day
    trips = bulk.trips.set_index("commuter_id")
    back = trips[trips["tour_leg"] == "return"]
    first = trips.loc[back["tour_partner"].to_numpy()]
    arrived = first["t_arrive"].notna().to_numpy()
    assert (back["t_depart"].to_numpy()[arrived] >= first["t_arrive"].to_numpy()[arrived]).all()
    s = bulk.summary
    periods = [s["windows"][p] for p in ("early", "am_peak", "inter_peak", "pm_peak", "evening")]
    assert sum(w["commuters"] for w in periods) == s["commuters"] == 1200
    assert sum(w["arrived"] for w in periods) == s["arrived"]
    # the evening peak carries the returns from work: most of it goes back towards the outbound origins
    pm = trips[(trips["t_depart"] >= 17 * 3600) & (trips["t_depart"] < 19.5 * 3600)]
    assert (pm["tour_leg"] == "return").mean() > 0.8


@pytest.mark.slow
def test_cross_border_commuters_go_on_across_the_whole_network_and_back():
    # scenarios/commuting_circle_day.yaml with a larger share of cross-border commuters, so that a small run has
    # enough of them: they cross at Huaqiao (Suzhou Line 11 and Shanghai Line 11), change to the other lines of
    # the whole network and come back
    scn = load_scenario(ROOT / "scenarios" / "commuting_circle_day.yaml").with_overrides(
        {"demand.total": 3000, "demand.segments.0.share": 60, "demand.segments.1.share": 25})
    res = run(scn)
    groups = res.summary["groups"]
    suzhou, kunshan = groups["cross_border"], groups["kunshan_shanghai"]
    assert suzhou["commuters"] > 200 and kunshan["commuters"] > 500
    # every journey between the Suzhou network and Shanghai's rides both Line 11s (those who do not arrive
    # aside: a return after the last train leaves the network)
    arrived = res.trips[res.trips["status"] == "arrived"]
    for line in ("SZ11", "SH11"):
        assert suzhou["line_boardings"][line] >= suzhou["arrived"]
    assert kunshan["line_boardings"]["SH11"] >= kunshan["arrived"]
    # and they go on beyond Line 11: most change to another Shanghai line
    beyond = {k: v for k, v in kunshan["line_boardings"].items() if k not in ("SH11", "SZ11")}
    assert len(beyond) >= 10 and sum(beyond.values()) > 0.5 * kunshan["commuters"]
    # out and back: as many returns as outbound journeys, in each group
    trips = res.trips
    assert (trips["tour_leg"] == "outbound").sum() == (trips["tour_leg"] == "return").sum() == 3000
    assert len(arrived) > 0.99 * len(trips)
