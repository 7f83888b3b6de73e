"""Reliability of outputs: a directory being written is locked (a second command fails with exit
2), leftovers of killed commands are cleaned by the next one when they can be proved ours,
replacing an output needs its ownership marker and removes only what it lists, and no lock or
temporary file is ever opened through a link. Each test fails if its protection is removed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import sim.staging
from sim.cli import main
from sim.errors import UserError
from sim.ownership import MARKER, read_marker, survey
from sim.staging import STAGING_TOKEN, StagedDir
from toy_text import toy


def run_into(scn: Path, out: Path, *extra: str) -> int:
    return main(["run", str(scn), "--out", str(out), "--quiet", "--no-plots", "--set", "demand.total=100", *extra])


def ours(out: Path, files: dict[str, str], kind: str = "run") -> dict[str, str]:
    """A stand-in for an earlier output of ours (with its marker); its files and contents."""
    with StagedDir(out, kind, {"name": "old"}) as stage:
        for name, text in files.items():
            (stage.path / name).parent.mkdir(parents=True, exist_ok=True)
            (stage.path / name).write_text(text, encoding="utf-8")
    return files


def contents(directory: Path) -> dict[str, str]:
    return {p.relative_to(directory).as_posix(): p.read_bytes().decode("utf-8", "replace") for p in directory.rglob("*")
            if p.is_file() and not p.is_symlink() and p.name != MARKER}


def error_lines(capsys) -> list[str]:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return [ln for ln in err.splitlines() if ln.startswith("error:")]


def test_a_second_command_into_a_locked_directory_fails_at_once(tmp_path, capsys):
    scn, out = toy(tmp_path), tmp_path / "out"
    with StagedDir(out) as stage:
        (stage.path / "first.txt").write_text("first", encoding="utf-8")
        assert run_into(scn, out) == 2
        (line,) = error_lines(capsys)
        assert "--out: another command (process" in line and "is writing this output" in line
        with pytest.raises(UserError):
            StagedDir(out)
    assert contents(out) == {"first.txt": "first"}  # the first one's output, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "toy_net.yaml", "toy_scn.yaml"]  # lock gone


def test_the_lock_is_released_after_a_failure(tmp_path):
    scn, out = toy(tmp_path), tmp_path / "out"
    with pytest.raises(RuntimeError), StagedDir(out):
        raise RuntimeError("failed half way")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy_net.yaml", "toy_scn.yaml"]
    assert run_into(scn, out) == 0


def test_leftovers_of_killed_commands_are_removed_only_when_provably_ours(tmp_path, caplog):
    scn, out = toy(tmp_path), tmp_path / "out"
    (tmp_path / ".out.k2x9a_b1.staging").mkdir()  # a staging folder of ours: its token
    (tmp_path / ".out.k2x9a_b1.staging" / STAGING_TOKEN).write_bytes(b"")
    (tmp_path / ".out.k2x9a_b1.staging" / "trips.parquet").write_text("half", encoding="utf-8")
    (tmp_path / ".out.emptyone.staging").mkdir()  # killed before its token was written
    (tmp_path / ".out.abcd1234").mkdir()  # looks like one, but holds someone's file: kept
    (tmp_path / ".out.abcd1234" / "notes.txt").write_text("mine", encoding="utf-8")
    (tmp_path / ".out.mine").mkdir()  # not a staging name: kept
    (tmp_path / ".out.lock").write_text("12345\n", encoding="utf-8")  # its holder died: the lock is free
    assert run_into(scn, out) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.abcd1234", ".out.mine", "out", "toy_net.yaml",
                                                          "toy_scn.yaml"]
    assert (tmp_path / ".out.abcd1234" / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert caplog.text.count("left by a command that was killed before it finished") == 2


def test_a_moved_aside_run_is_removed_once_the_new_one_is_in_place(tmp_path):
    out = tmp_path / "out"
    files = ours(out, {"manifest.json": '{"old": true}'})
    ours(tmp_path / ".out.old", {"manifest.json": "older"})
    stage = StagedDir(out)
    assert not (tmp_path / ".out.old").exists() and contents(out) == files
    stage.discard()


def test_a_moved_aside_run_is_restored_before_anything_else(tmp_path):
    out, moved = tmp_path / "out", tmp_path / ".out.old"
    files = ours(moved, {"manifest.json": '{"old": true}'})
    stage = StagedDir(out)
    assert contents(out) == files  # restored as soon as the next command takes the lock
    stage.discard()
    assert contents(out) == files


@pytest.mark.parametrize("atomic_swap", [True, False])
def test_force_keeps_the_old_run_until_the_new_one_is_complete(tmp_path, monkeypatch, atomic_swap):
    if not atomic_swap:
        monkeypatch.setattr(sim.staging, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    files = ours(out, {"manifest.json": '{"old": true}', "plots/a.png": "png"})
    with StagedDir(out) as stage:
        (stage.path / "manifest.json").write_text('{"new": true}', encoding="utf-8")
        assert contents(out) == files
    assert contents(out) == {"manifest.json": '{"new": true}'}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert read_marker(out).files.keys() == {"manifest.json"}


def test_force_refuses_folders_without_our_marker_whatever_their_names(tmp_path, capsys):
    scn = toy(tmp_path)
    cases = {"precious": {"thesis.tex": "years of work"},
             "looks_like_a_run": {"manifest.json": "{}", "summary.json": "{}"},
             "looks_like_replications": {"rep-notes/a.txt": "notes", "src/thesis.tex": "x"},
             "looks_like_a_comparison": {"kpis.csv": "a,b", "data.csv": "1,2"}}
    for name, files in cases.items():
        out = tmp_path / name
        for rel, text in files.items():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_text(text, encoding="utf-8")
        assert run_into(scn, out, "--force") == 2, name
        (line,) = error_lines(capsys)
        assert "holds files this simulator did not write" in line and "--force replaces only its own" in line
        assert contents(out) == files, name


def test_force_replaces_our_files_and_keeps_what_others_added(tmp_path, caplog):
    scn, out = toy(tmp_path), tmp_path / "out"
    assert run_into(scn, out) == 0
    (out / "notes.md").write_text("my notes", encoding="utf-8")
    (out / "my_figures").mkdir()
    (out / "my_figures" / "fig.png").write_text("fig", encoding="utf-8")
    assert run_into(scn, out, "--force", "--seed", "9") == 0
    assert (out / "notes.md").read_text(encoding="utf-8") == "my notes"
    assert (out / "my_figures" / "fig.png").read_text(encoding="utf-8") == "fig"
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["seed"] == 9
    assert "kept what this simulator did not write: my_figures, notes.md" in caplog.text
    assert survey(out).kept == ["my_figures", "notes.md"]
    assert run_into(scn, out, "--force") == 0  # and again
    assert (out / "notes.md").read_text(encoding="utf-8") == "my notes"


def test_an_edited_output_file_is_never_replaced(tmp_path, capsys):
    scn, out = toy(tmp_path), tmp_path / "out"
    assert run_into(scn, out) == 0
    (out / "summary.json").write_text('{"annotated": true}', encoding="utf-8")
    assert run_into(scn, out, "--force") == 2
    (line,) = error_lines(capsys)
    assert "were edited since: summary.json" in line
    assert (out / "summary.json").read_text(encoding="utf-8") == '{"annotated": true}'


def test_the_default_output_replaces_only_the_same_commands_results(tmp_path, capsys, monkeypatch):
    import sim.cli

    scn = toy(tmp_path)
    monkeypatch.setattr(sim.cli, "ROOT", tmp_path)
    args = ["run", str(scn), "--quiet", "--no-plots", "--set", "demand.total=100"]
    assert main(args) == 0 and main(args) == 0  # the same command again: replaced without --force
    assert main([*args, "--seed", "3"]) == 2  # another variant: says which results it would replace
    (line,) = error_lines(capsys)
    assert "holds a run of scenario 'toy'" in line and "--set demand.total=100" in line and "--force" in line


def test_plot_writes_a_folder_per_window_and_never_replaces_the_run(tmp_path, capsys):
    scn, out = toy(tmp_path), tmp_path / "out"
    assert run_into(scn, out) == 0
    assert main(["plot", str(out), "--out", str(out)]) == 2  # the run directory itself: refused
    assert "is one of the inputs" in error_lines(capsys)[0]
    assert main(["plot", str(out), "--window", "07:00-08:00"]) == 0
    assert (out / "plots-0700-0800" / "report.html").is_file()
    assert main(["plot", str(out), "--window", "07:00-08:00"]) == 0  # the same again: replaced
    pics = tmp_path / "pics"
    pics.mkdir()
    (pics / "holiday.png").write_bytes(b"my holiday")
    assert main(["plot", str(out), "--out", str(pics)]) == 2
    assert main(["plot", str(out), "--out", str(pics), "--force"]) == 2
    assert (pics / "holiday.png").read_bytes() == b"my holiday"
    assert survey(out).kept == []  # the window's charts are ours: a later --force removes them


def test_compare_refuses_to_write_over_its_inputs(tmp_path, capsys):
    scn = toy(tmp_path)
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_into(scn, a) == 0 and run_into(scn, b, "--seed", "2") == 0
    before = contents(a)
    assert main(["compare", str(a), str(b), "--out", str(a), "--force"]) == 2
    assert "is one of the inputs" in error_lines(capsys)[0]
    assert main(["compare", str(a), str(b), "--out", str(tmp_path), "--force"]) == 2  # holds both
    assert contents(a) == before


def test_sweep_force_empties_only_its_own_sweep_directory(tmp_path, capsys):
    import yaml

    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "sweep.json").write_text("{}", encoding="utf-8")  # not proof of anything
    (folder / "thesis.tex").write_text("years of work", encoding="utf-8")
    toy(tmp_path)
    (tmp_path / "sw.yaml").write_text(yaml.safe_dump({"name": "sw", "scenario": "toy_scn.yaml",
                                                      "set": {"demand.total": 60},
                                                      "grid": {"seed": [1, 2]}}), encoding="utf-8")
    assert main(["sweep", str(tmp_path / "sw.yaml"), "--out", str(folder), "--force", "--workers", "1",
                 "--quiet"]) == 2
    assert sorted(p.name for p in folder.iterdir()) == ["sweep.json", "thesis.tex"]
    out = tmp_path / "sweep_out"
    assert main(["sweep", str(tmp_path / "sw.yaml"), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    (out / "runs" / "p000-r000" / "my_notes.txt").write_text("notes", encoding="utf-8")
    assert main(["sweep", str(tmp_path / "sw.yaml"), "--out", str(out), "--force", "--workers", "1", "--quiet"]) == 0
    assert (out / "runs" / "p000-r000" / "my_notes.txt").read_text(encoding="utf-8") == "notes"
    assert (out / "summary.parquet").is_file() and read_marker(out).kind == "sweep"


# --------------------------------------------------------------------------------------------------
# links and files planted where locks and temporary files go


def test_a_link_planted_at_the_lock_path_is_neither_followed_nor_truncated(tmp_path, capsys):
    scn = toy(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("notes", encoding="utf-8")
    os.symlink(victim, tmp_path / ".o.lock")
    assert run_into(scn, tmp_path / "o") == 2
    assert "is a symbolic link" in error_lines(capsys)[0]
    os.link(victim, tmp_path / ".p.lock")  # a second name of the user's file
    assert run_into(scn, tmp_path / "p") == 2
    assert "not a lock file of this simulator" in error_lines(capsys)[0]
    (tmp_path / ".q.lock").write_text("a user's file\n", encoding="utf-8")
    assert run_into(scn, tmp_path / "q") == 2
    assert victim.read_text(encoding="utf-8") == "notes" and os.path.islink(tmp_path / ".o.lock")
    assert (tmp_path / ".q.lock").read_text(encoding="utf-8") == "a user's file\n"


def test_an_output_that_is_a_link_is_refused(tmp_path, capsys):
    scn = toy(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("keep", encoding="utf-8")
    os.symlink(elsewhere, tmp_path / "o")
    assert run_into(scn, tmp_path / "o", "--force") == 2
    assert "is a symbolic link" in error_lines(capsys)[0]
    assert contents(elsewhere) == {"keep.txt": "keep"} and os.path.islink(tmp_path / "o")


def test_a_staging_name_that_is_a_link_is_left_alone(tmp_path):
    scn = toy(tmp_path)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "data.txt").write_text("data", encoding="utf-8")
    (victim / STAGING_TOKEN).write_bytes(b"")  # even with our token inside
    os.symlink(victim, tmp_path / ".o.abcd1234.staging")
    assert run_into(scn, tmp_path / "o") == 0
    assert contents(victim) == {"data.txt": "data", STAGING_TOKEN: ""}
    assert os.path.islink(tmp_path / ".o.abcd1234.staging")


def test_links_inside_an_output_are_kept_and_not_followed(tmp_path):
    scn, out = toy(tmp_path), tmp_path / "out"
    victim = tmp_path / "victim.txt"
    victim.write_text("notes", encoding="utf-8")
    assert run_into(scn, out) == 0
    os.symlink(victim, out / "link.txt")
    assert run_into(scn, out, "--force") == 0
    assert os.path.islink(out / "link.txt") and victim.read_text(encoding="utf-8") == "notes"


@pytest.mark.parametrize("command", ["plot", "compare", "import-gtfs", "export-gtfs"])
def test_every_lock_and_temporary_path_ignores_planted_links(tmp_path, capsys, command):
    scn = toy(tmp_path)
    run = tmp_path / "run"
    assert run_into(scn, run) == 0
    feed = tmp_path / "feed.zip"
    assert main(["export-gtfs", str(tmp_path / "toy_net.yaml"), "--out", str(feed)]) == 0
    out = tmp_path / {"import-gtfs": "o.yaml", "export-gtfs": "o.zip"}.get(command, "o")
    argv = {"plot": ["plot", str(run), "--out", str(out)],
            "compare": ["compare", str(run), str(run), "--out", str(out)],
            "import-gtfs": ["import-gtfs", str(feed), "--out", str(out)],
            "export-gtfs": ["export-gtfs", str(tmp_path / "toy_net.yaml"), "--out", str(out)]}[command]
    victim = tmp_path / "victim.txt"
    victim.write_text("notes", encoding="utf-8")
    lock = out.with_name(f".{out.name}.lock")
    os.symlink(victim, lock)
    assert main(argv) == 2
    assert "is a symbolic link" in error_lines(capsys)[0] and not out.exists()
    os.unlink(lock)
    os.symlink(victim, out.with_name(f".{out.name}.tmp"))  # where older versions put their temporary file
    assert main(argv) == 0
    assert victim.read_text(encoding="utf-8") == "notes" and not out.is_symlink()
    assert not lock.exists()
    if out.is_file():  # a file output: replaced only with --force, and only when written here
        assert main(argv) == 2 and main([*argv, "--force"]) == 0
        out.write_text("my own file", encoding="utf-8")
        assert main([*argv, "--force"]) == 2
        assert "--force replaces only such a file" in error_lines(capsys)[-1]
        assert out.read_text(encoding="utf-8") == "my own file"


@pytest.mark.parametrize(("command", "advice"), [("run", "lower demand.total"), ("sweep", "fewer --workers"),
                                                 ("import-gtfs", "cut the feed to the routes")])
def test_out_of_memory_says_what_to_do_for_the_command(monkeypatch, capsys, command, advice):
    import sim.cli

    def exhausted(args):
        raise MemoryError

    monkeypatch.setitem(sim.cli.COMMANDS, command, exhausted)
    assert main([command, "x"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: out of memory; ") and advice in err


def test_a_damaged_summary_or_manifest_is_named_not_drawn(tmp_path, capsys):
    scn, out = toy(tmp_path), tmp_path / "out"
    assert run_into(scn, out) == 0
    good = {n: (out / n).read_text(encoding="utf-8") for n in ("summary.json", "manifest.json")}
    for name, text, says in [("summary.json", "{}", "commuters: missing"), ("summary.json", "[1]", "expected a JSON object"),
                             ("manifest.json", '{"scenario_name": "x", "seed": 1, "network": {}, "scenario": 3}',
                              "scenario: expected a JSON object"), ("manifest.json", "{", "cannot read")]:
        (out / name).write_text(text, encoding="utf-8")
        assert main(["plot", str(out)]) == 2, name
        (line,) = error_lines(capsys)
        assert f"{out / name}" in line and says in line, line
        (out / name).write_text(good[name], encoding="utf-8")


def test_out_of_memory_while_reading_the_network_blames_the_network(tmp_path, monkeypatch, capsys):
    import sim.cli

    scn = toy(tmp_path)

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(sim.cli, "load_scenario", exhausted)
    assert main(["run", str(scn), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "out of memory; reading the network" in err and "demand.total" not in err
