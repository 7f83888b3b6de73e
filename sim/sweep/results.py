"""A sweep's tables: one row per run (summary.parquet) and per point and KPI the mean, its 95 %
confidence interval and the difference against the reference point (points.parquet), paired
replication by replication (every point uses the same seeds: common random numbers)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from .spec import Sweep

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
    first = [c for c in ID_COLUMNS if c in df] + [c for c in df if c.startswith("param:")]
    return df[first + sorted(c for c in df if c not in first)]


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
    kpis = [c for c in summary if c not in ID_COLUMNS and not c.startswith("param:") and c != "label"
            and pd.api.types.is_numeric_dtype(summary[c])]
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
