"""The charts of a sweep (each KPI of the sweep file against each swept dimension, with 95 %
confidence bands, and a heat map per KPI when the sweep has exactly two dimensions) and its report
(report.html, drawn by sim.report.sweep, and points.csv), named in readable words and units
(results.kpi_words).

    charts = sweep_charts(sweep, points, out / "plots")
    written = write_sweep_report(sweep, points, charts, out)
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from .. import plotting
from ..report.charts import Chart, Job, chart_job, render
from ..report.sweep import SweepFacts, sweep_report
from .results import kpi_label, kpi_words, readable_points
from .spec import Sweep


def dimension_paths(sweep: Sweep) -> dict[str, list[str]]:
    """Each swept dimension's name (as the points' coordinates name it) and the parameter paths it varies."""
    out: dict[str, list[str]] = {}
    for path in sweep.model.grid:
        out.setdefault(path.rsplit(".", 1)[-1], []).append(path)
    for group in sweep.model.zip:
        params = [p for p in group if p != "label"]
        out.setdefault("+".join(dict.fromkeys(p.rsplit(".", 1)[-1] for p in params)), []).extend(params)
    for path in sweep.model.sample.ranges if sweep.model.sample else ():
        out.setdefault(path.rsplit(".", 1)[-1], []).append(path)
    return out


def _table(sweep: Sweep, points: pd.DataFrame, kpi: str) -> pd.DataFrame:
    """One row per point for `kpi`: mean and interval (in the KPI's readable unit) and the point's coordinates."""
    rows = points[points["kpi"] == kpi].set_index("point")
    factor = kpi_words(kpi)[2]
    out = []
    for p in sweep.points:
        if p.id not in rows.index:
            continue
        r = rows.loc[p.id]
        cell = {"point": p.id, "mean": r["mean"] * factor, "ci_low": r["ci_low"] * factor,
                "ci_high": r["ci_high"] * factor}
        for name, label, number in p.coords:
            cell[f"dim:{name}"], cell[f"num:{name}"] = label, float("nan") if number is None else number
        out.append(cell)
    return pd.DataFrame(out)


def _slice(sweep: Sweep, table: pd.DataFrame, dim: str, dims: list[str]) -> tuple[pd.DataFrame, list[str], str]:
    """The rows and line dimensions of the chart of `dim`: one line per combination of the other
    dimensions when there are at most MAX_SERIES of them; otherwise one line per value of the other
    dimension with the most values (up to MAX_SERIES), the remaining dimensions held at the reference
    point's values. Also the caption's words for what is held fixed."""
    others = [d for d in dims if d != dim]
    count = {d: table[f"dim:{d}"].nunique() for d in others}
    if int(np.prod([count[d] for d in others])) <= plotting.MAX_SERIES:
        return table, others, ""
    fitting = [d for d in others if count[d] <= plotting.MAX_SERIES]
    lines = [max(fitting, key=lambda d: count[d])] if fitting else []
    held = {name: lab for name, lab, _ in sweep.reference.coords if name not in (dim, *lines)}
    keep = np.logical_and.reduce([table[f"dim:{d}"].astype(str) == lab for d, lab in held.items()])
    words = ", ".join(f"{d} = {lab}" for d, lab in held.items())
    return table[keep], lines, f" ({words}, as at the reference point {sweep.reference.id})"


def sweep_charts(sweep: Sweep, points: pd.DataFrame, out_dir: Path) -> list[Chart]:
    """Draw the sweep's charts into out_dir; the files with their captions."""
    dims = [name for name, _, _ in sweep.points[0].coords] if sweep.points else []
    varied = dimension_paths(sweep)
    jobs: list[Job] = []
    for kpi in sweep.model.kpis:
        if not (points["kpi"] == kpi).any():
            continue
        table, label, slug = _table(sweep, points, kpi), kpi_label(kpi), kpi.replace(".", "_")
        words = kpi_words(kpi)[0]
        for dim in dims:
            rows, lines, held = _slice(sweep, table, dim, dims)
            title = f"{sweep.model.name}: {words} by {dim}" + (f"\n{held.strip(' ()')}" if held else "")
            jobs.append(chart_job(partial(plotting.kpi_by_dimension, rows, label, dim, lines, title),
                                  out_dir / f"{slug}_by_{dim}.png",
                                  f"{label} by {dim} ({', '.join(varied.get(dim, [dim]))}): mean over replications "
                                  f"with its 95 % confidence band" + (f", one line per {', '.join(lines)}" if lines
                                                                      else "") + held + f". KPI: {kpi}."))
        if len(dims) == 2:
            jobs.append(chart_job(partial(plotting.kpi_heatmap, table, label, dims[0], dims[1],
                                          f"{sweep.model.name}: {words}"), out_dir / f"{slug}_heatmap.png",
                f"{label} over {dims[0]} and {dims[1]} (means over replications). KPI: {kpi}."))
    return render(jobs)


def write_sweep_report(sweep: Sweep, points: pd.DataFrame, charts: list[Chart], out: Path) -> list[Path]:
    """Write points.csv (results.readable_points) and report.html into the sweep directory `out`,
    after its charts; the runs that failed are read from out/summary.parquet when it is there.
    Returns the two files."""
    table = readable_points(sweep, points)
    table.to_csv(out / "points.csv", index=False, float_format="%.6g")
    summary = pd.read_parquet(out / "summary.parquet") if (out / "summary.parquet").is_file() else None
    m = sweep.model
    values = {name: list(dict.fromkeys(lab for p in sweep.points for n, lab, _ in p.coords if n == name))
              for name in dimension_paths(sweep)}
    facts = SweepFacts(m.name, m.description, str(sweep.path), str(sweep.scenario_path), dict(m.set),
                       [(name, paths, values.get(name, [])) for name, paths in dimension_paths(sweep).items()],
                       [(p.id, p.label, dict(p.values)) for p in sweep.points], m.replications, m.seed,
                       sweep.reference.id, [(kpi, kpi_label(kpi)) for kpi in m.kpis])
    sweep_report(facts, table, summary, charts, out / "report.html")
    return [out / "report.html", out / "points.csv"]
