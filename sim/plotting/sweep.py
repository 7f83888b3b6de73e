"""Sweep charts: a KPI against one swept dimension with confidence bands, and a heat map over two.

Both take a table with one row per sweep point: `mean`, `ci_low`, `ci_high` of the KPI and, per
dimension d, its label `dim:<d>` and its number `num:<d>` (NaN when the dimension is not numeric,
e.g. a labelled zip group)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .common import _PALETTE, _new_figure, styled

MAX_SERIES = 6
"""Beyond this many combinations of the other dimensions, points are drawn without lines."""


def _positions(df: pd.DataFrame, dim: str) -> tuple[np.ndarray, list[str], list[float]]:
    """x of each row on dimension `dim`, and the ticks (labels, positions): numbers where the
    dimension is numeric, else the labels in order of first appearance."""
    num = df[f"num:{dim}"].to_numpy(dtype=float)
    labels = list(dict.fromkeys(df[f"dim:{dim}"].astype(str)))
    if np.isfinite(num).all():
        ticks = sorted(set(num.tolist()))
        names = [df.loc[num == t, f"dim:{dim}"].astype(str).iloc[0] for t in ticks]
        return num, names, ticks
    pos = {lab: float(i) for i, lab in enumerate(labels)}
    return np.asarray([pos[v] for v in df[f"dim:{dim}"].astype(str)]), labels, list(pos.values())


@styled
def kpi_by_dimension(df: pd.DataFrame, kpi_label: str, dim: str, others: Sequence[str], title: str) -> Figure:
    """The KPI's mean and 95 % interval at each value of `dim`, one line per combination of the
    `others` dimensions (up to MAX_SERIES; beyond, the points without lines)."""
    fig = _new_figure(10, 6)
    ax = fig.subplots()
    x, names, ticks = _positions(df, dim)
    key = df[[f"dim:{o}" for o in others]].astype(str).agg(", ".join, axis=1) if others else pd.Series("", index=df.index)
    series = list(dict.fromkeys(key))
    lines = len(series) <= MAX_SERIES
    for k, s in enumerate(series):
        sel = (key == s).to_numpy()
        order = np.argsort(x[sel], kind="stable")
        xs, m = x[sel][order], df["mean"].to_numpy(dtype=float)[sel][order]
        lo, hi = df["ci_low"].to_numpy(dtype=float)[sel][order], df["ci_high"].to_numpy(dtype=float)[sel][order]
        color = _PALETTE[k % len(_PALETTE)] if lines else "0.35"
        label = (", ".join(others) + ": " + s) if (others and lines) else None
        ax.plot(xs, m, marker="o", color=color, linewidth=1.6 if lines else 0, label=label, gid=f"series:{s}")
        if lines and np.isfinite(lo).any():
            ax.fill_between(xs, lo, hi, color=color, alpha=0.18, linewidth=0)
    ax.set_xticks(ticks, names, rotation=20 if max(len(n) for n in names) > 8 else 0, ha="right" if
                  max(len(n) for n in names) > 8 else "center")
    ax.set_xlabel(dim)
    ax.set_ylabel(kpi_label)
    ax.grid(True, alpha=0.35)
    ax.set_title(title)
    if others and lines:
        fig.legend(loc="outside lower center", ncol=min(len(series), 3), frameon=False, fontsize=9,
                   title="bands: 95 % confidence interval over replications", title_fontsize=9)
    return fig


@styled
def kpi_heatmap(df: pd.DataFrame, kpi_label: str, dim_x: str, dim_y: str, title: str) -> Figure:
    """The KPI's mean over a grid of two dimensions (averaged over any others), each cell annotated."""
    fig = _new_figure(9, 6.5)
    ax = fig.subplots()
    xs = list(dict.fromkeys(df[f"dim:{dim_x}"].astype(str)))
    ys = list(dict.fromkeys(df[f"dim:{dim_y}"].astype(str)))
    cell = df.groupby([df[f"dim:{dim_y}"].astype(str), df[f"dim:{dim_x}"].astype(str)])["mean"].mean()
    grid = np.asarray([[cell.get((y, x), np.nan) for x in xs] for y in ys], dtype=float)
    im = ax.imshow(grid, cmap="viridis", aspect="auto", origin="lower")
    for i in range(len(ys)):
        for j in range(len(xs)):
            if np.isfinite(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.3g}", ha="center", va="center", fontsize=9,
                        color="white" if grid[i, j] < np.nanmean(grid) else "black")
    ax.set_xticks(range(len(xs)), xs)
    ax.set_yticks(range(len(ys)), ys)
    ax.set_xlabel(dim_x)
    ax.set_ylabel(dim_y)
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label=kpi_label)
    return fig
