"""A sweep's tables: one row per run (summary.parquet) and per point and KPI the mean, its 95 %
confidence interval and the difference against the reference point (points.parquet), paired
replication by replication (every point uses the same seeds: common random numbers)."""

from __future__ import annotations

import json
import math
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


def _t(level: float, dof: int) -> float:
    from scipy import stats  # here: scipy.stats is slow to import

    return float(stats.t.ppf((1 + level) / 2, dof))


def interval(x: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Mean and t half-width of a sample (NaN half-width with one value)."""
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return math.nan, math.nan
    if len(x) == 1:
        return float(x[0]), math.nan
    return float(x.mean()), _t(level, len(x) - 1) * float(x.std(ddof=1)) / math.sqrt(len(x))


def points_table(sweep: Sweep, summary: pd.DataFrame) -> pd.DataFrame:
    """Per point and KPI: n (replications that ran), mean, ci_low, ci_high; and against the reference
    point the paired difference `diff` (this point minus the reference, replication by replication)
    with its interval `diff_low`, `diff_high` (replications both have)."""
    ok = summary[summary["status"] == "ok"]
    kpis = [c for c in summary if c not in ID_COLUMNS and not c.startswith("param:") and c != "label"
            and pd.api.types.is_numeric_dtype(summary[c])]
    ref = ok[ok["point"] == sweep.reference.id].set_index("replication")
    rows = []
    for p in sweep.points:
        mine = ok[ok["point"] == p.id].set_index("replication")
        both = mine.index.intersection(ref.index)
        base = {"point": p.id, "label": p.label, **{f"param:{k}": param_value(v) for k, v in p.values.items()}}
        for kpi in kpis:
            mean, half = interval(mine[kpi].to_numpy(dtype=float))
            diff, dhalf = interval((mine.loc[both, kpi] - ref.loc[both, kpi]).to_numpy(dtype=float))
            rows.append({**base, "kpi": kpi, "n": int(mine[kpi].notna().sum()), "mean": mean,
                         "ci_low": mean - half, "ci_high": mean + half, "diff": diff,
                         "diff_low": diff - dhalf, "diff_high": diff + dhalf})
    return pd.DataFrame(rows)
