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
