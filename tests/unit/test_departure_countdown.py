"""The departure board's countdown (Departures.count_off): each call's departure counted off its
keys, the stations of the keys left without trains reported once, when their last train leaves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.api import prepare
from sim.departures import build_departures
from sim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_count_off_reports_each_keys_station_once_at_its_last_train():
    plan = prepare(load_scenario(SCENARIOS / "baseline.yaml", {"demand.total": 50})).plan
    board = build_departures(plan.trains, plan.stop_pos, plan.n_stations)
    remaining = board.counts().copy()
    expected = board.counts().copy()
    last_call = board.call[board.start[1:] - 1]  # each key's departures are in time order (ties: by call)
    reported = []
    for call in np.argsort(plan.trains.call_t_dep, kind="stable").tolist():  # the calls as they leave
        keys = board.keys_of_call(call)
        expected[keys] -= 1
        gone = keys[expected[keys] == 0]
        stations = board.count_off(call, remaining)
        assert stations.tolist() == (board.keys[gone] % board.n_stations).tolist()
        assert (last_call[gone] == call).all()
        reported += gone.tolist()
    assert (remaining == 0).all()
    assert sorted(reported) == list(range(len(board.keys)))  # every key once
