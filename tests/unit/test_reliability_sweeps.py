"""Sweeps resume truthfully and stay within bounds: a run made with other parameters than the
sweep now gives is named and run again; a damaged run is named and kept (it is no longer what was
written) and runs again once removed; a finished sweep is not redone; sweeps past the run limit
are refused at once; every point is checked before running (and by `validate`); and the sweep's
lock is never opened through a link."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import yaml

from sim.cli import main
from sim.errors import UserError
from sim.sweep import check_points, load_sweep, run_sweep
from sim.sweep.spec import MAX_RUNS
from sweep_files import GATES, sweep_file


def rewrite(path: Path, **fields) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump({**data, **fields}, sort_keys=False), encoding="utf-8")


def mtimes(out: Path) -> dict[str, int]:
    return {p.name: (p / "summary.json").stat().st_mtime_ns for p in (out / "runs").iterdir()}


def test_resume_after_editing_the_sweep_names_and_reruns_the_changed_runs(tmp_path, caplog):
    path = sweep_file(tmp_path, grid={GATES: [1, 2]})
    out = tmp_path / "out"
    run_sweep(load_sweep(path), out)
    before = mtimes(out)
    rewrite(path, grid={GATES: [1, 3]})  # the second point now means 3 servers
    summary = run_sweep(load_sweep(path), out, resume=True)
    after = mtimes(out)
    assert after["p000-r000"] == before["p000-r000"] and after["p000-r001"] == before["p000-r001"]
    assert after["p001-r000"] != before["p001-r000"] and after["p001-r001"] != before["p001-r001"]
    assert f"2 run(s) were made with other parameters than the sweep now gives and run again: p001-r000 ({GATES}: " \
           "2 -> 3)" in caplog.text
    manifest = json.loads((out / "runs" / "p001-r000" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sweep_parameters"][GATES] == 3 and len(summary) == 4


def test_resume_after_changing_the_seed_or_the_base_scenario_reruns_everything(tmp_path, caplog):
    path = sweep_file(tmp_path, grid={GATES: [1, 2]})
    out = tmp_path / "out"
    run_sweep(load_sweep(path), out)
    rewrite(path, seed=6)
    run_sweep(load_sweep(path), out, resume=True)
    assert "4 run(s) were made with other parameters" in caplog.text and "seed: 5 -> 6" in caplog.text
    caplog.clear()
    scn = tmp_path / "scn.yaml"
    scn.write_text(scn.read_text(encoding="utf-8").replace("total: 300", "total: 200"), encoding="utf-8")
    run_sweep(load_sweep(path), out, resume=True)
    assert "4 run(s)" in caplog.text and "the base scenario or its network files changed" in caplog.text


def test_a_damaged_run_is_named_kept_and_run_again_once_removed(tmp_path, caplog):
    path = sweep_file(tmp_path, grid={GATES: [1, 2]})
    out = tmp_path / "out"
    run_sweep(load_sweep(path), out)
    damaged = out / "runs" / "p000-r001" / "summary.json"
    damaged.write_text("{not json", encoding="utf-8")  # changed since written: no longer ours to replace
    (out / "summary.parquet").unlink()
    summary = run_sweep(load_sweep(path), out, resume=True)
    failed = summary[summary["status"] != "ok"]
    assert list(failed["run_id"]) == ["p000-r001"] and "were edited since: summary.json" in failed["error"].iloc[0]
    assert damaged.read_text(encoding="utf-8") == "{not json"
    damaged.unlink()
    summary = run_sweep(load_sweep(path), out, resume=True)
    assert (summary["status"] == "ok").all() and len(summary) == 4
    assert json.loads(damaged.read_text(encoding="utf-8"))["commuters"] == 300
    stamp = (out / "summary.parquet").stat().st_mtime_ns
    started = time.perf_counter()
    run_sweep(load_sweep(path), out, resume=True)
    assert "the sweep is complete (4 runs); nothing to do" in caplog.text
    assert (out / "summary.parquet").stat().st_mtime_ns == stamp and time.perf_counter() - started < 15


def test_sweeps_past_the_run_limit_are_refused_at_once(tmp_path):
    side = int(round((MAX_RUNS * 100) ** (1 / 3)))  # about 100 times the limit, from three short lists
    path = sweep_file(tmp_path, grid={"a.b": list(range(side)), "c.d": list(range(side)), "e.f": list(range(side))})
    started = time.perf_counter()
    with pytest.raises(UserError) as err:
        load_sweep(path)
    assert time.perf_counter() - started < 15
    assert f"at most {MAX_RUNS:,} are allowed" in str(err.value) and str(path) in str(err.value)


def test_every_point_is_checked_before_running_and_by_validate(tmp_path, capsys):
    path = sweep_file(tmp_path, grid={GATES: [2, -1, 0]})
    problems = check_points(load_sweep(path))
    assert [p.path for p in problems] == ["points.p001", "points.p002"]
    assert all("cannot run" in p.message and "servers" in p.message for p in problems)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "points.p001: cannot run (servers=-1)" in err and "points.p002: cannot run (servers=0)" in err
    never = sweep_file(tmp_path, grid={GATES: [-1, -2]})  # no point can run: refused before any run
    assert main(["sweep", str(never), "--out", str(tmp_path / "never"), "--quiet", "--workers", "1"]) == 2
    assert not (tmp_path / "never").exists()


def test_the_sweep_lock_is_never_opened_through_a_link(tmp_path, capsys):
    path = sweep_file(tmp_path, grid={GATES: [1, 2]}, replications=1)
    victim = tmp_path / "victim.txt"
    victim.write_text("notes", encoding="utf-8")
    os.symlink(victim, tmp_path / ".out.lock")
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--quiet", "--workers", "1"]) == 2
    assert "is a symbolic link" in capsys.readouterr().err
    assert victim.read_text(encoding="utf-8") == "notes"
    os.unlink(tmp_path / ".out.lock")
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--quiet", "--workers", "1"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []  # no lock left behind


@pytest.mark.parametrize("fields", [{"replications": "1000"}, {"grid": {GATES: [2, float("nan")]}},
                                    {"grid": {GATES: [2]}, "set": {"demand.total": float("inf")}}])
def test_quoted_numbers_and_non_finite_values_are_refused(tmp_path, fields):
    with pytest.raises(UserError) as err:
        load_sweep(sweep_file(tmp_path, **fields))
    assert "without quotes" in str(err.value) or "finite" in str(err.value)
