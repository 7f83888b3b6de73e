"""What the charts and reports show, on toy runs: the load profile of an express route lists every
station it serves; `plot` honours --window and --lines or says where it does not, and refuses a
window outside the run; the run report states what was run (scenario, description, file,
overrides, seed, replications, engine) and the policies and disruptions in force; a comparison has
its difference views and warns when it is not like for like; a sweep writes report.html and
points.csv. Every report is checked in headless Chromium where it is installed and, always, by
parsing its HTML (every image a PNG embedded as a data URI)."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml

import toynet as T
from sim import plotting
from sim.cli import main
from sim.report.compare import load_run_set
from sim.report.view import RunView
from sim.sweep import load_sweep, run_sweep

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
EXPRESS = "ABCDEF"


def express_toy(tmp: Path, operations: str) -> Path:
    """Line EX, A-F every 2 km, run only by limited-stop trains (x1 skips B and D, x2 skips C and E,
    both ways every 10 min); line M, G-H-I, closed H-I 06:40-07:10; commuters from A and F to every
    station of EX and from G to I; a named group from A."""
    stops = [(s, 2.0 * k) for k, s in enumerate(EXPRESS)]
    tt = {"forward": T.headway("05:30", "10:00", 600), "backward": T.headway("05:35", "10:00", 600)}
    tt2 = {"forward": T.headway("05:35", "10:00", 600), "backward": T.headway("05:30", "10:00", 600)}
    ex = T.line("EX", stops, {}, patterns=[{"id": "x1", "stops": ["A", "F"], "skip": ["B", "D"], "timetable": tt},
                                          {"id": "x2", "stops": ["A", "F"], "skip": ["C", "E"], "timetable": tt2}])
    m = T.line("M", [("G", 0.0), ("H", 2.0), ("I", 4.0)], {"forward": T.headway("05:30", "10:00", 300)})
    stations = [T.station(s, 121.0 + 0.02 * k) for k, s in enumerate(EXPRESS)]
    stations += [T.station(s, 121.0 + 0.02 * k, lat=31.1) for k, s in enumerate("GHI")]
    net = T.network(stations, [ex, m])
    scn = T.scenario(600, ["A", "F"], list(EXPRESS), start="06:00", end="08:00", sim_end="09:00",
                     operations=operations)
    scn["demand"]["segments"][0]["share"] = 0.8
    scn["demand"]["segments"].append({**scn["demand"]["segments"][0], "name": "m", "share": 0.2,
                                      "generator": {"origins": {"stations": ["G"]},
                                                    "destinations": {"stations": ["I"]}}})
    scn["demand"]["groups"] = {"from_a": {"from": {"stations": ["A"]}, "to": {"stations": list(EXPRESS[1:])}}}
    scn["disruptions"] = [{"id": "hi", "line": "M", "between": ["H", "I"], "start": "06:40", "end": "07:10"}]
    scn["name"] = f"express_{operations}"
    scn["description"] = "Limited-stop trains <b>only</b> & a closure"   # markup stays text
    T.write(tmp / operations, net, scn)
    return tmp / operations / "scn.yaml"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("contents")
    out = {"tmp": tmp}
    for ops in ("timetable", "dynamic"):
        scn = express_toy(tmp, ops)
        out[ops] = tmp / f"run_{ops}"
        assert main(["run", str(scn), "--out", str(out[ops]), "--quiet"]) == 0
    scn = tmp / "dynamic" / "scn.yaml"
    out["variant"] = tmp / "variant"
    assert main(["run", str(scn), "--out", str(out["variant"]), "--quiet", "--set", "demand.total=500"]) == 0
    out["same"] = tmp / "same_commuters"   # the same commuters, a longer dwell
    assert main(["run", str(scn), "--out", str(out["same"]), "--quiet", "--set", "changes.lines.EX.dwell_s=60"]) == 0
    for name, seed in (("reps", []), ("reps_seed", ["--seed", "9"])):
        out[name] = tmp / name
        assert main(["run", str(scn), "--out", str(out[name]), "--quiet", "--replications", "2", *seed]) == 0
    return out


# ---------------------------------------------------------------------------------------------------
# Load profiles of limited-stop routes


@pytest.mark.parametrize("operations", ["timetable", "dynamic"])
def test_the_express_route_load_profile_lists_every_station_it_serves(runs, operations):
    run = runs[operations]
    view = RunView.of_run_dir(load_run_set(run).reps[0])
    assert view.paths("EX") == [list(EXPRESS)]   # one route: the stations the trains stop at or pass
    assert sorted(p.name for p in (run / "plots").glob("*EX*.png")) == ["load_profile_EX.png", "marey_EX.png"]
    t0, t1 = view.peak_hour
    trains = pd.read_parquet(run / "trains.parquet")
    ex = trains[(trains["line"].astype(str) == "EX") & (trains["t_depart"] >= t0) & (trains["t_arrive"] < t1)]
    served = set(ex.loc[ex["stops"].astype(bool), "station"].astype(str)) if "stops" in ex else set(ex["station"])
    assert served == set(EXPRESS)
    up, down = plotting.line_load_profile(view.trains, "EX", view.paths("EX")[0], view.names, t0, t1).axes
    assert [t.get_text() for t in up.get_xticklabels()] == list(EXPRESS)
    assert [t.get_text() for t in down.get_xticklabels()] == list(EXPRESS[::-1])
    marey = plotting.marey_diagram(view.trains, "EX", view.km("EX", list(EXPRESS)), view.names, t0, t1,
                                   service_names=view.service_names)
    trains_shown = int(re.search(r"\((\d+) trains\)", marey.axes[0].get_title()).group(1))
    counted = sum(int(re.search(r": (\d+) trains", ax.get_title()).group(1)) for ax in (up, down))
    assert counted >= trains_shown - 2   # every train of the hour has a departure in one panel (edges aside)
    legend = [t.get_text() for t in marey.legends[0].get_texts()]
    assert "A \u2192 F, not stopping at B and D" in legend and not any(".x1." in t for t in legend)


# ---------------------------------------------------------------------------------------------------
# plot: window and lines


def test_plot_honours_window_and_lines_and_refuses_a_window_outside_the_run(runs, capsys):
    run = runs["dynamic"]
    assert main(["plot", str(run), "--window", "13:00-14:00", "--out", str(runs["tmp"] / "late")]) == 2
    err = capsys.readouterr().err
    assert "--window" in err and "outside the simulated period" in err and not (runs["tmp"] / "late").exists()
    out = runs["tmp"] / "plot_ex"
    assert main(["plot", str(run), "--window", "06:30-07:30", "--lines", "EX", "--out", str(out)]) == 0
    names = {p.name for p in out.glob("*.png")}
    assert {"crowding_EX_up.png", "queues.png", "network_map.png"} <= names and not any("_M" in n for n in names)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "over 06:30\u201307:30" in html   # heat maps and queues over the window asked for
    assert "only lines EX (as asked) carry loads" in html and "stations of lines EX" in html
    assert "whatever the window and lines asked for" in html   # the travel-time charts say they do not apply


# ---------------------------------------------------------------------------------------------------
# Reports say what was run


def test_the_run_report_states_what_was_run_policies_and_disruptions(runs):
    html = (runs["variant"] / "report.html").read_text(encoding="utf-8")
    title = re.search(r"<h1>(.*?)</h1>", html).group(1)
    assert title == "Run report: express_dynamic \u2014 variant: --set demand.total=500"
    facts = _section(html, "What was run")
    assert "Limited-stop trains &lt;b&gt;only&lt;/b&gt; &amp; a closure" in facts   # escaped, never markup
    assert "scn.yaml" in facts and "--set demand.total=500" in facts and ">1</td>" in facts
    assert f"<td>{json.loads((runs['variant'] / 'manifest.json').read_text())['seed']}</td>" in facts
    assert "<td>bulk</td>" in facts
    policies = _section(html, "Policies in force")
    assert "Every operator accepts every payment medium." in policies and "Fare integration" in policies
    disruptions = _section(html, "Disruptions")
    assert "<td>hi</td><td>M</td><td>H \u2013 I</td><td>06:40</td><td>07:10</td>" in disruptions
    assert "put off a train cut short" in disruptions
    pooled = (runs["reps"] / "report.html").read_text(encoding="utf-8")
    assert "(replications 0\u20131)" in _section(pooled, "What was run")
    assert "2, pooled" in _section(pooled, "What was run")
    assert ".staging" not in pooled   # the folder it was written in is not the one it has
    plotted = runs["tmp"] / "plot_reps"
    assert main(["plot", str(runs["reps"]), "--out", str(plotted)]) == 0
    assert f"<code>{runs['reps']}</code>" in _section((plotted / "report.html").read_text(encoding="utf-8"),
                                                      "What was run")


def _section(html: str, heading: str) -> str:
    """The HTML of a report section, from its heading to the next."""
    start = html.index(f"<h2>{heading}</h2>")
    end = html.find("<h2>", start + 4)
    return html[start:end if end > 0 else len(html)]


# ---------------------------------------------------------------------------------------------------
# Comparisons show differences


def test_compare_shows_each_commuters_change_when_the_commuters_are_the_same(runs):
    out = runs["tmp"] / "cmp_same"
    assert main(["compare", str(runs["dynamic"]), str(runs["same"]), "--out", str(out)]) == 0
    names = {p.name for p in (out / "plots").glob("*.png")}
    assert {"compare_travel_time_change.png", "compare_time_parts_change.png"} <= names
    assert "compare_travel_time_percentiles.png" not in names
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Difference view: each commuter" in html and "Warning" not in html
    assert "<code>--set changes.lines.EX.dwell_s=60</code>" in _section(html, "What was compared")
    assert "Warning" not in (out / "kpis.md").read_text(encoding="utf-8")


def test_compare_warns_when_not_like_for_like_and_compares_percentiles(runs):
    out = runs["tmp"] / "cmp_mixed"
    assert main(["compare", str(runs["reps"]), str(runs["dynamic"]), str(runs["reps_seed"]), "--out", str(out)]) == 0
    md = (out / "kpis.md").read_text(encoding="utf-8")
    assert md.startswith("> **Warning:** Not like for like:") and "the mean of 2 replications" in md
    assert "other seeds" in md
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count('class="warning"') >= 4 and "Not like for like" in _section(html, "KPIs")
    assert (out / "plots" / "compare_travel_time_percentiles.png").is_file()
    assert "Difference view: change of travel-time percentiles" in html


# ---------------------------------------------------------------------------------------------------
# Sweeps end with a report


@pytest.fixture(scope="module")
def sweep(runs) -> Path:
    tmp = runs["tmp"] / "sweep"
    tmp.mkdir()
    shutil.copy(runs["tmp"] / "dynamic" / "net.yaml", tmp / "net.yaml")
    shutil.copy(runs["tmp"] / "dynamic" / "scn.yaml", tmp / "scn.yaml")
    data = {"schema_version": 1, "name": "toy_sweep", "description": "dwell x demand", "scenario": "scn.yaml",
            "replications": 2, "set": {"demand.total": 300},
            "zip": [{"label": ["short", "long"], "changes.lines.EX.dwell_s": [30, 60]}],
            "kpis": ["travel_time_mean_s", "groups.from_a.travel_time_mean_s", "denied_share"]}
    (tmp / "sweep.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    s = load_sweep(tmp / "sweep.yaml")
    run_sweep(s, tmp / "out", workers=1)
    from sim.sweep.charts import sweep_charts, write_sweep_report

    points = pd.read_parquet(tmp / "out" / "points.parquet")
    written = write_sweep_report(s, points, sweep_charts(s, points, tmp / "out" / "plots"), tmp / "out")
    assert written == [tmp / "out" / "report.html", tmp / "out" / "points.csv"]
    return tmp / "out"


def test_the_sweep_report_and_points_csv(sweep):
    table = pd.read_csv(sweep / "points.csv")
    assert list(table["point"]) == ["p000"] * 3 + ["p001"] * 3
    row = table[(table["point"] == "p001") & (table["kpi"] == "travel_time_mean_s")].iloc[0]
    assert row["name"] == "mean travel time" and row["unit"] == "min" and row["replications"] == 2
    points = pd.read_parquet(sweep / "points.parquet").set_index(["point", "kpi"])
    # points.csv writes 6 significant digits
    assert row["mean"] == pytest.approx(points.loc[("p001", "travel_time_mean_s"), "mean"] / 60, rel=1e-5)
    assert row["diff"] == pytest.approx(points.loc[("p001", "travel_time_mean_s"), "diff"] / 60, rel=1e-5)
    assert table.loc[table["kpi"] == "denied_share", "unit"].eq("%").all()
    assert table.loc[table["kpi"] == "groups.from_a.travel_time_mean_s", "name"].iloc[0] == \
        "from_a group: mean travel time"
    html = (sweep / "report.html").read_text(encoding="utf-8")
    swept = _section(html, "What was swept")
    assert "toy_sweep \u2014 dwell x demand" in swept and "<code>changes.lines.EX.dwell_s</code>" in swept
    assert "short, long" in swept and "4 runs, 4 complete, 0 failed" in swept
    assert "p000 (reference)" in _section(html, "Points")
    kpi = _section(html, "from_a group: mean travel time (min)")
    assert kpi.count("<tr>") == 3 and "\u2212 reference (p000)" in kpi
    assert html.count("<img ") == len(list((sweep / "plots").glob("*.png"))) > 0
    assert "groups.from_a" not in " ".join(re.findall(r"<figcaption>([^<]*)", html)).split("KPI:")[0]


# ---------------------------------------------------------------------------------------------------
# The reports as a browser shows them


class _Page(HTMLParser):
    """The images (src) and the visible text of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs).get("src", ""))
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def _check_page(report: Path, must_say: list[str], tmp: Path) -> None:
    page = _Page()
    page.feed(report.read_text(encoding="utf-8"))
    text = " ".join(" ".join(page.text).split())
    assert page.images, report
    for src in page.images:
        assert src.startswith("data:image/png;base64,"), src[:40]
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    for words in must_say:
        assert words in text, (report, words)
    if CHROMIUM is None:
        return
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={tmp / 'chromium'}", "--virtual-time-budget=5000", "--dump-dom",
                           report.as_uri()], capture_output=True, text=True, timeout=120)
    dom = done.stdout
    m = re.search(r'data-images="(\d+)/(\d+)"', dom)
    assert m and m.group(1) == m.group(2) == str(len(page.images)), report
    assert 'data-loaded="no"' not in dom
    for words in must_say:
        assert words in " ".join(re.sub(r"<[^>]+>", " ", dom).split()), (report, words)


def test_every_report_in_a_browser(runs, sweep):
    seed = str(json.loads((runs["variant"] / "manifest.json").read_text())["seed"])
    _check_page(runs["variant"] / "report.html",
                ["What was run", "express_dynamic", "--set demand.total=500", f"seed {seed}", "engine bulk",
                 "Policies in force", "Disruptions"], runs["tmp"])
    _check_page(runs["reps"] / "report.html", ["replications 0\u20131", "2, pooled"], runs["tmp"])
    cmp = runs["tmp"] / "cmp_browser"
    assert main(["compare", str(runs["dynamic"]), str(runs["same"]), "--out", str(cmp)]) == 0
    _check_page(cmp / "report.html", ["What was compared", "--set changes.lines.EX.dwell_s=60", f"seed {seed}",
                                      "Difference view: each commuter"], runs["tmp"])
    _check_page(sweep / "report.html", ["What was swept", "toy_sweep", "--set demand.total=300", "reference point",
                                        "mean travel time (min)"], runs["tmp"])

