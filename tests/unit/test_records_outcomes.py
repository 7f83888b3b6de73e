"""The records the tables are built from, without the engines' working state: the same tables, and
the working buffers empty."""

from __future__ import annotations

import pandas as pd

import toynet as T
from sim.api import prepare
from sim.engine import run_engine
from sim.tables import TablePlan, build_tables


def test_tables_from_the_outcomes_alone_are_the_tables_of_the_whole_records(tmp_path):
    net = T.boundary_network(fares=(T.OA_FARE, T.OB_FARE))
    scn = T.write(tmp_path, net, T.scenario(400, ["A1", "A2"], ["B1", "B2", "A2"], start="06:00", end="08:00",
                                            sim_end="10:00"))
    prep = prepare(scn)
    rec = run_engine(prep.plan)
    whole = build_tables(scn.network, prep.demand, prep.legs, prep.assignment, TablePlan.of(prep.plan), rec)
    slim = rec.outcomes_only()
    assert len(slim.service_s) == len(slim.t_decided) == 0 and len(rec.service_s) > 0
    assert slim.fac_t_end is rec.fac_t_end and slim.fac_used == rec.fac_used
    tables = build_tables(scn.network, prep.demand, prep.legs, prep.assignment, TablePlan.of(prep.plan), slim)
    for name in ("trips", "legs", "trains", "facilities", "fares"):
        pd.testing.assert_frame_equal(getattr(tables, name), getattr(whole, name), check_exact=True)
    assert len(whole.facilities) > 400 and len(whole.fares) > 400
