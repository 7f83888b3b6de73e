"""Tables written as they are built (sim.api.run with tables_to): the same tables and summary as a
run that keeps them in memory, and the files hold those tables; a folder already holding a table's
file is refused before the run, and nothing in it is touched."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import toynet as T
from metered import metered_station
from sim import api
from sim.errors import UserError
from sim.scenario import load_scenario

PARTS = {"trips", "legs", "trains", "facilities", "fares"}


def _scenario(tmp_path):
    net = T.boundary_network(fares=(T.OA_FARE, T.OB_FARE))
    doc = T.scenario(400, ["A1", "A2"], ["B1", "B2", "A2"], start="06:00", end="08:00", sim_end="10:00")
    doc["period"]["warm_up_until"] = "06:20"  # the visit KPIs of those starting after it alone
    doc["demand"]["groups"] = {"to_b": {"from": {"stations": ["A1", "A2"]}, "to": {"stations": ["B1", "B2"]}}}
    return T.write(tmp_path, net, doc)


def test_tables_written_as_they_are_built_are_those_kept_in_memory(tmp_path):
    scn = _scenario(tmp_path)
    kept = api.run(scn, seed=3)
    out = tmp_path / "out"
    out.mkdir()
    written = api.run(scn, seed=3, tables_to=out)
    assert kept.written == {} and set(written.written) == PARTS
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{name}.parquet" for name in PARTS)
    assert all(getattr(written.tables, name) is None for name in PARTS)  # each read when asked
    assert written.summary == kept.summary and written.summary["warm_up"]["commuters_excluded"] > 0
    for name, path in written.written.items():
        assert path == out / f"{name}.parquet"
        whole = getattr(kept, name)
        assert len(whole) > 0
        pd.testing.assert_frame_equal(getattr(written, name), whole, check_exact=True)
        pd.testing.assert_frame_equal(pd.read_parquet(path), whole, check_exact=True)
    assert all(getattr(written.tables, name) is not None for name in PARTS)  # read when asked, and kept
    assert 0 < written.trips["group_to_b"].sum() < len(written.trips)  # the trips written with their group columns
    assert {"writing", "tables"} <= set(written.timings_s)


def test_a_folder_holding_a_tables_file_is_refused_and_left_as_it_was(tmp_path):
    scn = _scenario(tmp_path)
    mine = tmp_path / "mine.txt"
    mine.write_text("mine")
    out = tmp_path / "out"
    out.mkdir()
    (out / "legs.parquet").symlink_to(mine)
    with pytest.raises(UserError, match="legs.parquet"):
        api.run(scn, tables_to=out)
    assert mine.read_text() == "mine" and [p.name for p in out.iterdir()] == ["legs.parquet"]
    with pytest.raises(UserError, match="existing folder"):
        api.run(scn, tables_to=tmp_path / "absent")


def test_crowd_control_kpis_of_tables_written_as_built_are_those_kept_in_memory(tmp_path):
    scn = metered_station(tmp_path, 3000, ("06:00", "08:00"))
    out = tmp_path / "out"
    out.mkdir()
    kept, written = api.run(scn), api.run(scn, tables_to=out)
    assert json.dumps(written.summary) == json.dumps(kept.summary)  # NaN (a KPI of no one) compares unequal
    assert written.summary["crowd_control"]["A"]["held"] > 0


ROOT = Path(__file__).resolve().parents[2]
EVERY_PART = [  # between them, every part of summary.json that the tables give
    ("sh11_disruption.yaml", {}),  # closures, a bus bridge, choices on the way
    ("cross_border_zones.yaml", {}),  # mode choice between zones
    ("huaqiao_no_integration.yaml", {}),  # payment fallbacks
    ("regional_baseline.yaml", {}),  # reserved seats
    ("shanghai_day_closure.yaml", {}),  # tours, a closure at the evening peak
    ("baseline.yaml", {"demand.departure_time": {"iterations": 3}, "routing.crowding": None}),  # departure times
]


@pytest.mark.parametrize("name, overrides", EVERY_PART, ids=[name for name, _ in EVERY_PART])
def test_the_summary_of_tables_written_as_built_reads_the_columns_it_needs(tmp_path, name, overrides):
    # the summary reads back only api.SUMMARY_COLUMNS of the tables written as built: a KPI reading
    # another column fails here (KeyError), or differs (a column read where present)
    scn = load_scenario(ROOT / "scenarios" / name, {"demand.total": 800, **overrides})
    out = tmp_path / "out"
    out.mkdir()
    kept, written = api.run(scn, seed=5), api.run(scn, seed=5, tables_to=out)
    assert json.dumps(written.summary) == json.dumps(kept.summary)  # NaN (a KPI of no one) compares unequal
    assert all(getattr(written.tables, part) is None for part in PARTS)  # none kept: each read whole when asked
    pd.testing.assert_frame_equal(written.legs, kept.legs, check_exact=True)
