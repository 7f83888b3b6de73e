"""A sweep's tables: one row per run (summary.parquet) and per point and KPI the mean, its 95 %
confidence interval and the difference against the reference point (points.parquet), paired
replication by replication (every point uses the same seeds: common random numbers); and the
sweep's `kpis` per point in readable units (points.csv)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from .spec import Sweep

KPI_WORDS = {
    "travel_time_mean_s": "mean travel time", "travel_time_p50_s": "median travel time",
    "travel_time_p85_s": "p85 travel time", "travel_time_p95_s": "p95 travel time", "access_mean_s": "mean access time",
    "wait_mean_s": "mean wait", "wait_p95_s": "p95 wait", "in_vehicle_mean_s": "mean time in trains",
    "transfer_mean_s": "mean transfer time", "transfer_p95_s": "p95 transfer time", "egress_mean_s": "mean egress time",
    "onward_wait_mean_s": "mean onward wait", "transfers_mean": "transfers per trip",
    "denied_share": "share left behind by a full train at least once",
    "denied_commuters": "commuters left behind by a full train at least once",
    "denied_wait_mean_s": "mean wait from the first time left behind", "fare_mean_cny": "mean fare",
    "commuters": "commuters", "arrived": "commuters arrived", "in_system": "commuters still travelling at the end",
    "left": "commuters who left the rail network on the way",
    "queue_max": "longest queue", "utilisation_busiest_hour": "busiest-hour utilisation", "visits": "visits",
    "still_queueing": "not served by the end", "transfers": "transfers",
}
"""Readable words of the last part of a flattened KPI name (docs/outputs.md §5)."""


def kpi_words(kpi: str) -> tuple[str, str, float]:
    """A flattened KPI name as (readable name, unit, factor): the summary's value times `factor` is
    in `unit` ("" for counts and factors). Times are in minutes, but waits at a facility in seconds;
    shares in %. E.g. "groups.cross_border.travel_time_mean_s" -> ("cross_border group: mean travel
    time", "min", 1/60)."""
    parts = kpi.split(".")
    last = parts[-1]
    head, where = parts[:-1], ""
    if head[:1] == ["groups"] and len(head) >= 2:
        where = f"{'.'.join(head[1:])} group"
    elif head[:1] == ["windows"] and len(head) >= 2:
        where = "peak hour" if head[1] == "peak_hour" else f"{head[1]} window"
    elif head[:1] == ["interchanges"] and len(head) >= 2:
        where = f"{head[1]} interchange" + (f", {' '.join(head[2:]).replace('by_', 'by ')}" if len(head) > 2 else "")
    elif head[:1] == ["facilities"] and len(head) >= 3:
        where = f"{head[1]} {' '.join(head[2:]).replace('_', ' ')}"
    elif head[:1] == ["warm_up"]:
        where = "all commuters, warm-up included"
    elif head:
        where = ".".join(head)
    words = KPI_WORDS.get(last, last.replace("_", " "))
    if parts[0] in ("peak_load_factor", "peak_standing_density_p_m2", "fare_revenue_cny") and len(parts) == 2:
        where, words = last, {"peak_load_factor": "peak load factor", "fare_revenue_cny": "fare revenue",
                              "peak_standing_density_p_m2": "peak standing density"}[parts[0]]
    unit, factor = _unit(kpi, parts)
    return (f"{where}: {words}" if where else words), unit, factor


def _unit(kpi: str, parts: list[str]) -> tuple[str, float]:
    if parts[0] == "facilities" and kpi.endswith("_s"):
        return "s", 1.0
    if kpi.endswith("_s"):
        return "min", 1 / 60
    if "share" in parts[-1]:
        return "%", 100.0
    if kpi.endswith("_cny"):
        return "CNY", 1.0
    if kpi.endswith("_p_m2"):
        return "persons/m\u00b2", 1.0
    return "", 1.0


def kpi_label(kpi: str) -> str:
    """Readable name with its unit in parentheses, e.g. "mean travel time (min)"."""
    words, unit, _ = kpi_words(kpi)
    return f"{words} ({unit})" if unit else words


ID_COLUMNS = ("run_id", "point", "label", "replication", "seed", "status", "error", "wall_s")


def param_value(value: Any) -> Any:
    """A parameter value as a table cell: numbers and strings as they are, others as JSON."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return json.dumps(value, sort_keys=True, default=str)


def summary_table(sweep: Sweep, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per run in run-id order: ids, the point's label and parameters (`param:<path>`),
    status, error, wall time and every KPI."""
    points = {p.id: p for p in sweep.points}
    out = []
    for row in sorted(rows, key=lambda r: r["run_id"]):
        p = points[row["point"]]
        params = {f"param:{k}": param_value(v) for k, v in p.values.items()}
        kpis = {k: v for k, v in row.items() if k not in ID_COLUMNS}
        out.append({**{k: row.get(k) for k in ID_COLUMNS if k != "label"}, "label": p.label, **params, **kpis})
    df = pd.DataFrame(out)
    columns = [str(c) for c in df.columns]
    first = [c for c in ID_COLUMNS if c in columns] + [c for c in columns if c.startswith("param:")]
    return df[first + sorted(c for c in columns if c not in first)]


def intervals(x: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Per column of x (replications x KPIs): the mean of its finite values and the Student t
    half-width of the mean (NaN with fewer than two values)."""
    from scipy import stats  # here: scipy.stats is slow to import

    finite = np.isfinite(x)
    n = finite.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(finite, x, 0.0).sum(axis=0) / n
        var = np.where(finite, (x - mean) ** 2, 0.0).sum(axis=0) / (n - 1)
        half = stats.t.ppf((1 + level) / 2, np.maximum(n - 1, 1)) * np.sqrt(var / n)
    return np.where(n > 0, mean, np.nan), np.where(n > 1, half, np.nan)


def points_table(sweep: Sweep, summary: pd.DataFrame) -> pd.DataFrame:
    """Per point and KPI: n (replications that ran), mean, ci_low, ci_high; and against the reference
    point the paired difference `diff` (this point minus the reference, replication by replication)
    with its interval `diff_low`, `diff_high` (replications both have)."""
    ok = summary[summary["status"] == "ok"]
    kpis = [str(c) for c in summary.columns if c not in ID_COLUMNS and not str(c).startswith("param:")
            and c != "label" and pd.api.types.is_numeric_dtype(summary[c])]
    ref = ok[ok["point"] == sweep.reference.id].set_index("replication")[kpis]
    parts = []
    for p in sweep.points:
        mine = ok[ok["point"] == p.id].set_index("replication")[kpis]
        both = mine.index.intersection(ref.index)
        mean, half = intervals(mine.to_numpy(dtype=float))
        diff, dhalf = intervals(mine.loc[both].to_numpy(dtype=float) - ref.loc[both].to_numpy(dtype=float))
        part = pd.DataFrame({"kpi": kpis, "n": mine.notna().sum().to_numpy(dtype=np.int64), "mean": mean,
                             "ci_low": mean - half, "ci_high": mean + half, "diff": diff,
                             "diff_low": diff - dhalf, "diff_high": diff + dhalf})
        for k, v in reversed([("point", p.id), ("label", p.label),
                              *((f"param:{k}", param_value(v)) for k, v in p.values.items())]):
            part.insert(0, k, [v] * len(part))
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def readable_points(sweep: Sweep, points: pd.DataFrame) -> pd.DataFrame:
    """The sweep's `kpis` per point, for people (points.csv): one row per point and KPI, the point's
    id and label, whether it is the reference, the KPI's name and readable name, its unit, the
    replications that ran, and the mean, its 95 % interval, the paired difference against the
    reference point and its interval, all in that unit (minutes for times, seconds for waits at a
    facility, % for shares; see kpi_words)."""
    rows = []
    by = {(r["point"], r["kpi"]): r for r in points.to_dict("records")}
    for p in sweep.points:
        for kpi in sweep.model.kpis:
            r = by.get((p.id, kpi))
            if r is None:
                continue
            words, unit, factor = kpi_words(kpi)
            rows.append({"point": p.id, "label": p.label, "reference": p.id == sweep.reference.id, "kpi": kpi,
                         "name": words, "unit": unit, "replications": int(r["n"]),
                         **{c: float(r[c]) * factor for c in ("mean", "ci_low", "ci_high", "diff", "diff_low",
                                                               "diff_high")}})
    return pd.DataFrame(rows, columns=["point", "label", "reference", "kpi", "name", "unit", "replications", "mean",
                                       "ci_low", "ci_high", "diff", "diff_low", "diff_high"])
