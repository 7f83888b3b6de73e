"""Determinism (same scenario and seed -> identical tables, also across processes) and the SPEC
invariants on a small run of the shipped baseline scenario."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import sim

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures"
TABLES = ("trips", "legs", "trains", "facilities", "fares")


def toy_scenario(tmp_path: Path, total: int = 800) -> sim.Scenario:
    for name in ("toy_net.yaml", "toy_scn.yaml"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    return sim.load_scenario(tmp_path / "toy_scn.yaml", {"demand.total": total})


def test_same_seed_identical_tables(tmp_path):
    scn = toy_scenario(tmp_path)
    a = sim.run(scn, seed=5)
    b = sim.run(sim.load_scenario(scn.path, scn.overrides), seed=5)
    for name in TABLES:
        assert len(getattr(a, name)) > 0
        assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert a.summary == b.summary


def test_different_seeds_different_trips(tmp_path):
    scn = toy_scenario(tmp_path)
    a = sim.run(scn, seed=5).trips
    b = sim.run(scn, seed=6).trips
    assert len(a) == len(b) == 800
    assert not np.array_equal(a["t_depart"].to_numpy(), b["t_depart"].to_numpy())
    assert not np.array_equal(a["origin"].astype(str).to_numpy(), b["origin"].astype(str).to_numpy())


def test_seed_defaults_to_scenario_seed(tmp_path):
    scn = toy_scenario(tmp_path, total=300)
    assert scn.model.seed == 1
    assert_frame_equal(sim.run(scn).trips, sim.run(scn, seed=1).trips, check_exact=True)


def test_identical_across_processes_with_different_hash_seeds(tmp_path):
    # the baseline (string station ids, dicts, sets) in two processes with different str-hash salts
    procs = {}
    for hs in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hs}
        out = tmp_path / f"out{hs}"
        procs[hs] = (out, subprocess.Popen(
            [sys.executable, "run_sim.py", "run", "scenarios/baseline.yaml", "--out", str(out), "--no-plots",
             "--quiet", "--set", "demand.total=1000", "--seed", "11"],
            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for _, proc in procs.values():
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
    (o1, _), (o2, _) = procs["1"], procs["2"]
    for name in TABLES:
        a = pd.read_parquet(o1 / f"{name}.parquet")
        b = pd.read_parquet(o2 / f"{name}.parquet")
        assert len(a) > 0
        assert_frame_equal(a, b, check_exact=True)
    assert (o1 / "summary.json").read_text(encoding="utf-8") == (o2 / "summary.json").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------------
# SPEC invariants on the baseline scenario (small demand)


@pytest.fixture(scope="module")
def baseline_run():
    scn = sim.load_scenario(REPO_ROOT / "scenarios" / "baseline.yaml", {"demand.total": 3000})
    return sim.run(scn, seed=20240301)


def test_every_commuter_exactly_once(baseline_run):
    trips = baseline_run.trips
    assert len(trips) == 3000
    assert np.array_equal(np.sort(trips["commuter_id"].to_numpy()), np.arange(3000))
    legs = baseline_run.legs
    assert set(legs["commuter_id"].unique()) <= set(trips["commuter_id"])
    assert set(trips["status"].astype(str)) <= {"arrived", "in_system"}
    assert (trips["status"] == "arrived").mean() > 0.95  # the 2 h after the period let nearly all arrive


def test_travel_time_is_sum_of_components(baseline_run):
    trips = baseline_run.trips
    arr = trips[trips["status"] == "arrived"]
    assert len(arr) > 0
    parts = arr[["access_s", "wait_s", "in_vehicle_s", "transfer_s", "egress_s"]].sum(axis=1)
    assert np.allclose(arr["travel_time_s"], parts, rtol=0, atol=1e-6)
    assert np.allclose(arr["travel_time_s"], arr["t_arrive"] - arr["t_depart"], rtol=0, atol=1e-6)
    comps = arr[["access_s", "wait_s", "in_vehicle_s", "transfer_s", "egress_s"]].to_numpy()
    assert (comps >= -1e-9).all()
    assert trips.loc[trips["status"] != "arrived", "t_arrive"].isna().all()


def test_no_train_over_capacity(baseline_run):
    trains = baseline_run.trains
    assert len(trains) > 0
    assert (trains["load_after"] <= trains["capacity"]).all()
    assert (trains["load_after"] >= 0).all()


def test_train_loads_balance(baseline_run):
    trains = baseline_run.trains.sort_values(["train_id", "seq"])
    change = (trains["boarded"] - trains["alighted"]).groupby(trains["train_id"], observed=True).cumsum()
    assert np.array_equal(change.to_numpy(), trains["load_after"].to_numpy())
    legs = baseline_run.legs
    assert trains["boarded"].sum() == legs["t_board"].notna().sum()


def test_times_non_decreasing_along_each_trip(baseline_run):
    trips = baseline_run.trips.set_index("commuter_id")
    legs = baseline_run.legs.sort_values(["commuter_id", "leg"]).reset_index(drop=True)
    assert (legs.groupby("commuter_id")["leg"].diff().fillna(1) == 1).all()  # legs numbered 0, 1, 2, ...
    boarded = legs[legs["t_alight"].notna()]
    assert (boarded["t_platform"] <= boarded["t_board"]).all()
    assert (boarded["t_board"] <= boarded["t_alight"]).all()
    # change of train: the next platform is reached after alighting from the previous train
    nxt = legs.groupby("commuter_id")["t_platform"].shift(-1)
    has_next = nxt.notna() & legs["t_alight"].notna()
    assert (legs.loc[has_next, "t_alight"] <= nxt[has_next]).all()
    first = legs.groupby("commuter_id").first()
    assert (trips.loc[first.index, "t_depart"] <= first["t_platform"]).all()
    last = legs.groupby("commuter_id").last()
    arrived = trips.loc[last.index, "status"] == "arrived"
    assert (last.loc[arrived, "t_alight"] <= trips.loc[last.index[arrived], "t_arrive"]).all()
    # one leg per transfer plus one, for every arrived commuter
    n_legs = legs.groupby("commuter_id").size()
    arr = trips[trips["status"] == "arrived"]
    assert np.array_equal(n_legs.loc[arr.index].to_numpy(), arr["n_transfers"].to_numpy() + 1)


def test_cross_border_trips_use_both_operators(baseline_run):
    trips = baseline_run.trips
    cross = trips[trips["route"].astype(str).str.contains("SH11") & trips["route"].astype(str).str.contains("SZ11")]
    assert len(cross) > 0
    assert (cross["n_transfers"] >= 1).all()
    assert cross["transfer_stations"].astype(str).str.contains("sh_huaqiao~sz_huaqiao|sz_huaqiao~sh_huaqiao").all()


def test_fare_sections_add_up_to_the_fares_paid(baseline_run):
    trips = baseline_run.trips.set_index("commuter_id")
    arrived = trips[trips["status"] == "arrived"]
    paid = baseline_run.fares.groupby("commuter_id")["fare_cny"].sum().reindex(arrived.index, fill_value=0.0)
    assert np.allclose(paid.to_numpy(), arrived["fare_cny"].to_numpy(), atol=0.011)
    legs = baseline_run.legs[baseline_run.legs["t_board"].notna()]
    assert baseline_run.fares["fare_cny"].sum() == pytest.approx(legs["fare_cny"].sum(), abs=0.01)


def test_transfer_stations_are_where_legs_change(baseline_run):
    trips = baseline_run.trips.set_index("commuter_id")
    legs = baseline_run.legs.sort_values(["commuter_id", "leg"])
    arrived = trips[trips["status"] == "arrived"]
    changes = arrived["transfer_stations"].astype(str)
    assert (changes.str.count(">") + (changes != "") == arrived["n_transfers"]).all()
    nxt_board = legs.groupby("commuter_id")["board_station"].shift(-1)
    mid = legs[nxt_board.notna()].assign(nxt=nxt_board[nxt_board.notna()].astype(str))
    mid = mid[mid["commuter_id"].isin(arrived.index)]
    at = np.where(mid["alight_station"].astype(str) == mid["nxt"], mid["alight_station"].astype(str),
                  mid["alight_station"].astype(str) + "~" + mid["nxt"])
    expected = pd.Series(at, index=mid["commuter_id"].to_numpy()).groupby(level=0).agg(">".join)
    assert (changes.loc[expected.index] == expected).all()
    assert "cross_border" in baseline_run.summary["groups"]
