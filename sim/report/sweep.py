"""A sweep's report.html: what was swept, the points with their labels and parameters, a table per
KPI of the sweep file with each point's mean, its 95 % interval and the paired difference against
the reference point, the runs that failed, and the charts. It draws what sim.sweep gives it
(SweepFacts and the readable points table, see sim.sweep.results.readable_points): the report
layer does not read sweep files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .charts import Chart
from .facts import esc, facts_html, overrides_html, plain_table, show_value
from .html import figure_html, page, table_html


@dataclass(frozen=True)
class SweepFacts:
    """What a sweep was: its name, description, file and base scenario, the overrides of every point,
    each swept dimension (name, the parameter paths it varies, its values in point order), each
    point (id, label, parameter values), replications per point, seed (None: the base scenario's),
    the reference point's id, and the KPIs of the sweep file with their readable labels."""

    name: str
    description: str | None
    file: str
    scenario: str
    overrides: dict[str, Any]
    dimensions: list[tuple[str, list[str], list[str]]]
    points: list[tuple[str, str, dict[str, Any]]]
    replications: int
    seed: int | None
    reference: str
    kpis: list[tuple[str, str]]


def sweep_report(facts: SweepFacts, table: pd.DataFrame, summary: pd.DataFrame | None, charts: list[Chart],
                 path: Path) -> Path:
    """Write report.html of a sweep to `path`: `table` is the readable points table (one row per
    point and KPI: point, label, reference, kpi, name, unit, replications, mean, ci_low, ci_high,
    diff, diff_low, diff_high), `summary` the sweep's summary table (one row per run; None when
    there is none) for the runs complete and failed."""
    ran = table.groupby("point")["replications"].max() if len(table) else pd.Series(dtype=float)
    sections = [("What was swept", _swept(facts, summary)), ("Points", _points(facts, ran))]
    sections += [(label, _kpi_table(facts, table[table["kpi"] == kpi])) for kpi, label in facts.kpis
                 if (table["kpi"] == kpi).any()]
    if summary is not None and (summary["status"] != "ok").any():
        failed = summary[summary["status"] != "ok"]
        sections.append(("Runs that failed", plain_table(["run", "point", "error"], [
            [r["run_id"], r["point"], r["error"]] for r in failed.to_dict("records")])))
    sections.append(("Charts", "".join(figure_html(c) for c in charts) or "<p>No charts: no KPI was measured.</p>"))
    path.write_text(page(f"Sweep report: {facts.name}", sections), encoding="utf-8")
    return path


def _swept(facts: SweepFacts, summary: pd.DataFrame | None) -> str:
    """What was swept: the sweep and base scenario, the dimensions, points and runs, seed, reference."""
    dims = "<ul>" + "".join(
        f"<li><strong>{esc(name)}</strong> ({', '.join(f'<code>{esc(p)}</code>' for p in paths)}): "
        f"{esc(', '.join(values))}</li>" for name, paths, values in facts.dimensions) + "</ul>"
    runs = len(facts.points) * facts.replications
    ok = int((summary["status"] == "ok").sum()) if summary is not None else None
    label = dict((pid, lab) for pid, lab, _ in facts.points).get(facts.reference, "")
    rows = [("sweep", esc(facts.name) + (f" \u2014 {esc(facts.description)}" if facts.description else "")),
            ("sweep file", f"<code>{esc(facts.file)}</code>"),
            ("base scenario", f"<code>{esc(facts.scenario)}</code>"),
            ("overrides of every point (set)", overrides_html(facts.overrides)),
            ("swept", dims),
            ("points", esc(f"{len(facts.points)}, each run {facts.replications} time(s): {runs} runs"
                           + ("" if ok is None else f", {ok} complete, {runs - ok} failed"))),
            ("seed", esc("the base scenario's" if facts.seed is None else facts.seed)
             + "; replication r of every point uses the same seed and r (common random numbers)"),
            ("reference point", esc(f"{facts.reference}: {label}")
             + "; differences are paired replication by replication against it")]
    return facts_html(rows)


def _points(facts: SweepFacts, ran: pd.Series) -> str:
    """Each point: id, label, parameter values, replications that ran."""
    return plain_table(["point", "label", "parameters", "replications run"],
                       [[pid + (" (reference)" if pid == facts.reference else ""), label,
                         "; ".join(f"{k} = {show_value(v)}" for k, v in values.items()),
                         f"{int(ran.get(pid, 0))} of {facts.replications}"] for pid, label, values in facts.points])


def _kpi_table(facts: SweepFacts, rows: pd.DataFrame) -> str:
    """One KPI's table: per point its mean and 95 % interval, and the paired difference against the
    reference point with its interval (in the KPI's unit)."""
    records = rows.to_dict("records")
    unit = str(records[0]["unit"]) if records else ""
    kpi = str(records[0]["kpi"]) if records else ""
    digits = 0 if unit == "" and kpi.rsplit(".", 1)[-1] in ("commuters", "visits", "transfers") else 2
    body = [[str(r["point"]) + (" (reference)" if r["reference"] else ""), str(r["label"]), str(r["replications"]),
             _fmt(r["mean"], digits), _interval(r["ci_low"], r["ci_high"], digits),
             _fmt(r["diff"], digits, signed=True), _interval(r["diff_low"], r["diff_high"], digits, signed=True)]
            for r in records]
    note = (f'<p class="note">KPI <code>{esc(kpi)}</code>' + (f", in {esc(unit)}" if unit else "")
            + "; intervals: 95 % over replications (\u2013 with one).</p>")
    return note + table_html(["point", "label", "replications", "mean", "95 % interval",
                              f"\u2212 reference ({facts.reference})", "95 % interval"], body, left=2)


def _fmt(x: float, digits: int, signed: bool = False) -> str:
    if x is None or not np.isfinite(x):
        return "\u2013"
    text = f"{x:{'+' if signed else ''},.{digits}f}"
    if text.lstrip("+-").strip("0.,") == "":  # rounds to zero: no sign
        return f"{0.0:.{digits}f}"
    return text.replace("-", "\u2212")


def _interval(low: float, high: float, digits: int, signed: bool = False) -> str:
    if not (np.isfinite(low) and np.isfinite(high)):
        return "\u2013"
    return f"{_fmt(low, digits, signed)} to {_fmt(high, digits, signed)}"
