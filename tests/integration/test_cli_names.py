"""The command line as a new user meets it: shipped scenarios by name from any directory, a
version, help for every argument, and a listing that says where the shipped files are."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sim.cli import build_parser, main

REPO = Path(__file__).resolve().parents[2]


def test_shipped_scenarios_and_sweeps_by_name_from_another_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "baseline", "sweep_huaqiao"]) == 0
    out = capsys.readouterr().out
    assert f"ok: {REPO / 'scenarios' / 'baseline.yaml'}" in out and "sweep_huaqiao.yaml" in out
    assert main(["validate", "no_such_scenario"]) == 2  # a name that is not shipped stays a missing file
    assert "no_such_scenario" in capsys.readouterr().err


def test_version_help_and_listing(capsys):
    done = subprocess.run([sys.executable, str(REPO / "run_sim.py"), "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("run_sim.py ")
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    for name, command in sub.items():  # every argument says what it is
        for action in command._actions:
            assert action.help, f"{name}: {action.dest} has no help text"
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"shipped files in {REPO}")
    starts = {ln.index(ln.split()[2]) for ln in lines[1:] if len(ln.split()) > 2}
    assert len(starts) == 1  # descriptions start in one column, never run together with the names
