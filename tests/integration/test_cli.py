"""The command line as users run it (subprocess): validate, run, list; exit codes and the run directory.

The command lines are started together by one module fixture (they are mostly interpreter start-up,
so running them side by side keeps the module fast); each test then checks one job's outcome. A few
argument-error cases call `sim.cli.main` in-process.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures"
TABLES = ("trips", "legs", "trains", "facilities", "fares")
HAVE_PLOTTING = importlib.util.find_spec("sim.plotting") is not None


def copy_toy(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("toy_net.yaml", "toy_scn.yaml"):
        shutil.copy(FIXTURES / name, dest / name)
    return dest / "toy_scn.yaml"


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def shipped_files() -> list[Path]:
    return sorted((REPO_ROOT / "networks").glob("*.yaml")) + sorted((REPO_ROOT / "scenarios").glob("*.yaml"))


def line_no(text: str, needle: str) -> int:
    return next(i + 1 for i, ln in enumerate(text.splitlines()) if needle in ln)


@dataclass
class Job:
    """One command line: its working directory (under tmp), arguments, facts prepared for the test,
    and after the run its exit code and output."""

    base: Path
    args: list
    info: dict
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""

    def no_traceback(self) -> None:
        assert "Traceback" not in self.stderr and "Traceback" not in self.stdout


# ---- job preparation (files written before the command runs) -------------------------------------


def prep_validate_shipped(base: Path) -> tuple[list, dict]:
    files = shipped_files()
    return ["validate", *[p.relative_to(REPO_ROOT) for p in files]], {"files": files}


def prep_validate_bad(base: Path) -> tuple[list, dict]:
    scn = copy_toy(base)
    net = base / "toy_net.yaml"
    text = net.read_text(encoding="utf-8")
    text = text.replace("    capacity: 1000\n", "    capacity: -5\n    colour: red\n")
    text = text.replace("lat: 31.0, lon: 121.00", "lat: 95.0, lon: 121.00")
    net.write_text(text, encoding="utf-8")
    lines = {n: line_no(text, n) for n in ("capacity: -5", "colour: red", "lat: 95.0")}
    missing = base / "nowhere.yaml"
    return ["validate", net, scn, missing], {"net": net, "lines": lines, "missing": missing}


def prep_small_run(base: Path) -> tuple[list, dict]:
    scn = copy_toy(base / "in")
    args = ["run", scn, "--out", base / "out", "--seed", "7", "--quiet"]
    if not HAVE_PLOTTING:
        args.append("--no-plots")
    return args, {"out": base / "out"}


def prep_refuse(base: Path) -> tuple[list, dict]:
    scn = copy_toy(base / "in")
    out = base / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious", encoding="utf-8")
    return ["run", scn, "--out", out, "--no-plots", "--quiet"], {"out": out, "before": snapshot(out)}


def _failing_scenario(base: Path) -> Path:
    """Loads fine, fails inside the run: its OD table names an unknown station (row 3 of the CSV)."""
    scn = copy_toy(base / "in")
    (base / "in" / "od.csv").write_text("origin,destination,weight\nA,D,1\nA,NOPE,1\n", encoding="utf-8")
    scn.write_text(scn.read_text(encoding="utf-8").replace("generator: {}", "od_table: od.csv"), encoding="utf-8")
    return scn


def prep_failing(base: Path) -> tuple[list, dict]:
    scn = _failing_scenario(base)
    return ["run", scn, "--out", base / "out", "--no-plots", "--quiet"], {"out": base / "out"}


def prep_set_force(base: Path) -> tuple[list, dict]:
    scn = copy_toy(base / "in")
    out = base / "out"
    from sim.staging import StagedDir

    with StagedDir(out) as stage:  # an earlier output of ours: --force replaces only those
        for name in ("old.json", "manifest.json", "summary.json"):
            (stage.path / name).write_text("{}", encoding="utf-8")
    (out / "notes.txt").write_text("mine", encoding="utf-8")  # added by the user: kept
    return ["run", scn, "--out", out, "--no-plots", "--quiet", "--force", "--set", "demand.total=500"], {"out": out}


def prep_bad_set(base: Path) -> tuple[list, dict]:
    scn = copy_toy(base / "in")
    return ["run", scn, "--out", base / "out", "--no-plots", "--quiet", "--set", "demand.nothing.here=5"], \
        {"out": base / "out"}


def prep_replications(base: Path) -> tuple[list, dict]:
    scn = copy_toy(base / "in")
    return ["run", scn, "--out", base / "out", "--no-plots", "--quiet", "--replications", "2", "--set",
            "demand.total=400"], {"out": base / "out"}


def prep_list(base: Path) -> tuple[list, dict]:
    return ["list"], {}


PREPARE = {
    "validate_shipped": prep_validate_shipped,
    "validate_bad": prep_validate_bad,
    "small_run": prep_small_run,
    "refuse": prep_refuse,
    "failing": prep_failing,
    "set_force": prep_set_force,
    "bad_set": prep_bad_set,
    "replications": prep_replications,
    "list": prep_list,
}


@pytest.fixture(scope="module")
def jobs(tmp_path_factory) -> dict[str, Job]:
    out: dict[str, Job] = {}
    for name, prepare in PREPARE.items():
        base = tmp_path_factory.mktemp(name)
        args, info = prepare(base)
        out[name] = Job(base, [str(a) for a in args], info)
    running = []
    try:
        for job in out.values():
            running.append((job, subprocess.Popen([sys.executable, "run_sim.py", *job.args], cwd=REPO_ROOT,
                                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
        for job, proc in running:
            job.stdout, job.stderr = proc.communicate(timeout=600)
            job.returncode = proc.returncode
    finally:
        for _, proc in running:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return out


# --------------------------------------------------------------------------------------------------
# validate


def test_validate_every_shipped_file(jobs):
    job = jobs["validate_shipped"]
    files = job.info["files"]
    assert any(p.parent.name == "scenarios" for p in files) and any(p.parent.name == "networks" for p in files)
    assert job.returncode == 0, job.stderr
    for p in files:
        assert f"ok: {p.relative_to(REPO_ROOT)}" in job.stdout.splitlines()
    job.no_traceback()


def test_validate_bad_files_exit_2_reporting_every_problem(jobs):
    job = jobs["validate_bad"]
    net, lines, missing = job.info["net"], job.info["lines"], job.info["missing"]
    assert job.returncode == 2
    job.no_traceback()
    errors = [ln for ln in job.stderr.splitlines() if ln.startswith("error:")]
    # "file:line: field path: what was expected", for each of the three mistakes
    assert (f"error: {net}:{lines['capacity: -5']}: lines[0].capacity: "
            "Input should be greater than or equal to 1 (got -5)") in errors
    assert f"error: {net}:{lines['colour: red']}: lines[0].colour: unknown field" in job.stderr
    assert any(e.startswith(f"error: {net}:{lines['lat: 95.0']}: stations[0].lat:") and "less than or equal to 90" in e
               for e in errors)
    # three for the network file (reported once, although the scenario uses it too), one missing file
    assert len([e for e in errors if f"{net}:" in e]) == 3, job.stderr
    assert any(str(missing) in e and "not found" in e for e in errors)
    assert len(errors) == 4, job.stderr
    assert "ok:" not in job.stdout


def test_bad_arguments_exit_2(capsys):
    from sim.cli import main

    assert main(["run"]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["run", str(FIXTURES / "toy_scn.yaml"), "--replications", "0", "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "--replications" in err


# --------------------------------------------------------------------------------------------------
# run


def test_run_exit_0_and_writes_run_directory(jobs):
    job = jobs["small_run"]
    out = job.info["out"]
    assert job.returncode == 0, job.stderr
    job.no_traceback()
    for name in TABLES:
        assert (out / f"{name}.parquet").is_file()
    assert (out / "summary.json").is_file() and (out / "manifest.json").is_file()
    assert sorted(p.name for p in job.base.iterdir()) == ["in", "out"]  # nothing staged left beside it


def test_run_tables_have_spec_columns(jobs):
    job = jobs["small_run"]
    assert job.returncode == 0, job.stderr
    out = job.info["out"]
    cols = {
        "trips": ["commuter_id", "origin", "destination", "segment", "payment", "t_depart", "t_arrive", "status",
                  "travel_time_s", "access_s", "wait_s", "in_vehicle_s", "transfer_s", "egress_s", "n_transfers",
                  "denied_boardings", "fare_cny", "route"],
        "legs": ["commuter_id", "leg", "line", "train_id", "board_station", "alight_station", "t_platform",
                 "t_board", "t_alight"],
        "trains": ["train_id", "line", "service", "direction", "station", "seq", "t_arrive", "t_depart", "boarded",
                   "alighted", "load_after", "capacity"],
        "facilities": ["facility_id", "station", "kind", "commuter_id", "t_join", "t_start", "t_end"],
    }
    for name, needed in cols.items():
        df = pd.read_parquet(out / f"{name}.parquet")
        assert set(needed) <= set(df.columns), (name, set(needed) - set(df.columns))
        assert len(df) > 0
    trips = pd.read_parquet(out / "trips.parquet")
    assert len(trips) == 1000
    assert str(trips["commuter_id"].dtype) == "int64"
    assert set(trips["status"].astype(str)) <= {"arrived", "in_system"}
    assert set(pd.read_parquet(out / "facilities.parquet")["kind"].astype(str)) >= {"gate", "security"}


def test_run_summary(jobs):
    job = jobs["small_run"]
    assert job.returncode == 0, job.stderr
    out = job.info["out"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    trips = pd.read_parquet(out / "trips.parquet")
    assert summary["commuters"] == 1000
    assert summary["arrived"] == int((trips["status"] == "arrived").sum())
    arrived = trips[trips["status"] == "arrived"]
    assert summary["travel_time_mean_s"] == pytest.approx(arrived["travel_time_s"].mean(), abs=0.05)  # 0.1 s kept
    for key in ("travel_time_p50_s", "travel_time_p85_s", "travel_time_p95_s", "access_mean_s", "wait_mean_s",
                "in_vehicle_mean_s", "transfer_mean_s", "egress_mean_s", "denied_boardings", "peak_load_factor",
                "fare_revenue_cny", "groups"):
        assert key in summary
    assert set(summary["peak_load_factor"]) == {"L1"}
    assert set(summary["groups"]) == {"ab"}


def test_run_manifest(jobs):
    job = jobs["small_run"]
    assert job.returncode == 0, job.stderr
    m = json.loads((job.info["out"] / "manifest.json").read_text(encoding="utf-8"))
    assert m["seed"] == 7
    assert m["replication"] == 0
    assert m["scenario_name"] == "toy"
    # the fully resolved scenario: the file's values plus defaults
    assert m["scenario"]["demand"]["total"] == 1000
    assert m["scenario"]["period"] == {"start": 21600.0, "end": 32400.0, "warm_up_until": None}
    assert m["scenario"]["operations"] == {"mode": "dynamic"}
    assert m["scenario"]["routing"]["wait_weight"] == 2.0
    for pkg in ("python", "numpy", "pandas", "pyarrow", "simpy"):
        assert m["versions"].get(pkg) not in (None, "", "not installed"), pkg
    if (REPO_ROOT / ".git").exists() and shutil.which("git"):
        assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", m["git_revision"]), m["git_revision"]
    else:
        assert m["git_revision"]
    assert "run" in m["command"]


@pytest.mark.skipif(not HAVE_PLOTTING, reason="sim.plotting is not there yet")
def test_run_writes_plots(jobs):
    job = jobs["small_run"]
    assert job.returncode == 0, job.stderr
    pngs = sorted((job.info["out"] / "plots").glob("*.png"))
    assert pngs, "no charts in plots/"
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_refuses_non_empty_out_without_force(jobs):
    job = jobs["refuse"]
    out = job.info["out"]
    assert job.returncode == 2
    job.no_traceback()
    assert str(out) in job.stderr and "--force" in job.stderr
    assert snapshot(out) == job.info["before"]  # untouched
    assert sorted(p.name for p in job.base.iterdir()) == ["in", "out"]  # nothing staged left behind


def test_failing_run_leaves_no_directory(jobs):
    job = jobs["failing"]
    assert job.returncode == 2
    job.no_traceback()
    assert "NOPE" in job.stderr and "od.csv:3" in job.stderr
    assert not job.info["out"].exists()
    assert sorted(p.name for p in job.base.iterdir()) == ["in"]  # no half-written or staging directory


def test_failing_forced_run_keeps_the_old_directory(tmp_path):
    from sim.cli import main

    scn = _failing_scenario(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious", encoding="utf-8")
    before = snapshot(out)
    assert main(["run", str(scn), "--out", str(out), "--no-plots", "--quiet", "--force"]) == 2
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]


def test_run_set_demand_total_and_force(jobs):
    job = jobs["set_force"]
    out = job.info["out"]
    assert job.returncode == 0, job.stderr
    assert not (out / "old.json").exists()  # --force replaced our files
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"  # and kept the user's
    assert sorted(p.name for p in job.base.iterdir()) == ["in", "out"]
    assert len(pd.read_parquet(out / "trips.parquet")) == 500
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["scenario"]["demand"]["total"] == 500
    assert m["overrides"] == {"demand.total": 500}
    assert m["seed"] == 1  # the scenario's seed when --seed is not given
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["commuters"] == 500


def test_run_bad_set_path_exit_2(jobs):
    job = jobs["bad_set"]
    assert job.returncode == 2
    job.no_traceback()
    assert "--set demand.nothing.here: demand.nothing: unknown field" in job.stderr
    assert not job.info["out"].exists()


@pytest.mark.parametrize("setting, needle", [
    ("nothing.total=5", "nothing: unknown field"),
    ("demand.segments.7.share=5", "'demand.segments[7]' does not exist"),
    ("demand.totl=5", "unknown field"),
    ("demand.total", "KEY=VALUE"),
    ("demand.total=-3", "greater than or equal to 0"),
    ("demand.total=[1", "not valid YAML"),
])
def test_run_bad_set_in_process(tmp_path, capsys, setting, needle):
    from sim.cli import main

    scn = copy_toy(tmp_path / "in")
    out = tmp_path / "out"
    assert main(["run", str(scn), "--out", str(out), "--no-plots", "--quiet", "--set", setting]) == 2
    err = capsys.readouterr().err
    assert needle in err and setting.split("=")[0] in err
    assert "Traceback" not in err
    assert not out.exists()


def test_run_replications(jobs):
    job = jobs["replications"]
    out = job.info["out"]
    assert job.returncode == 0, job.stderr
    assert sorted(p.name for p in out.iterdir()) == [".yrd-sim-output.json", "rep-000", "rep-001", "summary.json"]
    reps = []
    for r in ("rep-000", "rep-001"):
        for name in TABLES:
            assert (out / r / f"{name}.parquet").is_file()
        reps.append(json.loads((out / r / "summary.json").read_text(encoding="utf-8")))
        m = json.loads((out / r / "manifest.json").read_text(encoding="utf-8"))
        assert m["replication"] == int(r[-1])
    t0 = pd.read_parquet(out / "rep-000" / "trips.parquet")
    t1 = pd.read_parquet(out / "rep-001" / "trips.parquet")
    assert not t0["t_depart"].equals(t1["t_depart"])  # replications draw different commuters
    top = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert top["replications"] == 2
    kpi = top["kpis"]["travel_time_mean_s"]
    values = [t.loc[t["status"] == "arrived", "travel_time_s"].mean() for t in (t0, t1)]  # unrounded
    assert values == pytest.approx([s["travel_time_mean_s"] for s in reps], abs=0.05)
    mean = sum(values) / 2
    assert kpi["mean"] == pytest.approx(mean, abs=0.05)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values))  # sample sd with n - 1 = 1
    half = 12.706204736174707 * sd / math.sqrt(2)  # t quantile 0.975 with 1 degree of freedom
    assert kpi["ci_low"] == pytest.approx(mean - half, abs=0.05)
    assert kpi["ci_high"] == pytest.approx(mean + half, abs=0.05)
    assert kpi["ci_low"] < kpi["mean"] < kpi["ci_high"]
    assert top["kpis"]["commuters"]["mean"] == 400


# --------------------------------------------------------------------------------------------------
# list


def test_list_prints_shipped_networks_and_scenarios(jobs):
    job = jobs["list"]
    assert job.returncode == 0, job.stderr
    lines = job.stdout.splitlines()
    for p in shipped_files():
        rel = f"{p.parent.name}/{p.name}"
        matching = [ln for ln in lines if rel in ln]
        assert len(matching) == 1, rel
        kind = "network" if p.parent.name == "networks" else (
            "sweep" if "scenario" in yaml.safe_load(p.read_text(encoding="utf-8")) else "scenario")
        assert matching[0].split()[0] == kind
    baseline = next(ln for ln in lines if "scenarios/baseline.yaml" in ln)
    assert "Today's network" in baseline  # first line of its description
