"""Killed and colliding runs lose nothing (the command line in subprocesses): SIGTERM is handled like
Ctrl-C, keeping the earlier run a `--force` run was replacing; a second run into a directory being
written fails at once with exit 2; a run killed outright (SIGKILL) leaves a staging folder that the
next run removes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.ownership import MARKER
from sim.staging import StagedDir
from toy_text import toy

pytestmark = pytest.mark.slow  # starts commands and signals them: make test-all

REPO = Path(__file__).resolve().parents[2]
BIG = "demand.total=400000"
"""Enough commuters for the run to last a few seconds."""


def start(scn: Path, out: Path, total: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(REPO / "run_sim.py"), "run", str(scn), "--out", str(out), "--quiet",
                             "--no-plots", "--set", total, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for_staging(base: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not list(base.glob(".out.*.staging")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_sigterm_keeps_the_old_run_and_a_second_run_is_refused(tmp_path):
    scn, out = toy(tmp_path), tmp_path / "out"
    old = {"manifest.json": "{}", "summary.json": "{}"}
    with StagedDir(out) as stage:  # an earlier output of ours
        for name, text in old.items():
            (stage.path / name).write_text(text, encoding="utf-8")
    first = start(scn, out, BIG, "--force")
    wait_for_staging(tmp_path, first)
    second = start(scn, out, "demand.total=100", "--force")
    _, err = second.communicate(timeout=60)
    assert second.returncode == 2, err
    assert "another command (process" in err and "Traceback" not in err
    first.send_signal(signal.SIGTERM)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 128 + signal.SIGTERM, err
    assert "interrupted (SIGTERM)" in err and "Traceback" not in err
    assert {p.name: p.read_text(encoding="utf-8") for p in out.iterdir() if p.name != MARKER} == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "toy_net.yaml", "toy_scn.yaml"]


def test_leftovers_of_a_killed_run_are_removed_by_the_next(tmp_path):
    scn, out = toy(tmp_path), tmp_path / "out"
    killed = start(scn, out, BIG)
    wait_for_staging(tmp_path, killed)
    killed.kill()
    killed.communicate(timeout=60)
    assert list(tmp_path.glob(".out.*.staging")) and not out.exists()
    nxt = start(scn, out, "demand.total=100")
    _, err = nxt.communicate(timeout=60)
    assert nxt.returncode == 0, err
    assert "left by a command that was killed" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "toy_net.yaml", "toy_scn.yaml"]


def test_a_sweep_stopped_by_sigterm_says_where_its_runs_are_and_nothing_else(tmp_path):
    import yaml

    toy(tmp_path)
    (tmp_path / "sw.yaml").write_text(yaml.safe_dump({"name": "sw", "scenario": "toy_scn.yaml",
                                                      "set": {"demand.total": 150_000}, "grid": {"seed": [1, 2, 3]}}),
                                      encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, str(REPO / "run_sim.py"), "sweep", str(tmp_path / "sw.yaml"), "--out",
                             str(out), "--workers", "1", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 120
    while not list((out / "runs").glob("p000-r000")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert f"interrupted (SIGTERM): the runs completed so far are in {out}; --resume finishes the sweep" in err
    assert "nothing was written" not in err and "Traceback" not in err
    assert (out / "runs" / "p000-r000" / "summary.json").is_file() and not (out / "summary.parquet").exists()
