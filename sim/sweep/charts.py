"""The charts of a sweep: each KPI of the sweep file against each swept dimension, with 95 %
confidence bands, and a heat map per KPI when the sweep has exactly two dimensions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import plotting
from ..report.charts import Chart, Job, chart_job, render
from .spec import Sweep

KPI_WORDS = {"travel_time_mean_s": "mean travel time (min)", "travel_time_p95_s": "p95 travel time (min)",
             "wait_mean_s": "mean wait (min)", "transfer_mean_s": "mean transfer time (min)",
             "denied_share": "share denied boarding at least once", "fare_mean_cny": "mean fare (CNY)"}


def _label(kpi: str) -> str:
    head, _, last = kpi.rpartition(".")
    words = KPI_WORDS.get(last, last.replace("_", " "))
    return f"{head}: {words}" if head else words


def _table(sweep: Sweep, points: pd.DataFrame, kpi: str) -> pd.DataFrame:
    """One row per point for `kpi`: mean and interval (minutes for times) and the point's coordinates."""
    rows = points[points["kpi"] == kpi].set_index("point")
    scale = 60.0 if kpi.endswith("_s") else 1.0
    out = []
    for p in sweep.points:
        if p.id not in rows.index:
            continue
        r = rows.loc[p.id]
        cell = {"point": p.id, "mean": r["mean"] / scale, "ci_low": r["ci_low"] / scale, "ci_high": r["ci_high"] / scale}
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
    jobs: list[Job] = []
    for kpi in sweep.model.kpis:
        if not (points["kpi"] == kpi).any():
            continue
        table, label, slug = _table(sweep, points, kpi), _label(kpi), kpi.replace(".", "_")
        for dim in dims:
            rows, lines, held = _slice(sweep, table, dim, dims)
            jobs.append(chart_job(lambda rows=rows, dim=dim, lines=lines, held=held, label=label:
                                  plotting.kpi_by_dimension(rows, label, dim, lines,
                                                            f"{sweep.model.name}: {label} by {dim}" + (f"\n{held.strip(' ()')}" if held else "")),
                                  out_dir / f"{slug}_by_{dim}.png",
                                  f"{label} by {dim}: mean over replications with its 95 % confidence band"
                                  + (f", one line per {', '.join(lines)}" if lines else "") + held + "."))
        if len(dims) == 2:
            jobs.append(chart_job(lambda table=table, label=label: plotting.kpi_heatmap(
                table, label, dims[0], dims[1], f"{sweep.model.name}: {label}"), out_dir / f"{slug}_heatmap.png",
                f"{label} over {dims[0]} and {dims[1]} (means over replications)."))
    return render(jobs)
