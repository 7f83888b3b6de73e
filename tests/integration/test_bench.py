"""The benchmark runs end to end (not timed): a case repeated, each run writing its own tables, and
the reference engine's trips checked against the bulk engine's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_repeated_case_with_the_reference_check_runs_and_finds_the_trips_identical():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "bench.py"), "--repeat", "2", "--cases",
                           "baseline:2000+ref"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "n=2" in done.stdout and "trips identical: True" in done.stdout


def test_a_case_listed_twice_runs_twice():
    """A sitting lists a case before and after another (the same folder name would be taken)."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "bench.py"), "--cases", "baseline:1000",
                           "baseline:1000"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("baseline     1,000 bulk") == 2, done.stdout
