"""Sweeps: expansion (grid, zip, sampling) with deterministic ids, mistakes named in the sweep file,
the same summary on one worker, two workers and a Dask local cluster, resume after an interruption,
a failing point recorded while the others complete, confidence intervals against a hand
computation, and paired differences narrower than unpaired ones under common random numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.errors import UserError
from sim.sweep import load_sweep, run_sweep
from sim.sweep.spec import SampleSpec, SweepFile, expand, sample
from sweep_files import GATES, sweep_file

EXIT_WALK = "changes.operators.OP.station_defaults.exit"
HEADWAYS = "changes.lines.L.patterns.all.timetable.forward.headways"


def headway(h: float) -> list[dict]:
    return [{"from": "05:30", "headway_s": h}]


# --------------------------------------------------------------------------------------------------
# expansion


def test_grid_and_zip_expand_to_their_product_with_stable_ids():
    model = SweepFile.model_validate({
        "name": "s", "scenario": "x.yaml", "grid": {"a.b": [1, 2, 3]},
        "zip": [{"label": ["slow", "fast"], "c.d": [10, 20], "e": ["x", "y"]}]})
    points = expand(model, seed=1)
    assert [p.id for p in points] == ["p000", "p001", "p002", "p003", "p004", "p005"]
    assert [p.values for p in points[:2]] == [{"a.b": 1, "c.d": 10, "e": "x"}, {"a.b": 1, "c.d": 20, "e": "y"}]
    assert points[5].values == {"a.b": 3, "c.d": 20, "e": "y"} and points[5].label == "b=3, d+e=fast"
    assert points == expand(model, seed=99)  # no sampling: the seed does not matter


@pytest.mark.parametrize("method", ["lhs", "random"])
def test_sampling_is_seeded_within_ranges_and_latin_for_lhs(method):
    spec = SampleSpec.model_validate({"method": method, "count": 20, "ranges": {"x": [0, 10], "n": [1, 5]},
                                      "integer": ["n"]})
    draws = sample(spec, seed=7)
    assert draws == sample(spec, seed=7) and draws != sample(spec, seed=8)
    x = np.asarray([d["x"] for d in draws])
    assert ((x >= 0) & (x <= 10)).all() and all(isinstance(d["n"], int) and 1 <= d["n"] <= 5 for d in draws)
    if method == "lhs":  # one draw in each of the 20 strata of every range
        assert sorted(np.floor(x / 0.5).astype(int).tolist()) == list(range(20))


def test_runs_are_points_times_replications(tmp_path):
    s = load_sweep(sweep_file(tmp_path, grid={GATES: [1, 2]}, replications=3))
    assert [r.id for r in s.runs()] == [f"p00{p}-r00{r}" for p in (0, 1) for r in (0, 1, 2)]


@pytest.mark.parametrize("fields, where, words", [
    ({"grid": {GATES: []}}, "grid.", "at least 1 item"),
    ({"grid": {"demand.totl": [1, 2]}}, "grid.demand.totl", "is not a parameter of the scenario"),
    ({"zip": [{"a": [1, 2], "b": [1]}]}, "zip", "one length"),
    ({"grid": {GATES: [1, 2]}, "reference": {GATES: 3}}, "reference", "no point has these parameter values"),
    ({}, "", "the sweep varies nothing"),
])
def test_mistakes_name_the_sweep_file_and_line(tmp_path, fields, where, words):
    path = sweep_file(tmp_path, **fields)
    with pytest.raises(UserError) as err:
        load_sweep(path)
    text = str(err.value.problems[0])
    assert text.startswith(f"{path}:") and where in text and words in text


# --------------------------------------------------------------------------------------------------
# running


@pytest.mark.slow  # starts process pools and a Dask cluster: make test-all
def test_same_summary_on_one_two_and_dask_workers(tmp_path):
    s = load_sweep(sweep_file(tmp_path, grid={GATES: [1, 3]},
                              zip=[{"label": ["5 min", "4 min"], HEADWAYS: [headway(300), headway(240)]}]))
    one = run_sweep(s, tmp_path / "one", workers=1)
    two = run_sweep(s, tmp_path / "two", workers=2)
    dask = run_sweep(s, tmp_path / "dask", workers=2, scheduler="local")
    assert len(one) == 8 and (one["status"] == "ok").all()
    for other in (two, dask, pd.read_parquet(tmp_path / "dask" / "summary.parquet")):
        pd.testing.assert_frame_equal(one.drop(columns="wall_s"), other.drop(columns="wall_s"), check_dtype=False)
    assert (tmp_path / "one" / "points.parquet").is_file() and any((tmp_path / "one" / "plots").glob("*.png"))
    assert (tmp_path / "one" / "runs" / "p000-r000" / "summary.json").is_file()
    assert not (tmp_path / "one" / "runs" / "p000-r000" / "trips.parquet").exists()  # keep_tables: false


def test_resume_finishes_without_rerunning(tmp_path):
    s = load_sweep(sweep_file(tmp_path, grid={GATES: [1, 2, 3]}))
    out = tmp_path / "out"
    seen = []

    def stop_after_two(done, failed, total):
        seen.append(done)
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(s, out, progress=stop_after_two)
    assert not (out / "summary.parquet").exists()  # an interrupted sweep does not look complete
    first = {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    assert len(first) == 2
    with pytest.raises(UserError, match="--resume"):
        run_sweep(s, out)
    summary = run_sweep(s, out, resume=True)
    assert len(summary) == 6 and (summary["status"] == "ok").all()
    assert {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir() if p.name in first} == first
    import json
    assert json.loads((out / "manifest.json").read_text())["runs_this_time"] == 4


def test_a_failing_point_is_recorded_and_the_others_complete(tmp_path):
    s = load_sweep(sweep_file(tmp_path, grid={GATES: [2, -1]}))
    summary = run_sweep(s, tmp_path / "out")
    failed = summary[summary["status"] == "failed"]
    assert set(failed["point"]) == {"p001"} and len(failed) == 2
    assert failed["error"].str.contains("servers").all()
    assert (summary.loc[summary["point"] == "p000", "status"] == "ok").all()
    points = pd.read_parquet(tmp_path / "out" / "points.parquet")
    assert (points.loc[points["point"] == "p001", "n"] == 0).all()


def test_intervals_against_a_hand_computation_and_paired_differences(tmp_path):
    # an exit walk 60 s longer lengthens every trip by exactly 60 s: the paired difference is exact,
    # while the spread between seeds stays in each point's own interval
    s = load_sweep(sweep_file(tmp_path, replications=4, grid={EXIT_WALK: [[{"walk_s": 30}], [{"walk_s": 90}]]}))
    summary = run_sweep(s, tmp_path / "out")
    points = pd.read_parquet(tmp_path / "out" / "points.parquet").set_index(["point", "kpi"])
    x = summary.loc[summary["point"] == "p000", "travel_time_mean_s"].to_numpy()
    half = stats.t.ppf(0.975, 3) * x.std(ddof=1) / math.sqrt(4)
    row = points.loc[("p000", "travel_time_mean_s")]
    assert row["mean"] == pytest.approx(x.mean()) and row["ci_high"] - row["mean"] == pytest.approx(half)
    far = points.loc[("p001", "travel_time_mean_s")]
    assert far["diff"] == pytest.approx(60.0, abs=0.1)
    assert far["diff_high"] - far["diff_low"] < 0.2 < 2 * half  # paired: exact; unpaired: the seeds' spread


def test_compare_takes_sweep_points(tmp_path):
    from sim.cli import main

    s = load_sweep(sweep_file(tmp_path, replications=3, grid={EXIT_WALK: [[{"walk_s": 30}], [{"walk_s": 90}]]}))
    run_sweep(s, tmp_path / "out")
    assert main(["compare", str(tmp_path / "out" / "p000"), str(tmp_path / "out" / "p001"),
                 "--out", str(tmp_path / "cmp")]) == 0
    table = pd.read_csv(tmp_path / "cmp" / "kpis.csv").set_index("kpi")
    points = pd.read_parquet(tmp_path / "out" / "points.parquet").set_index(["point", "kpi"])
    diff_col = next(c for c in table.columns if c.startswith("p001") and "-" in c and not c.endswith("\u00b1"))
    assert table.loc["travel_time_mean_s", diff_col] == pytest.approx(points.loc[("p001", "travel_time_mean_s"), "diff"])
    assert (tmp_path / "cmp" / "report.html").is_file()



def test_charts_of_three_dimensions_hold_the_third_at_the_reference(tmp_path):
    # 3 x 3 x 3 points: nine combinations of the other two dimensions are too many lines, so each chart
    # draws one line per value of one of them and holds the last at the reference point's value
    from sim.sweep.charts import _slice, _table

    walks = [[{"walk_s": w}] for w in (30, 60, 90)]
    s = load_sweep(sweep_file(tmp_path, grid={"demand.total": [100, 200, 300], GATES: [1, 2, 3], EXIT_WALK: walks},
                              reference={"demand.total": 200, GATES: 2, EXIT_WALK: walks[1]}))
    dims = [name for name, _, _ in s.points[0].coords]
    assert len(s.points) == 27 and s.reference.id == "p013" and len(dims) == 3
    rows = pd.DataFrame([{"point": p.id, "kpi": "k", "mean": float(i), "ci_low": i - 1.0, "ci_high": i + 1.0}
                         for i, p in enumerate(s.points)])
    table = _table(s, rows, "k")
    sliced, lines, held = _slice(s, table, dims[0], dims)
    assert lines == [dims[1]] and held.startswith(f" ({dims[2]} = ") and held.endswith("reference point p013)")
    assert sorted(sliced["mean"]) == [1, 4, 7, 10, 13, 16, 19, 22, 25]  # the middle value of the last dimension
    small = load_sweep(sweep_file(tmp_path, grid={"demand.total": [100, 200], GATES: [1, 2, 3]}))
    table = _table(small, rows.iloc[:6], "k")
    dims = [name for name, _, _ in small.points[0].coords]
    sliced, lines, held = _slice(small, table, dims[0], dims)
    assert len(sliced) == 6 and lines == [dims[1]] and held == ""  # three lines: all points drawn
