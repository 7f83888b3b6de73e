"""Reliability of outputs: a directory being written is locked (a second command fails with exit
2), leftovers of killed commands are cleaned by the next one, `--force` replaces only earlier
results and keeps them until the new ones are complete, and plot replaces only a folder of charts.
Each test fails if its protection is removed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from toy_text import NET, SCN

import sim.io
from sim.cli import main
from sim.errors import UserError
from sim.io import StagedDir


def toy(tmp_path: Path) -> Path:
    (tmp_path / "toy_net.yaml").write_text(NET, encoding="utf-8")
    (tmp_path / "toy_scn.yaml").write_text(SCN, encoding="utf-8")
    return tmp_path / "toy_scn.yaml"


def run_into(scn: Path, out: Path, *extra: str) -> int:
    return main(["run", str(scn), "--out", str(out), "--quiet", "--no-plots", "--set", "demand.total=100", *extra])


def old_run(out: Path) -> dict[str, str]:
    """A stand-in for an earlier run directory; its files and contents."""
    out.mkdir(parents=True)
    files = {"manifest.json": '{"old": true}', "summary.json": "{}", "trips.parquet": "old"}
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return files


def contents(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in directory.iterdir() if p.is_file()}


def error_lines(capsys) -> list[str]:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return [ln for ln in err.splitlines() if ln.startswith("error:")]


def test_a_second_command_into_a_locked_directory_fails_at_once(tmp_path, capsys):
    scn, out = toy(tmp_path), tmp_path / "out"
    with StagedDir(out) as stage:
        (stage.path / "marker").write_text("first", encoding="utf-8")
        assert run_into(scn, out) == 2
        (line,) = error_lines(capsys)
        assert "--out: another command (process" in line and "is writing this directory" in line
        with pytest.raises(UserError):
            StagedDir(out)
    assert contents(out) == {"marker": "first"}  # the first one's output, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "toy_net.yaml", "toy_scn.yaml"]  # lock gone


def test_the_lock_is_released_after_a_failure(tmp_path, capsys):
    scn, out = toy(tmp_path), tmp_path / "out"
    with pytest.raises(RuntimeError), StagedDir(out):
        raise RuntimeError("failed half way")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy_net.yaml", "toy_scn.yaml"]
    assert run_into(scn, out) == 0


def test_leftovers_of_killed_commands_are_removed(tmp_path, caplog):
    scn, out = toy(tmp_path), tmp_path / "out"
    for name in (".out.k2x9a_b1.staging", ".out.abcd1234"):  # staging folders (the second of older versions)
        (tmp_path / name).mkdir()
        (tmp_path / name / "trips.parquet").write_text("half", encoding="utf-8")
    (tmp_path / ".out.mine").mkdir()  # not a staging folder: kept
    (tmp_path / ".out.lock").write_text("12345\n", encoding="utf-8")  # its holder died: the lock is free
    assert run_into(scn, out) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.mine", "out", "toy_net.yaml", "toy_scn.yaml"]
    assert caplog.text.count("left by a command that was killed before it finished") == 2


def test_a_moved_aside_run_is_removed_once_the_new_one_is_in_place(tmp_path):
    out = tmp_path / "out"
    files = old_run(out)
    old_run(tmp_path / ".out.old")
    stage = StagedDir(out)
    assert not (tmp_path / ".out.old").exists() and contents(out) == files
    stage.discard()


def test_a_moved_aside_run_is_restored_before_anything_else(tmp_path):
    out, moved = tmp_path / "out", tmp_path / ".out.old"
    files = old_run(moved)
    stage = StagedDir(out)
    assert contents(out) == files  # restored as soon as the next command takes the lock
    stage.discard()
    assert contents(out) == files


@pytest.mark.parametrize("atomic_swap", [True, False])
def test_force_keeps_the_old_run_until_the_new_one_is_complete(tmp_path, monkeypatch, atomic_swap):
    if not atomic_swap:
        monkeypatch.setattr(sim.io, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    files = old_run(out)
    with StagedDir(out) as stage:
        (stage.path / "manifest.json").write_text('{"new": true}', encoding="utf-8")
        assert contents(out) == files
    assert contents(out) == {"manifest.json": '{"new": true}'}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_force_replaces_only_earlier_results(tmp_path, capsys):
    scn = toy(tmp_path)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work", encoding="utf-8")
    assert run_into(scn, precious, "--force") == 2
    (line,) = error_lines(capsys)
    assert "--out: is not the output of an earlier run or comparison" in line
    assert contents(precious) == {"thesis.tex": "years of work"}
    for marker, names in {"run": ("manifest.json", "summary.json"), "replications": ("rep-000/",),
                          "comparison": ("kpis.csv",)}.items():
        out = tmp_path / marker
        out.mkdir()
        for name in names:
            (out / name).mkdir() if name.endswith("/") else (out / name).write_text("{}", encoding="utf-8")
        assert run_into(scn, out, "--force") == 0, marker
        assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["scenario"]["demand"]["total"] == 100


def test_plot_replaces_only_a_folder_of_charts(tmp_path, capsys):
    scn, out = toy(tmp_path), tmp_path / "out"
    assert run_into(scn, out) == 0
    assert main(["plot", str(out), "--out", str(out)]) == 2  # the run directory itself: refused
    assert "is not a folder of charts" in error_lines(capsys)[0]
    charts = tmp_path / "charts"
    charts.mkdir()
    (charts / "old.png").write_bytes(b"png")
    assert main(["plot", str(out), "--out", str(charts)]) == 0
    assert not (charts / "old.png").exists() and (charts / "report.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["charts", "out", "toy_net.yaml", "toy_scn.yaml"]
