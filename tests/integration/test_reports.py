"""`plot`, `compare` and report.html on small toy runs: files, KPI differences checked by hand,
paired confidence intervals, and the report rendered in headless Chromium where it is installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import toynet as T
from sim.cli import main
from sim.report.compare import difference_ci, kpi_table, load_run_set
from sim.report.view import RunView

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def toy(tmp: Path, headway: float, name: str, exit_walk_s: float = 30.0) -> Path:
    stops = [("A", 0.0), ("B", 2.0), ("C", 4.0)]
    gate = {"kind": "gate", "servers": 2, "service": {"dist": "exponential", "mean_s": 2.0}}
    op = T.operator(facilities={"gates": gate}, entry=["gates", {"walk_s": 30}], exit=[{"walk_s": exit_walk_s}])
    net = T.network([T.station("A", 121.0), T.station("B", 121.02), T.station("C", 121.04)],
                    [T.line("L", stops, {"forward": T.headway("05:30", "10:00", headway),
                                         "backward": T.headway("05:30", "10:00", headway)})], operators=[op])
    scn = T.scenario(600, ["A", "B", "C"], ["A", "B", "C"], start="06:00", end="08:00", sim_end="09:00")
    scn["name"] = name
    scn["demand"]["groups"] = {"from_a": {"from": {"stations": ["A"]}, "to": {"stations": ["B", "C"]}}}
    T.write(tmp / name, net, scn)
    return tmp / name / "scn.yaml"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("reports")
    out = {}
    for name, h in (("base", 300.0), ("fast", 240.0)):
        scn = toy(tmp, h, name)
        assert main(["run", str(scn), "--out", str(tmp / f"run_{name}"), "--quiet"]) == 0
        assert main(["run", str(scn), "--out", str(tmp / f"reps_{name}"), "--quiet", "--replications", "4",
                     "--no-plots"]) == 0
        out[name] = tmp / f"run_{name}"
        out[f"reps_{name}"] = tmp / f"reps_{name}"
    scn = toy(tmp, 300.0, "long_exit", exit_walk_s=90.0)
    assert main(["run", str(scn), "--out", str(tmp / "reps_long_exit"), "--quiet", "--replications", "4",
                 "--no-plots"]) == 0
    out["reps_long_exit"] = tmp / "reps_long_exit"
    out["tmp"] = tmp
    return out


def test_run_writes_charts_and_a_report(runs):
    run = runs["base"]
    assert (run / "report.html").is_file()
    pngs = {p.name for p in (run / "plots").glob("*.png")}
    assert {"travel_time_distribution.png", "load_profile_L.png", "marey_L.png", "network_map.png"} <= pngs
    html = (run / "report.html").read_text(encoding="utf-8")
    assert html.count("<img src=\"data:image/png;base64,") == len(pngs)
    trips = pd.read_parquet(run / "trips.parquet")
    assert trips["group_from_a"].dtype == bool and trips["group_from_a"].any()
    assert list(pd.read_parquet(run / "stations.parquet")["station"]) == ["A", "B", "C"]
    peak = json.loads((run / "summary.json").read_text(encoding="utf-8"))["windows"]["peak_hour"]
    lines = json.loads((run / "lines.geojson").read_text(encoding="utf-8"))
    assert {f["properties"]["window"] for f in lines["features"]} == {
        f"{int(peak['from_s'] // 3600):02d}:{int(peak['from_s'] % 3600 // 60):02d}-"
        f"{int(peak['to_s'] // 3600):02d}:{int(peak['to_s'] % 3600 // 60):02d}"}
    assert len(json.loads((run / "stations.geojson").read_text(encoding="utf-8"))["features"]) == 3


def test_plot_for_a_window_and_lines(runs, capsys):
    out = runs["tmp"] / "plot_window"
    assert main(["plot", str(runs["base"]), "--window", "07:00-07:30", "--lines", "L", "--out", str(out)]) == 0
    names = {p.name for p in out.glob("*.png")}
    assert {"boardings_L.png", "crowding_L_up.png", "crowding_L_down.png", "queues.png"} <= names
    assert (out / "report.html").is_file()
    assert main(["plot", str(runs["base"]), "--window", "07:30-07:00"]) == 2
    assert "--window" in capsys.readouterr().err
    assert main(["plot", str(runs["base"]), "--lines", "Q"]) == 2


def test_named_kpi_windows(runs, capsys):
    scn = runs["tmp"] / "base" / "scn.yaml"
    out = runs["tmp"] / "windows"
    assert main(["run", str(scn), "--out", str(out), "--quiet", "--set", "kpis.windows.early=[06:00, '06:45']"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    trips = pd.read_parquet(out / "trips.parquet")
    inside = trips[(trips["t_depart"] >= 6 * 3600) & (trips["t_depart"] < 6.75 * 3600)]
    early = summary["windows"]["early"]
    assert (early["from_s"], early["to_s"]) == (21600.0, 24300.0)
    assert early["commuters"] == len(inside)
    assert early["travel_time_mean_s"] == pytest.approx(inside["travel_time_s"].mean(), abs=0.05)
    assert "early 06:00\u201306:45" in (out / "report.html").read_text(encoding="utf-8")
    for bad, words in (("kpis.windows.peak_hour=[06:00, '07:00']", "'peak_hour' is the busiest hour"),
                       ("kpis.windows.late=['07:00', 06:00]", "the end must be after the start")):
        assert main(["run", str(scn), "--out", str(runs["tmp"] / "bad"), "--quiet", "--set", bad]) == 2
        err = capsys.readouterr().err
        assert words in err and "--set kpis.windows" in err


def test_charts_count_the_commuters_the_kpis_count(runs):
    scn = runs["tmp"] / "base" / "scn.yaml"
    out = runs["tmp"] / "warm"
    assert main(["run", str(scn), "--out", str(out), "--quiet", "--no-plots", "--set", "period.warm_up_until=06:30"]) == 0
    view = RunView.of_run_dir(load_run_set(out).reps[0])
    summary = view.summary
    assert summary["warm_up"]["commuters_excluded"] > 0
    assert len(view.kpi_trips()) == summary["commuters"] < len(view.trips)
    assert len(view.kpi_trips("from_a")) == summary["groups"]["from_a"]["commuters"]
    arrived = view.kpi_trips()
    arrived = arrived[arrived["status"] == "arrived"]
    assert arrived["travel_time_s"].mean() == pytest.approx(summary["travel_time_mean_s"], abs=0.05)


def test_compare_table_has_the_differences(runs):
    out = runs["tmp"] / "cmp"
    assert main(["compare", str(runs["base"]), str(runs["fast"]), "--out", str(out)]) == 0
    a = json.loads((runs["base"] / "summary.json").read_text(encoding="utf-8"))
    b = json.loads((runs["fast"] / "summary.json").read_text(encoding="utf-8"))
    table = pd.read_csv(out / "kpis.csv").set_index("kpi")
    row = table.loc["wait_mean_s"]
    assert row["base"] == pytest.approx(a["wait_mean_s"], abs=0.06)
    assert row["fast - base"] == pytest.approx(b["wait_mean_s"] - a["wait_mean_s"], abs=0.1)
    md = (out / "kpis.md").read_text(encoding="utf-8")
    wait_row = next(line for line in md.splitlines() if line.startswith("| wait (min)"))
    cells = [c.strip() for c in wait_row.strip("|").split("|")]
    assert cells[1] == f"{a['wait_mean_s'] / 60:.2f}" and cells[2] == f"{b['wait_mean_s'] / 60:.2f}"
    assert b["wait_mean_s"] < a["wait_mean_s"]  # shorter headway, shorter wait
    assert {p.name for p in (out / "plots").glob("*.png")} >= {
        "compare_travel_time.png", "compare_time_parts.png", "compare_fares.png", "compare_load_L.png",
        "compare_queues.png"}
    assert (out / "report.html").is_file()
    assert main(["compare", str(runs["base"]), str(runs["fast"]), "--out", str(out)]) == 2  # not empty


def test_paired_intervals_are_narrower_under_common_random_numbers(runs):
    """Same seeds, same commuters: a 60 s longer exit walk lengthens every trip by exactly 60 s, so the
    paired difference is exact while the unpaired (Welch) interval still carries the between-seed spread."""
    sets = [load_run_set(runs["reps_base"]), load_run_set(runs["reps_long_exit"])]
    assert sets[0].seeds == sets[1].seeds and len(sets[0].reps) == 4
    table = kpi_table(sets).set_index("kpi")
    column = "long_exit - base"
    assert table.loc["travel_time_mean_s", column] == pytest.approx(60.0, abs=0.01)
    half_paired = table.loc["travel_time_mean_s", column + " \u00b1"]
    a = np.asarray([r.summary["travel_time_mean_s"] for r in sets[0].reps])
    b = np.asarray([r.summary["travel_time_mean_s"] for r in sets[1].reps])
    _, half_unpaired = difference_ci(a, b, paired=False)
    assert half_unpaired > 1.0 and half_paired < 0.01
    # a real change of service (headway 300 s -> 240 s) still gets a finite paired interval
    table = kpi_table([load_run_set(runs["reps_base"]), load_run_set(runs["reps_fast"])]).set_index("kpi")
    assert np.isfinite(table.loc["wait_mean_s", "fast - base \u00b1"])


def test_plot_of_replications_reports_their_means(runs):
    out = runs["tmp"] / "plot_reps"
    assert main(["plot", str(runs["reps_base"]), "--out", str(out)]) == 0
    reps = load_run_set(runs["reps_base"]).reps
    view = RunView.pooled(reps)
    mean = np.mean([r.summary["travel_time_mean_s"] for r in reps])
    assert view.summary["travel_time_mean_s"] == pytest.approx(mean)
    assert len(view.trips) == sum(len(r.trips) for r in reps)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "mean over 4 replications" in html and f"<td>{mean / 60:.1f}</td>" in html


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)")
def test_report_renders_in_headless_chromium(runs):
    for report in (runs["base"] / "report.html", runs["tmp"] / "cmp" / "report.html"):
        if not report.exists():
            pytest.skip("the compare test did not run")
        done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                               "--no-first-run", "--disable-background-networking", "--disable-component-update",
                               "--disable-sync", f"--user-data-dir={runs['tmp'] / 'chromium'}",
                               "--virtual-time-budget=5000", "--dump-dom", report.as_uri()],
                              capture_output=True, text=True, timeout=120)
        dom = done.stdout
        m = re.search(r'data-images="(\d+)/(\d+)"', dom)
        assert m and m.group(1) == m.group(2) and int(m.group(2)) > 0, report
        assert dom.count("<table") >= 1 and "data-loaded=\"no\"" not in dom
