"""Reliability on hostile input, continued: chains of files and thousands of patches bounded and
linear, ids unique, text bounded in length and drawn as written on charts, and plausibility warnings
for values the schema accepts but nobody means. Each test fails if its protection is removed."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim.loading
import sim.scenario
from sim import plotting
from sim.api import run
from sim.cli import main
from sim.errors import UserError
from sim.loading import read_yaml
from sim.overlay import apply_network_changes
from sim.report import RunView, all_charts
from sim.scenario import load_scenario
from toy_text import NET, SCN, toy

ODD = r"$\foo{x}$"
"""A name mathtext would parse (and fail on)."""


def only_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err, err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, lines
    return lines[0]


def chain(tmp_path: Path, depth: int) -> Path:
    """Scenario files s1 ... s<depth>, each extending the one before (s1 the toy scenario)."""
    toy(tmp_path)
    for i in range(1, depth + 1):
        parent = "toy_scn.yaml" if i == 1 else f"s{i - 1}.yaml"
        (tmp_path / f"s{i}.yaml").write_text(f"extends: {parent}\nseed: {i}\n", encoding="utf-8")
    return tmp_path / f"s{depth}.yaml"


# ---- chains of files ------------------------------------------------------------------------------


def test_extends_chain_is_bounded(tmp_path, capsys):
    assert main(["validate", str(chain(tmp_path, sim.scenario.MAX_EXTENDS))]) == 0
    capsys.readouterr()
    top = chain(tmp_path, sim.scenario.MAX_EXTENDS + 1)
    assert main(["validate", str(top)]) == 2
    line = only_error(capsys)
    assert "s1.yaml:1: extends:" in line and str(top) in line and "more than 32 scenario files in a row" in line


def test_extends_chain_loads_in_linear_time(tmp_path, monkeypatch):
    monkeypatch.setattr(sim.scenario, "MAX_EXTENDS", 10_000)
    t0 = time.perf_counter()
    scn = load_scenario(chain(tmp_path, 1000))  # took 23 s when each step rescanned the chain
    assert time.perf_counter() - t0 < 15  # generous: a loaded machine, and a bound, not a benchmark
    assert scn.model.seed == 1000 and len(scn.extends) == 1000
    assert scn.doc.source(("seed",)).file == str(tmp_path / "s1000.yaml")


def test_include_chain_is_bounded(tmp_path, capsys):
    toy(tmp_path, scn=("network: toy_net.yaml", "network: n40.yaml"))
    for i in range(1, 41):
        parent = "toy_net.yaml" if i == 1 else f"n{i - 1}.yaml"
        (tmp_path / f"n{i}.yaml").write_text(f"include: [{parent}]\n", encoding="utf-8")
    assert main(["validate", str(tmp_path / "toy_scn.yaml")]) == 2  # 2,000 deep was a RecursionError
    line = only_error(capsys)
    assert "include[0]:" in line and "more than 32 files include one another in a row" in line


@pytest.mark.parametrize(("scn", "net"), [
    (("network: toy_net.yaml", "network: " + "y" * 300), None),
    (("name: toy", "extends: " + "y" * 300), None),
    (None, ("name: toy\n", "name: toy\ninclude: [" + "y" * 300 + "]\n")),
])
def test_file_names_too_long_to_look_up_are_user_errors(tmp_path, capsys, scn, net):
    assert main(["validate", str(toy(tmp_path, net, scn))]) == 2  # was exit 1: OSError "File name too long"
    assert "y" * 300 in only_error(capsys)


# ---- thousands of patches -------------------------------------------------------------------------


def test_many_set_overrides_apply_in_linear_time(tmp_path):
    windows = {f"kpis.windows.w{i}": ["06:00", "07:00"] for i in range(10_000)}
    t0 = time.perf_counter()
    scn = load_scenario(toy(tmp_path), windows)  # took 64 s when each patch rebuilt the origins of all
    assert time.perf_counter() - t0 < 15  # generous: a loaded machine, and a bound, not a benchmark
    assert len(scn.model.kpis.windows) == 10_000
    assert scn.doc.source(("kpis", "windows", "w9999")).file == "--set kpis.windows.w9999"


def test_many_wrong_set_overrides_are_reported_in_linear_time(tmp_path):
    t0 = time.perf_counter()
    with pytest.raises(UserError) as info:  # took 23 s when each problem scanned every patched value
        load_scenario(toy(tmp_path), {f"demand.x{i}": 1 for i in range(10_000)})
    assert time.perf_counter() - t0 < 15  # generous: a loaded machine, and a bound, not a benchmark
    problems = [str(p) for p in info.value.problems]
    assert len(problems) == 10_000
    assert "--set demand.x9999: demand.x9999: unknown field (check its spelling; unknown fields are not allowed)" \
        in problems


def test_set_arguments_are_bounded(tmp_path, capsys):
    args = ["run", str(toy(tmp_path)), "--out", str(tmp_path / "out"), "--quiet", "--no-plots"]
    args += [f"--set=seed={i}" for i in range(sim.loading.MAX_SET_ARGUMENTS + 1)]
    assert main(args) == 2
    assert "--set: 1,001 --set arguments, more than the 1,000 allowed" in only_error(capsys)


def test_many_network_changes_apply_in_linear_time(tmp_path):
    n = 4000
    (tmp_path / "net.yaml").write_text("stations:\n" + "".join(f"  - {{id: S{i}, lat: 31}}\n" for i in range(n)),
                                       encoding="utf-8")
    removed = "".join(f"    S{i}: null\n" for i in range(0, n, 2))
    changed = "".join(f"    S{i}: {{lat: 30}}\n" for i in range(1, n, 2))
    added = "".join(f"    N{i}: {{add: true, lat: 1}}\n" for i in range(n // 2))
    (tmp_path / "scn.yaml").write_text("changes:\n  stations:\n" + removed + changed + added, encoding="utf-8")
    t0 = time.perf_counter()
    [doc] = apply_network_changes([read_yaml(tmp_path / "net.yaml")], read_yaml(tmp_path / "scn.yaml"))
    assert time.perf_counter() - t0 < 15  # took 56 s when each change searched and renumbered every item
    stations = doc.data["stations"]
    assert [s["id"] for s in stations[:2]] == ["S1", "S3"] and stations[n // 2]["id"] == "N0"
    assert stations[0]["lat"] == 30 and doc.source(("stations", 0, "lat")).line == 2 + n // 2 + 1
    assert doc.source(("stations", 1, "id")).line == 5  # S3, written on the net file's line 5
    assert doc.source(("stations", n - 1, "lat")).line == 2 + n + n // 2


# ---- ids unique -----------------------------------------------------------------------------------


def test_duplicate_disruption_ids_name_both_places(tmp_path, capsys):
    closure = '  - {id: cut, line: L1, between: [B, C], start: "07:00", end: "%s"}\n'
    scn = toy(tmp_path, scn_extra="disruptions:\n" + closure % "07:30" + closure % "08:30")
    assert main(["validate", str(scn)]) == 2
    first = SCN.count("\n") + 2
    assert f"toy_scn.yaml:{first + 1}: disruptions[1].id: duplicate disruption id 'cut' (first defined at " \
           f"{scn}:{first})" in only_error(capsys)


# ---- text bounded in length -----------------------------------------------------------------------


@pytest.mark.parametrize(("net", "scn", "field", "limit"), [
    (("name_en: A,", "name_en: " + "x" * 100_000 + ","), None, "stations[0].name_en", 200),
    (("name: Line 1", "name: " + "x" * 201), None, "lines[0].name", 200),
    (("entry: [ticket_machines,", "entry: [" + "x" * 201 + ","), None, "station_defaults.entry[0]", 200),
    (("name: toy\n", "name: toy\ndescription: " + "x" * 10_001 + "\n"), None, "description", 10_000),
    (None, ("name: toy", "name: toy\ndescription: " + "x" * 10_001), "description", 10_000),
    (None, ("name: toy", "name: " + "x" * 65), "name", 64),
])
def test_text_length_is_bounded(tmp_path, capsys, net, scn, field, limit):
    t0 = time.perf_counter()
    assert main(["validate", str(toy(tmp_path, net, scn))]) == 2  # a 100,000-character name took 171 s to run
    assert time.perf_counter() - t0 < 15  # generous: a loaded machine, and a bound, not a benchmark
    line = only_error(capsys)  # one problem: not also "or else a walk" for a step
    assert f"{field}: String should have at most {limit} characters (this one has " in line


# ---- text drawn as written ------------------------------------------------------------------------


def test_charts_draw_names_as_written(tmp_path):
    odd = {"A": ODD, "B": "$$", "C": "back\\\\slash", "D": "_^{}", "E": "$x^2$ and $", "F": r"\$"}
    net = NET.replace("name: Line 1", f"name: '{ODD} $$ _^{{}}'")
    for sid, name in odd.items():
        net = net.replace(f"name_en: {sid},", f"name_en: '{name}',")
    (tmp_path / "toy_net.yaml").write_text(net, encoding="utf-8")
    (tmp_path / "toy_scn.yaml").write_text(SCN, encoding="utf-8")
    result = run(load_scenario(tmp_path / "toy_scn.yaml", {"demand.total": 300}))
    view = RunView.of_result(result, label=ODD)
    charts = all_charts(view, tmp_path / "plots")  # failed in mathtext after the whole simulation
    assert len(charts) >= 8 and all(path.stat().st_size > 1000 for path, _ in charts)


def test_chart_text_is_never_mathtext(tmp_path):
    fig = plotting.travel_time_cdfs({ODD: {"$$": np.arange(1.0, 100.0), "_^{}": np.arange(5.0, 50.0)}})
    plotting.save(fig, tmp_path / "cdf.png")
    table = pd.DataFrame({"mean": [1.0, 2.0], "ci_low": [0.5, 1.5], "ci_high": [1.5, 2.5],
                          "dim:x": [ODD, "$y$"], "num:x": [np.nan, np.nan]})
    fig = plotting.kpi_by_dimension(table, ODD, "x", [], ODD)
    plotting.save(fig, tmp_path / "sweep.png")
    texts = [t for t in fig.findobj(lambda a: hasattr(a, "get_parse_math")) if t.get_text()]
    assert any(t.get_text() == ODD for t in texts) and not any(t.get_parse_math() for t in texts)


def test_every_chart_function_draws_text_as_written():
    charts = [name for name in plotting.__all__ if name[0].islower() and name not in ("clock_label", "path_sections",
                                                                                      "save")]
    assert len(charts) == 20
    for name in charts:
        assert getattr(getattr(plotting, name), "__wrapped__", None) is not None, f"{name} is not @styled"


# ---- plausibility ---------------------------------------------------------------------------------


def test_empty_station_selector_is_refused(tmp_path, capsys):
    scn = toy(tmp_path, scn=("generator: {}", "generator: {origins: {lines: []}}"))
    assert main(["validate", str(scn)]) == 2
    line = only_error(capsys)
    assert "toy_scn.yaml:14: demand.segments[0].generator.origins.lines: an empty list selects every station" in line


def warnings_of(path: Path, caplog, overrides: dict | None = None) -> list[str]:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sim"):
        scn = load_scenario(path, overrides)
    assert [r.getMessage() for r in caplog.records] == list(scn.warnings)  # shown when loaded
    return list(scn.warnings)


def test_implausibly_short_service_time_is_a_warning(tmp_path, caplog):
    scn = toy(tmp_path, net=("service: {dist: exponential, mean_s: 5}", "service: {dist: exponential, mean_s: 1e-300}"))
    [w] = warnings_of(scn, caplog)
    assert w.startswith(f"{tmp_path / 'toy_net.yaml'}:25: operators[0].station_defaults.facilities.security.service"
                        ".mean_s: a mean service time of 1e-300 s is implausibly short (below 0.1 s")


def test_implausible_value_of_time_is_a_warning(tmp_path, caplog):
    [w] = warnings_of(toy(tmp_path), caplog, {"routing.value_of_time_cny_per_h": 1e-300})
    assert w.startswith("--set routing.value_of_time_cny_per_h: routing.value_of_time_cny_per_h: a value of time "
                        "of 1e-300 CNY/h is implausibly small (commuters' values of time lie within about 5 to 500")
    [w] = warnings_of(toy(tmp_path, scn=("seed: 1", "seed: 1\nrouting: {value_of_time_cny_per_h: 9000}")), caplog)
    assert "toy_scn.yaml:5: routing.value_of_time_cny_per_h: a value of time of 9000 CNY/h is implausibly large" in w


def test_station_far_from_its_line_is_a_warning(tmp_path, caplog):
    scn = toy(tmp_path, net=("name_en: D, lat: 31.0", "name_en: D, lat: 0.0"))
    [w] = warnings_of(scn, caplog)
    assert w.startswith(f"{tmp_path / 'toy_net.yaml'}:33: stations[3].lat: station D at (0, 121.06) lies 3,447.0 km "
                        "in a straight line from C, its nearest neighbour on line L1, whose km posts are 2 km apart")


def test_shipped_and_toy_scenarios_validate_without_input_warnings(tmp_path):
    root = Path(__file__).resolve().parents[2]
    for path in [toy(tmp_path), *sorted((root / "scenarios").glob("*.yaml"))]:
        if "sweep" not in path.name:
            assert load_scenario(path).warnings == (), path
