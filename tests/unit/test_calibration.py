"""Calibration recovers parameters from counts the model itself produced, refuses counts that cannot
identify their parameter, and writes a calibrated scenario that runs (sim/calibrate)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import toynet as T
from sim.api import run
from sim.calibrate import calibrate
from sim.errors import UserError
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
TRUE_CONSTANT_S, TRUE_TOTAL = 400.0, 12_000


def zone_case(tmp_path: Path, constant_s: float, total: int) -> Path:
    """Home zone between stations A1 (L1) and A2 (L2), work zone beside B; a car for half the commuters."""
    op = T.operator("OP", facilities={}, entry=[{"walk_s": 60}], exit=[{"walk_s": 45}])
    stations = [T.station("A1", 120.60), T.station("A2", 120.625), T.station("B", 120.70)]
    l1 = T.line("L1", [("A1", 0.0), ("B", 10.0)], {"forward": T.headway("05:30", "11:00", 300)}, run_s={"A1>B": 900},
                capacity=100000)
    l2 = T.line("L2", [("A2", 0.0), ("B", 8.0)], {"forward": T.headway("05:30", "11:00", 450)}, run_s={"A2>B": 700},
                capacity=100000)
    scn = T.scenario(total, ["A1"], ["B"], start="07:00", end="08:00", sim_end="11:00")
    seg = scn["demand"]["segments"][0]
    del seg["generator"]
    seg["zones"] = {"origins": {"zones": ["home"]}, "destinations": {"zones": ["work"]}}
    scn["demand"]["zones"] = {"file": "zones.yaml", "car": {"speed_kmh": 30, "per_km_cny": 0.6, "fixed_cny": 20,
                                                           "walk_s": 300, "available_share": 0.5,
                                                           "constant_s": constant_s}}
    T.write(tmp_path, T.network(stations, [l1, l2], operators=[op]), scn)
    zones = [{"id": "home", "name": "Home", "lat": 31.0, "lon": 120.61, "population": 1000},
             {"id": "work", "name": "Work", "lat": 31.0, "lon": 120.705, "jobs": 1000}]
    (tmp_path / "zones.yaml").write_text(yaml.safe_dump({"zones": zones}), encoding="utf-8")
    return tmp_path / "scn.yaml"


@pytest.fixture(scope="module")
def truth(tmp_path_factory) -> dict:
    path = zone_case(tmp_path_factory.mktemp("truth"), TRUE_CONSTANT_S, TRUE_TOTAL)
    return run(load_scenario(path)).summary["mode_choice"]


def spec(tmp_path: Path, truth: dict, counts: list | None = None, parameters: dict | None = None) -> Path:
    zone_case(tmp_path, 0.0, 8_000)  # the scenario to calibrate starts from other values
    doc = {"schema_version": 1, "name": "calibrated", "scenario": "scn.yaml", "tolerance": 0.005,
           "parameters": parameters or {
               "car_constant": {"path": "demand.zones.car.constant_s", "min": -3600, "max": 3600, "step": 300},
               "total": {"path": "demand.total", "min": 1000, "max": 50000}},
           "counts": counts or [
               {"id": "car_share", "kpi": "mode_choice.mode_shares.car", "value": truth["mode_shares"]["car"],
                "kind": "share", "fits": "car_constant", "source": "the model with a constant of 400 s"},
               {"id": "rail_riders", "kpi": "mode_choice.mode_counts.rail", "value": truth["mode_counts"]["rail"],
                "kind": "count", "fits": "total", "source": "the model with 12,000 commuters"}]}
    (tmp_path / "calibration.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return tmp_path / "calibration.yaml"


def test_calibration_recovers_the_parameters_that_made_the_counts(tmp_path, truth):
    fit = calibrate(spec(tmp_path, truth), lambda scn: run(scn).summary)
    # the counts are matched within 0.5 %; the parameters within what that and the draws allow: a share
    # of about 0.2 moves by 0.16 / 600 per s of constant, so 0.5 % of it (0.001) is 6 s, and redrawing
    # 12,000 commuters moves it by about 0.004 (25 s)
    assert fit.values["total"] == pytest.approx(TRUE_TOTAL, rel=0.02)
    assert fit.values["car_constant"] == pytest.approx(TRUE_CONSTANT_S, abs=60)
    assert all(abs(c.relative_error) <= 0.005 for c in fit.counts)


def test_a_count_its_parameter_does_not_move_is_refused(tmp_path, truth):
    counts = [{"id": "car_share", "kpi": "mode_choice.mode_shares.car", "value": 0.3, "kind": "share",
               "fits": "bus_constant", "source": "a survey"}]
    parameters = {"bus_constant": {"path": "routing.outside_option.wait_s", "min": 100, "max": 1000}}
    with pytest.raises(UserError) as err:  # the taxi's wait on the way has nothing to do with the choice at home
        calibrate(spec(tmp_path, truth, counts, parameters), lambda scn: run(scn).summary)
    text = str(err.value)
    assert "cannot identify bus_constant" in text and "counts.car_share" in text


def test_mistakes_in_a_calibration_file(tmp_path, truth):
    path = spec(tmp_path, truth, parameters={"car_constant": {"path": "demand.zones.car.constant_s", "min": 0,
                                                              "max": 10},
                                             "x": {"path": "demand.zones.train.speed", "min": 0, "max": 1}})
    with pytest.raises(UserError) as err:
        calibrate(path, lambda scn: run(scn).summary)
    assert "no count identifies the parameters x" in str(err.value)
    assert "counts fit unknown parameters: total" in str(err.value)
    path = spec(tmp_path, truth, parameters={"car_constant": {"path": "demand.zones.car.constant_s", "min": 0,
                                                              "max": 10},
                                             "total": {"path": "demand.zones.train.speed", "min": 0, "max": 1}})
    with pytest.raises(UserError) as err:
        calibrate(path, lambda scn: run(scn).summary)
    assert "parameters.total.path" in str(err.value) and "'demand.zones.train.speed' is not a field" in str(err.value)


def test_the_command_writes_a_calibrated_scenario_that_runs(tmp_path, truth):
    path = spec(tmp_path, truth)
    out = tmp_path / "calibrated.yaml"
    cmd = [sys.executable, str(ROOT / "run_sim.py"), "calibrate", str(path), "--out", str(out), "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "car_share" in done.stdout and "wrote" in done.stdout
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Calibrated scenario written by `run_sim.py calibrate`")
    assert '"the model with a constant of 400 s"' in text
    scn = load_scenario(out)
    assert scn.model.demand.zones.car.constant_s == pytest.approx(TRUE_CONSTANT_S, abs=60)
    assert scn.model.demand.total == pytest.approx(TRUE_TOTAL, rel=0.02)
    # a file calibrate did not write is never replaced
    other = tmp_path / "mine.yaml"
    other.write_text("name: mine\n", encoding="utf-8")
    done = subprocess.run(cmd[:4] + ["--out", str(other), "--force"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 2 and "not a scenario written by calibrate" in done.stderr
    assert other.read_text(encoding="utf-8") == "name: mine\n"
