"""Reliability on bad input: every number bounded and strictly typed, YAML bounded while parsing
(aliases, nesting, size, only regular files), cross-checks of what used to pass silently, a size
estimate before the run, and one clean line per error (exit 2 for the user's mistakes, 1 with the
traceback only under --debug for internal errors). Each test fails if its protection is removed."""

from __future__ import annotations

import errno
import time
from pathlib import Path

import pytest

import sim.api
import sim.cli
import sim.loading
import sim.plausibility
import sim.rundir
from sim.cli import main
from toy_text import SCN, toy

REPO = Path(__file__).resolve().parents[2]
TT = 'forward: {first: "06:00", last: "10:00", headways: [{from: "06:00", headway_s: 300}]}'
BOMB = "".join(f"b{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * 9 if i else ["lol"] * 9) + "]\n" for i in range(9))


def run_toy(path: Path, *extra: str) -> int:
    return main(["run", str(path), "--out", str(path.parent / "out"), "--quiet", "--no-plots",
                 "--set", "demand.total=100", *extra])


def errors(capsys) -> list[str]:
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err, err
    return [ln for ln in err.splitlines() if ln.startswith("error:")]


def only_error(capsys) -> str:
    lines = errors(capsys)
    assert len(lines) == 1, lines
    return lines[0]


# ---- YAML bounded while parsing -------------------------------------------------------------------


def test_alias_bomb_is_refused_at_once(tmp_path, capsys):
    t0 = time.perf_counter()
    assert main(["validate", str(toy(tmp_path, scn_extra=BOMB))]) == 2
    assert time.perf_counter() - t0 < 5
    assert "with its aliases expanded, this value holds more than 1,000,000 values" in only_error(capsys)


def test_alias_inside_itself_is_refused(tmp_path, capsys):
    assert main(["validate", str(toy(tmp_path, scn_extra="loop: &x [1, *x]\n"))]) == 2
    assert "toy_scn.yaml:" in (line := only_error(capsys)) and "an alias refers to a value that contains it" in line


def test_aliases_within_bounds_still_work(tmp_path, capsys):
    scn = toy(tmp_path, scn=("flat:\n      points: [[\"06:00\", 1], [\"09:00\", 1]]",
                             "flat: &flat\n      points: [[\"06:00\", 1], [\"09:00\", 1]]\n    flat2: *flat"))
    assert main(["validate", str(scn)]) == 0


def test_deep_nesting_is_refused_with_its_line(tmp_path, capsys):
    scn = toy(tmp_path, scn_extra="deep: " + "[" * 5000 + "]" * 5000 + "\n")
    assert main(["validate", str(scn)]) == 2
    line = only_error(capsys)
    assert f"toy_scn.yaml:{SCN.count(chr(10)) + 1}:" in line and "nested more than 64 levels deep" in line


def test_control_characters_are_refused_with_their_line(tmp_path, capsys):
    assert main(["validate", str(toy(tmp_path, scn=("name: toy", "name: to\x00y")))]) == 2
    line = only_error(capsys)
    assert "toy_scn.yaml:2:" in line and "U+0000" in line


def test_only_regular_files_are_read(tmp_path, capsys):
    scn = toy(tmp_path, scn=("network: toy_net.yaml", "network: /dev/zero"))
    assert main(["validate", str(scn)]) == 2
    assert "/dev/zero: file is not a regular file" in only_error(capsys)
    scn = toy(tmp_path, net=("name: toy\n", "name: toy\ninclude: [/dev/zero]\n"))
    assert main(["validate", str(scn)]) == 2
    assert "not a regular file" in only_error(capsys)
    assert main(["validate", str(tmp_path)]) == 2
    assert "file is a directory" in only_error(capsys)


def test_file_size_is_capped(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sim.loading, "MAX_FILE_BYTES", 100)
    assert main(["validate", str(toy(tmp_path))]) == 2
    assert "toy_scn.yaml: file is larger than" in only_error(capsys)


# ---- numbers: bounded, strictly typed --------------------------------------------------------------


@pytest.mark.parametrize(("net", "scn", "field"), [
    (("headway_s: 300", "headway_s: 1e-9"), None, "headways[0].headway_s"),
    (('last: "10:00"', "last: 1e12"), None, "forward.last"),
    ((TT, 'forward: {departures: ["07:00", 1e12]}'), None, "forward.departures[1]"),
    (("capacity: 1000", "capacity: 9223372036854775808"), None, "lines[0].capacity"),
    (("cv: 0.3", "cv: 1e308"), None, "service.cv"),
    (("    capacity: 1000", "    capacity: 1000\n    dwell_s: 1e308"), None, "lines[0].dwell_s"),
    (("    capacity: 1000", '    capacity: 1000\n    run_s: {"A>B": 1e308}'), None, "lines[0].run_s.A>B"),
    (("max_kmh: 80", "max_kmh: 1e-300"), None, "speed_profile.max_kmh"),
    ((TT, 'forward: {first: "06:00", last: "10:00", headways: [{from: "06:00", headway_s: 1}]}'), None,
     "timetable.forward"),
    (None, ('[["06:00", 1], ["09:00", 1]]', '[["06:00", 1e308], ["09:00", 1]]'), "points[0][1]"),
    (None, ("generator: {}", "generator: {origins: {default_weight: 1e308}}"), "origins.default_weight"),
    (None, ("total: 1000", "total: .nan"), "demand.total"),
])
def test_numbers_out_of_physical_range_are_refused(tmp_path, capsys, net, scn, field):
    assert main(["validate", str(toy(tmp_path, net, scn))]) == 2
    assert f"{field}: " in "\n".join(errors(capsys))


@pytest.mark.parametrize(("net", "scn", "field", "says"), [
    (None, ("total: 1000", "total: true"), "demand.total", "not true/false"),
    (None, ("seed: 1", "seed: true"), "seed", "not true/false"),
    (("capacity: 1000", 'capacity: "1000"'), None, "lines[0].capacity", "write numbers without quotes"),
    (("needs_ticket: true", "needs_ticket: 1"), None, "media.ticket.needs_ticket", "boolean"),
    (None, ("schema_version: 1", "schema_version: true"), "schema_version", "not true/false"),
])
def test_booleans_and_quoted_numbers_are_not_numbers(tmp_path, capsys, net, scn, field, says):
    assert main(["validate", str(toy(tmp_path, net, scn))]) == 2
    line = only_error(capsys)
    assert f": {field}: " in line and says in line


def test_set_true_is_not_a_number(tmp_path, capsys):
    assert main(["run", str(toy(tmp_path)), "--out", str(tmp_path / "out"), "--set", "demand.total=true"]) == 2
    assert only_error(capsys).startswith("error: --set demand.total: demand.total: expected a number, not true/false")


def test_whole_numbers_written_as_floats_still_count(tmp_path, capsys):
    assert main(["validate", str(toy(tmp_path, ("capacity: 1000", "capacity: 1.0e3"), ("total: 1000", "total: 1e3")))]) == 0


def test_seed_argument_is_checked(tmp_path, capsys):
    assert run_toy(toy(tmp_path), "--seed", "-1") == 2
    assert "--seed: expected a whole number from 0 to" in only_error(capsys)


# ---- cross-checks --------------------------------------------------------------------------------


def test_station_twice_on_a_branch(tmp_path, capsys):
    net = ("[[A, 0], [B, 2.0], [C, 4.0], [D, 6.0]]", "[[A, 0], [B, 2.0], [B, 2.0], [C, 4.0], [D, 6.0]]")
    assert main(["validate", str(toy(tmp_path, net))]) == 2
    assert "lines[0].branches.trunk[2]: station 'B' is listed twice on this branch" in only_error(capsys)


def test_station_twice_in_a_pattern(tmp_path, capsys):
    assert main(["validate", str(toy(tmp_path, ("stops: [A, D]", "stops: [A, A]")))]) == 2
    assert "lines[0].patterns[0].stops[1]: 'A' is listed twice" in only_error(capsys)


def test_duplicate_departures(tmp_path, capsys):
    net = (TT, 'forward: {departures: ["07:00", "06:30", "07:00:00.2"]}')
    assert main(["validate", str(toy(tmp_path, net))]) == 2
    assert "'departures' lists 07:00:00 more than once" in only_error(capsys)


def test_network_file_given_as_scenario_and_the_reverse(tmp_path, capsys):
    scn = toy(tmp_path)
    assert main(["run", str(tmp_path / "toy_net.yaml"), "--out", str(tmp_path / "out")]) == 2
    assert "toy_net.yaml: this is a network file" in only_error(capsys)
    (tmp_path / "child.yaml").write_text("extends: toy_scn.yaml\nname: child\n", encoding="utf-8")
    (tmp_path / "outer.yaml").write_text(SCN.replace("network: toy_net.yaml", "network: child.yaml"), encoding="utf-8")
    assert main(["validate", str(tmp_path / "outer.yaml")]) == 2
    assert "child.yaml: this is a scenario file" in only_error(capsys)
    assert scn.exists()


def test_network_without_stations(tmp_path, capsys):
    scn = toy(tmp_path, scn=("generator: {}", "generator: {origins: {operators: [SHM]}}"))
    (tmp_path / "parts.yaml").write_text((REPO / "networks" / "operators.yaml").read_text(encoding="utf-8"),
                                         encoding="utf-8")
    scn.write_text(scn.read_text(encoding="utf-8").replace("network: toy_net.yaml", "network: parts.yaml"),
                   encoding="utf-8")
    assert main(["validate", str(scn)]) == 2
    assert any("toy_scn.yaml:3: network: the network has no stations" in ln for ln in errors(capsys))


def test_od_table_that_is_a_directory(tmp_path, capsys):
    assert main(["validate", str(toy(tmp_path, scn=("generator: {}", "od_table: .")))]) == 2
    assert "OD table is a directory (from demand.segments[0].od_table)" in only_error(capsys)


# ---- before the run: size estimate, a track that cannot clear its timetable ----------------------


def never(*args, **kwargs):
    raise AssertionError("demand generated before the size check")


def test_size_estimate_refuses_before_generating_anyone(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sim.plausibility, "available_memory", lambda: 200e6)
    monkeypatch.setattr(sim.api, "generate_checked", never)
    assert run_toy(toy(tmp_path), "--set", "demand.total=1000000") == 2
    line = only_error(capsys)
    assert line.startswith("error: --set demand.total: demand.total: 1,000,000 journeys and 872 train calls")
    assert "need about 1.5 GB of memory" in line and "more than the 0.2 GB available" in line
    assert not (tmp_path / "out").exists()


def test_schema_maximum_of_commuters_is_refused_by_the_estimate(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sim.plausibility, "available_memory", lambda: 16e9)
    monkeypatch.setattr(sim.api, "generate_checked", never)
    assert run_toy(toy(tmp_path), "--set", "demand.total=50000000") == 2
    assert "need about 75.0 GB" in only_error(capsys)


def test_timetable_the_platforms_cannot_clear(tmp_path, capsys):
    scn = toy(tmp_path, ("headway_s: 300", "headway_s: 15"))
    t0 = time.perf_counter()
    assert run_toy(scn) == 2
    assert time.perf_counter() - t0 < 5
    line = only_error(capsys)
    assert "toy_net.yaml:45: lines[0].patterns: line L1: the timetable sends trains to the up platform of B" in line
    assert "would wait" in line
    assert run_toy(scn, "--set", "operations.mode=timetable") == 0  # trains do not wait for each other there


# ---- one line per error --------------------------------------------------------------------------


def test_set_mistakes_are_named_against_the_argument(tmp_path, capsys):
    scn = toy(tmp_path)
    assert run_toy(scn, "--set", "demand.total=abc") == 2
    assert only_error(capsys).startswith("error: --set demand.total: demand.total:")
    assert run_toy(scn, "--set", "demand.segments.0.payment.qr=0.5") == 2
    line = only_error(capsys)
    assert "toy_scn.yaml:16:" in line and "(with --set demand.segments.0.payment.qr)" in line


def test_internal_error_is_one_line_and_its_traceback_needs_debug(tmp_path, capsys, monkeypatch):
    def broken(args):
        raise RuntimeError("boom")

    monkeypatch.setitem(sim.cli.COMMANDS, "validate", broken)
    assert main(["validate", "x.yaml"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "internal error: RuntimeError: boom (run again with --debug for the traceback)"
    assert main(["validate", "x.yaml", "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize(("code", "exit_code", "says"), [
    (errno.ENOSPC, 1, "disk full"), (errno.EDQUOT, 1, "disk full"), (errno.EACCES, 2, "permission denied"),
    (errno.EROFS, 2, "permission denied"),
])
def test_disk_full_and_permission_problems_say_so(tmp_path, capsys, monkeypatch, code, exit_code, says):
    def fail(directory, *args, **kwargs):
        raise OSError(code, "the system says no", str(directory / "trips.parquet"))

    monkeypatch.setattr(sim.rundir, "write_run_dir", fail)
    assert run_toy(toy(tmp_path)) == exit_code
    err = capsys.readouterr().err
    assert "Traceback" not in err and says in err and "trips.parquet" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy_net.yaml", "toy_scn.yaml"]  # nothing left


def test_damaged_run_directory(tmp_path, capsys):
    assert run_toy(toy(tmp_path)) == 0
    (tmp_path / "out" / "trips.parquet").write_bytes(b"not parquet")
    assert main(["compare", str(tmp_path / "out"), str(tmp_path / "out"), "--out", str(tmp_path / "cmp")]) == 2
    assert "trips.parquet: cannot read" in only_error(capsys)
