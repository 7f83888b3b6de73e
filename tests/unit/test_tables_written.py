"""Tables written as they are built (sim.api.run with tables_to): the same tables and summary as a
run that keeps them in memory, and the files hold those tables; a folder already holding a table's
file is refused before the run, and nothing in it is touched."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from test_crowd_control import metered_station

import toynet as T
from sim import api
from sim.errors import UserError

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
    assert written.tables.facilities is None  # not read back: the summary took its KPIs apart
    assert written.summary == kept.summary and written.summary["warm_up"]["commuters_excluded"] > 0
    for name, path in written.written.items():
        assert path == out / f"{name}.parquet"
        whole = getattr(kept, name)
        assert len(whole) > 0
        pd.testing.assert_frame_equal(getattr(written, name), whole, check_exact=True)
        pd.testing.assert_frame_equal(pd.read_parquet(path), whole, check_exact=True)
    assert written.tables.facilities is not None  # read when asked
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
