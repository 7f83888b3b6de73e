"""Input checks: payment shares and segment shares that must add up to 1 (or segment weights),
problems printed without a placeholder for a missing file, and run directories whose mode follows
the umask. Each check through the command line exits 2 and names the file or the `--set` argument."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.demand import generate_demand
from sim.errors import Problem
from sim.scenario import load_scenario
from toy_text import FIXTURES, NET, SCN

TOY_SCN = FIXTURES / "toy_scn.yaml"
ROOT = Path(__file__).resolve().parents[2]

ONE_SEGMENT = """    - name: all
      share: 1
      generator: {}
      profile: flat
      payment: {qr: 0.8, ticket: 0.2}
"""


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"fixture text {old!r} must occur exactly once"
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    assert len(hits) == 1, f"{needle!r} must occur on exactly one line"
    return hits[0]


def write_scenario(tmp_path: Path, text: str) -> Path:
    (tmp_path / "toy_net.yaml").write_text(NET, encoding="utf-8")
    path = tmp_path / "scn.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def errors(capsys) -> list[str]:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return [ln for ln in err.splitlines() if ln.startswith("error:")]


def two_segments(a: float, b: float, mode: str | None = None) -> str:
    """The toy scenario with segments a_seg and b_seg of shares a and b (and demand.segment_shares)."""
    segs = "".join(f"""    - name: {name}
      share: {share}
      generator: {{}}
      profile: flat
      payment: {{qr: 1}}
""" for name, share in (("a_seg", a), ("b_seg", b)))
    text = replace_once(SCN, ONE_SEGMENT, segs)
    if mode is not None:
        text = replace_once(text, "  total: 1000\n", f"  total: 1000\n  segment_shares: {mode}\n")
    return text


# --------------------------------------------------------------------------------------------------
# Payment shares add up to 1


@pytest.mark.parametrize("command", ["validate", "run"])
def test_payment_shares_must_add_up_to_one(tmp_path, capsys, command):
    text = replace_once(SCN, "payment: {qr: 0.8, ticket: 0.2}", "payment: {qr: 0.8, ticket: 0.5}")
    path = write_scenario(tmp_path, text)
    out = tmp_path / "out"
    args = [str(path)] if command == "validate" else [str(path), "--out", str(out), "--quiet", "--no-plots"]
    assert main([command, *args]) == 2
    [error] = errors(capsys)
    assert error.startswith(f"error: {path}:{line_of(text, 'payment:')}: demand.segments[0].payment: "
                            "payment shares must add up to 1 (they add up to 1.3)"), error
    assert not out.exists()


def test_payment_shares_set_on_the_command_line_name_the_argument(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(TOY_SCN), "--set", "demand.segments.0.payment={qr: 0.5, ticket: 0.2}",
                 "--out", str(out), "--quiet", "--no-plots"]) == 2
    [error] = errors(capsys)
    assert error.startswith("error: --set demand.segments.0.payment: demand.segments[0].payment: "
                            "payment shares must add up to 1 (they add up to 0.7)"), error
    assert not out.exists()


def test_payment_share_changed_on_the_command_line_names_the_field(tmp_path, capsys):
    # one share changed by --set: the mapping it belongs to was written in the scenario file, the
    # argument that changed it is named too
    assert main(["validate", str(TOY_SCN)]) == 0
    out = tmp_path / "out"
    assert main(["run", str(TOY_SCN), "--set", "demand.segments.0.payment.ticket=0.3", "--out", str(out),
                 "--quiet"]) == 2
    assert not out.exists()
    [error] = errors(capsys)
    assert f"{TOY_SCN}:" in error and "demand.segments[0].payment: payment shares must add up to 1 " \
                                     "(they add up to 1.1)" in error
    assert error.endswith("(with --set demand.segments.0.payment.ticket)")


@pytest.mark.parametrize("ticket, ok", [(0.2000009, True), (0.1999991, True), (0.200002, False),
                                        (0.199998, False)])
def test_payment_shares_tolerance(tmp_path, ticket, ok):
    text = replace_once(SCN, "payment: {qr: 0.8, ticket: 0.2}", f"payment: {{qr: 0.8, ticket: {ticket}}}")
    args = ["validate", str(write_scenario(tmp_path, text))]
    assert main(args) == (0 if ok else 2)


def test_payment_shares_are_used_as_given(tmp_path):
    scn = load_scenario(write_scenario(tmp_path, SCN.replace("total: 1000", "total: 4000")))
    d = generate_demand(scn.model.demand, scn.model.period, scn.network, scn.base_dir, seed=3, replication=0)
    share = (d.payment == d.media.index("ticket")).mean()
    assert abs(share - 0.2) < 4 * np.sqrt(0.2 * 0.8 / d.size)


# --------------------------------------------------------------------------------------------------
# Segment shares: fractions (default) or weights


def test_segment_fractions_must_add_up_to_one(tmp_path, capsys):
    text = two_segments(0.6, 0.3)
    path = write_scenario(tmp_path, text)
    assert main(["validate", str(path)]) == 2
    [error] = errors(capsys)
    assert error.startswith(f"error: {path}:{line_of(text, 'segments:')}: demand.segments: "
                            "segment shares must add up to 1 (they add up to 0.9)"), error
    assert "segment_shares: weights" in error  # says how to give weights instead


def test_segment_fractions_explicit_and_within_tolerance(tmp_path):
    for mode in (None, "fractions"):
        scn = load_scenario(write_scenario(tmp_path, two_segments(0.7, 0.3000004, mode)))
        assert scn.model.demand.segment_shares == "fractions"
        d = generate_demand(scn.model.demand, scn.model.period, scn.network, scn.base_dir, seed=1, replication=0)
        assert np.bincount(d.segment).tolist() == [700, 300]


def test_segment_weights_are_normalised(tmp_path, capsys):
    path = write_scenario(tmp_path, two_segments(60, 30, "weights"))
    assert main(["validate", str(path)]) == 0
    scn = load_scenario(path)
    d = generate_demand(scn.model.demand, scn.model.period, scn.network, scn.base_dir, seed=1, replication=0)
    assert d.segment_names == ("a_seg", "b_seg")
    assert np.bincount(d.segment).tolist() == [667, 333]  # 666.67 / 333.33, largest remainder


def test_segment_shares_set_on_the_command_line(tmp_path, capsys):
    path = write_scenario(tmp_path, two_segments(60, 30, "weights"))
    out = tmp_path / "out"
    assert main(["run", str(path), "--set", "demand.segment_shares=fractions", "--out", str(out), "--quiet"]) == 2
    [error] = errors(capsys)
    assert f"error: {path}:" in error and "demand.segments: segment shares must add up to 1 (they add up to 90)" in error
    assert main(["run", str(path), "--set", "demand.segment_shares=fraction", "--out", str(out), "--quiet"]) == 2
    assert not out.exists()
    [error] = errors(capsys)
    assert error.startswith("error: --set demand.segment_shares: demand.segment_shares: "), error
    assert "'fractions' or 'weights'" in error


def test_baseline_gives_segment_weights(tmp_path, capsys):
    baseline = ROOT / "scenarios" / "baseline.yaml"
    assert main(["validate", str(baseline)]) == 0
    out = tmp_path / "out"
    assert main(["run", str(baseline), "--set", "demand.segment_shares=fractions", "--out", str(out), "--quiet"]) == 2
    assert not out.exists()
    [error] = errors(capsys)
    assert f"error: {baseline}:" in error and "they add up to 349.6" in error


# --------------------------------------------------------------------------------------------------
# How problems print


def test_problem_text_without_a_file_has_no_placeholder():
    assert str(Problem("", "arguments", "the following arguments are required: scenario")) == \
        "arguments: the following arguments are required: scenario"
    assert str(Problem("", "", "something is wrong")) == "something is wrong"
    assert str(Problem("scn.yaml", "demand.total", "expected a number", 7)) == "scn.yaml:7: demand.total: expected a number"
    assert str(Problem("scn.yaml", "", "file not found")) == "scn.yaml: file not found"
    assert str(Problem("--set demand.totl", "demand.totl", "unknown field")) == "--set demand.totl: demand.totl: unknown field"


def test_argument_errors_print_without_placeholder(capsys):
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert "error: arguments: argument command: invalid choice: 'frobnicate'" in err
    assert main(["run", str(TOY_SCN), "--replications", "0", "--no-plots"]) == 2
    err += capsys.readouterr().err
    assert "error: --replications: expected a whole number from 1 to 1000" in err
    assert main(["run", str(TOY_SCN), "--replications", "1000000000", "--no-plots"]) == 2
    assert "<input>" not in err and "Traceback" not in err


# --------------------------------------------------------------------------------------------------
# Run directories follow the umask


@pytest.fixture
def umask():
    """Set the process umask for one test; the previous one is restored afterwards."""
    old = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(old)


def directory_modes(root: Path) -> dict[str, int]:
    out = {".": stat.S_IMODE(root.stat().st_mode)}
    for here, dirs, _ in os.walk(root):
        for d in dirs:
            p = Path(here) / d
            out[str(p.relative_to(root))] = stat.S_IMODE(p.stat().st_mode)
    return out


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_run_directory_follows_the_umask(tmp_path, umask, mask):
    umask(mask)
    out = tmp_path / "results" / "toy"
    assert main(["run", str(TOY_SCN), "--out", str(out), "--replications", "2", "--quiet"]) == 0
    modes = directory_modes(out)
    assert {".", "rep-000", "rep-001"} <= set(modes) and any(Path(d).name == "plots" for d in modes), modes
    assert modes == dict.fromkeys(modes, 0o777 & ~mask), {k: oct(v) for k, v in modes.items()}
    assert stat.S_IMODE((tmp_path / "results").stat().st_mode) == 0o777 & ~mask  # created on the way
    # replacing the run directory (--force) gives the new one the same mode
    assert main(["run", str(TOY_SCN), "--out", str(out), "--force", "--quiet", "--no-plots"]) == 0
    assert directory_modes(out) == {".": 0o777 & ~mask}
    assert sorted(p.name for p in out.parent.iterdir()) == ["toy"]  # nothing staged left beside it
    assert os.umask(mask) == mask  # the run left the umask as it was
