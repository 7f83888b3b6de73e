"""No command ever removes or changes a file it did not write (hypothesis, derandomised).

Each case takes an earlier output of one of the commands that write with `--force` (a run,
replications, charts of a window, a comparison, a sweep, an imported network, an exported feed),
or a folder that is not ours at all, plants random entries in it (files, folders and links, many
named like our outputs, some over our own files or over the ownership marker), and runs the
command again with `--force` into the same place. Whatever the command decides (exit 0, or exit 2
with a message), every planted entry must be there afterwards, unchanged: same bytes, links still
links to the same place, and the files links point to untouched.

OWNERSHIP_EXAMPLES sets the number of cases per command (default 4, about 30 s in all).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from toy_text import NET, SCN

pytestmark = pytest.mark.slow  # make test-all

EXAMPLES = int(os.environ.get("OWNERSHIP_EXAMPLES", "4"))
NAMES = ("trips.parquet", "summary.json", "manifest.json", "report.html", "kpis.csv", "kpis.md", "plots",
         "rep-000", "rep-notes", "runs", "p000-r000", "summary.parquet", "sweep.json", ".yrd-sim-output.json",
         "notes.txt", "thesis.tex", "a.png", ".hidden")
SMALL = ["--set", "demand.total=80"]


def commands(base: Path, out: Path) -> dict[str, list[str]]:
    """The command line of each writer, writing into `out` (inputs under `base`)."""
    scn = str(base / "toy_scn.yaml")
    return {
        "run": ["run", scn, "--out", str(out), "--quiet", "--no-plots", *SMALL],
        "replications": ["run", scn, "--out", str(out), "--quiet", "--no-plots", "--replications", "2", *SMALL],
        "plot": ["plot", str(base / "run_a"), "--out", str(out), "--lines", "L1"],
        "compare": ["compare", str(base / "sweep" / "p000"), str(base / "sweep" / "p001"), "--out", str(out)],
        "sweep": ["sweep", str(base / "sw.yaml"), "--out", str(out), "--quiet", "--workers", "1"],
        "export-gtfs": ["export-gtfs", str(base / "toy_net.yaml"), "--out", str(out)],
    }


FOLDER_COMMANDS = ("run", "replications", "plot", "compare", "sweep")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """Inputs, and one earlier output of each command (written by the command itself)."""
    base = tmp_path_factory.mktemp("ownership")
    (base / "toy_net.yaml").write_text(NET, encoding="utf-8")
    (base / "toy_scn.yaml").write_text(SCN, encoding="utf-8")
    (base / "sw.yaml").write_text(yaml.safe_dump({"name": "sw", "scenario": "toy_scn.yaml", "set": {"demand.total": 60},
                                                  "grid": {"seed": [1, 2]}}), encoding="utf-8")
    assert main(commands(base, base / "run_a")["run"]) == 0
    assert main(commands(base, base / "sweep")["sweep"]) == 0
    for name, argv in commands(base, base / "earlier").items():
        target = base / "earlier" / name
        argv = [a if a != str(base / "earlier") else str(target) for a in argv]
        target.parent.mkdir(exist_ok=True)
        assert main(argv) == 0, name
    return base


entry = st.tuples(st.sampled_from(("file", "dir", "link", "link_dir")),
                  st.lists(st.sampled_from(NAMES), min_size=1, max_size=3), st.binary(max_size=20))


def plant(root: Path, entries, outside: Path) -> dict[Path, tuple]:
    """Create `entries` under `root` (where a parent is missing or a file, skip); what each is."""
    planted: dict[Path, tuple] = {}
    for k, (kind, parts, data) in enumerate(entries):
        path = root.joinpath(*parts)
        if not path.parent.is_dir() or path.parent.is_symlink() or any(p in path.parents for p in planted):
            continue
        if path.is_symlink() or (path.exists() and (path.is_dir() or kind != "file")):
            continue
        if kind == "file":
            path.write_bytes(data)
            planted[path] = ("file", data)
        elif kind == "dir":
            path.mkdir()
            (path / "inside.txt").write_bytes(data)
            planted[path / "inside.txt"] = ("file", data)
        else:
            target = outside / f"target{k}"
            if kind == "link":
                target.write_bytes(data)
            else:
                target.mkdir()
                (target / "inside.txt").write_bytes(data)
            os.symlink(target, path)
            planted[path] = ("link", str(target))
    return planted


def unchanged(path: Path, what: tuple) -> bool:
    kind, value = what
    if kind == "link":
        return path.is_symlink() and os.readlink(path) == value
    return path.is_file() and not path.is_symlink() and path.read_bytes() == value


@pytest.mark.parametrize("command", (*FOLDER_COMMANDS, "export-gtfs"))
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ours=st.booleans(), entries=st.lists(entry, min_size=1, max_size=6))
def test_no_command_removes_or_changes_what_it_did_not_write(base, tmp_path_factory, command, ours, entries):
    work = tmp_path_factory.mktemp("case")
    outside = work / "outside"
    outside.mkdir()
    out = work / ("out.zip" if command == "export-gtfs" else "out")
    if ours:  # an earlier output of this command, as it wrote it
        earlier = base / "earlier" / command
        shutil.copytree(earlier, out, symlinks=True) if earlier.is_dir() else shutil.copy2(earlier, out)
    elif command != "export-gtfs":
        out.mkdir()
    planted = plant(out, entries, outside) if out.is_dir() else {}
    if command == "export-gtfs" and not ours and entries:  # a file of someone else's at the output path
        out.write_bytes(entries[0][2])
        planted[out] = ("file", entries[0][2])
    outside_before = {p: p.read_bytes() for p in outside.rglob("*") if p.is_file()}
    code = main([*commands(base, out)[command], "--force"])
    assert code in (0, 2)
    for path, what in planted.items():
        assert unchanged(path, what), (command, path.relative_to(work), what)
    assert {p: p.read_bytes() for p in outside.rglob("*") if p.is_file()} == outside_before
    assert sorted(p.name for p in work.iterdir()) in (["out", "outside"], ["out.zip", "outside"], ["outside"])
