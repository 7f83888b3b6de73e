"""Comparison charts of several runs (scenarios): each takes statistics already computed by the
caller (sim.report) as small tables keyed by run label, and returns a Figure (see common).

Run labels are plain strings chosen by the caller. Each chart colours its runs with `_PALETTE` in the
order the labels come (first appearance), so pass the runs in the same order to every chart and a run
keeps its colour throughout a report. The functions draw what they are given: they compute no
statistics beyond those they draw (percentile markers, totals of stacked bars).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import offset_copy

from .common import _PALETTE, _new_figure, _no_data, styled

TIME_PARTS = (("access_s", "access", "#a1d99b"), ("wait_s", "wait", "#fdae6b"),
              ("in_vehicle_s", "in vehicle", "#6baed6"), ("transfer_s", "transfer", "#e6550d"),
              ("egress_s", "egress", "#31a354"))
"""Parts of a door-to-door trip: (column, legend name, fixed colour), in the order they are stacked."""
CDF_PERCENTILES = (50, 85, 95)
MAX_FACILITY_ROWS = 12

# ---------------------------------------------------------------------------------------------------
# Shared helpers


def _run_colors(labels: Iterable[object]) -> dict[str, str]:
    """Colour of each run label: `_PALETTE` in order of first appearance (cycling past its length)."""
    unique = list(dict.fromkeys(str(lab) for lab in labels))
    return {lab: _PALETTE[k % len(_PALETTE)] for k, lab in enumerate(unique)}


def _lighter(color: str, white_share: float = 0.55) -> tuple[float, float, float]:
    """`color` mixed with white (`white_share` of white)."""
    return tuple(c + (1.0 - c) * white_share for c in to_rgb(color))


def _ordered(values: pd.Series) -> list[str]:
    """Distinct values as strings: category order for a categorical (those present), else first appearance."""
    present = list(dict.fromkeys(values.astype(str)))
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = [str(c) for c in values.cat.categories]
        return [c for c in cats if c in set(present)]
    return present


def _panel_grid(n: int, panel_w: float, panel_h: float, extra_h: float = 0.0) -> tuple[Figure, list[Axes]]:
    """A figure with `n` panels: in a row up to 2, else 2 columns filled row by row (spare cell removed)."""
    ncols = max(1, min(n, 2))
    nrows = max(1, math.ceil(n / ncols))
    fig = _new_figure(max(10.0, panel_w * ncols), panel_h * nrows + extra_h)  # room for the legend below
    axes = list(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax in axes[max(n, 1):]:
        ax.remove()
    return fig, axes[:max(n, 1)]


def _run_legend(fig: Figure, colors: Mapping[str, str], extra: Iterable[object] = (), lines: bool = False) -> None:
    """Figure legend under the panels: one entry per run (a patch, or a line with dots when `lines`); the
    `extra` handles (meaning of the marks) go in a second row."""
    runs = [Line2D([], [], color=c, marker="o", markersize=4, linewidth=1.6, label=lab) if lines
            else Patch(facecolor=c, label=lab) for lab, c in colors.items()]
    extra = list(extra)
    if not runs and not extra:
        return
    if not extra:
        fig.legend(handles=runs, loc="outside lower center", ncol=min(len(runs), 5), frameon=False, fontsize=9,
                   title="run", title_fontsize=9)
        return
    ncol = max(len(runs), len(extra))
    rows = [row + [Line2D([], [], linestyle="none", label="")] * (ncol - len(row)) for row in (runs, extra)]
    _widen_for(fig, [[h.get_label() for h in row] for row in rows])
    fig.legend(handles=[row[j] for j in range(ncol) for row in rows], loc="outside lower center", ncol=ncol,
               frameon=False, fontsize=9)   # filled column by column: runs on the first row


_LEGEND_CHAR_IN = 0.075
"""Approximate width of one character of a 9-pt legend label (inches)."""
_LEGEND_HANDLE_IN = 0.75
"""Width of a legend entry's handle and padding (inches)."""


def _widen_for(fig: Figure, rows: list[list[str]]) -> None:
    """Widen the figure when the legend's columns (the longest label of each) would not fit it."""
    ncol = max(len(r) for r in rows)
    cols = [max((len(r[j]) for r in rows if j < len(r)), default=0) for j in range(ncol)]
    needed = sum(c * _LEGEND_CHAR_IN + _LEGEND_HANDLE_IN for c in cols) + 0.5
    w, h = fig.get_size_inches()
    if needed > w:
        fig.set_size_inches(needed, h)


def _check_columns(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}")


# ---------------------------------------------------------------------------------------------------
# Travel time


def _finite_minutes(seconds: np.ndarray) -> np.ndarray:
    v = np.asarray(seconds, dtype=float).ravel() / 60.0
    return v[np.isfinite(v)]


@styled
def travel_time_cdfs(panels: Mapping[str, Mapping[str, np.ndarray]]) -> Figure:
    """Empirical CDFs of door-to-door travel time (min), one panel per commuter group, one curve per run.

    `panels` maps a panel title (e.g. "all commuters", "cross_border") to {run label: travel times in
    s} (NaN left out). x = travel time (min), y = share of the run's commuters of the panel who took at
    most that long (%). Dots on each curve mark its p50, p85 and p95. The legend under each panel gives,
    per run, the number of commuters and the mean travel time (min); a run with no travel times reads
    "no commuters". All panels share one x range: 0 to the largest p99.5 over all curves, rounded up to
    10 min (the far tails are cut). Panels sit in a row, in 2 columns from 3 panels on.
    """
    data = {title: {str(lab): _finite_minutes(v) for lab, v in runs.items()} for title, runs in panels.items()}
    colors = _run_colors(lab for runs in data.values() for lab in runs)
    tails = [float(np.percentile(v, 99.5)) for runs in data.values() for v in runs.values() if len(v)]
    x_max = max(10.0, math.ceil(max(tails) / 10.0) * 10.0) if tails else 60.0
    n_rows = max((len(runs) for runs in data.values()), default=0) + 1
    fig, axes = _panel_grid(len(data), 6.2, 4.4 + 0.2 * n_rows)
    for ax, (title, runs) in zip(axes, data.items()):
        handles = []
        for lab, v in runs.items():
            color = colors[lab]
            if not len(v):
                handles.append(Line2D([], [], color=color, linewidth=1.6, label=f"{lab}: no commuters"))
                continue
            xs = np.sort(v)
            ys = np.arange(1, len(xs) + 1) * 100.0 / len(xs)
            ax.step(np.concatenate([[xs[0]], xs]), np.concatenate([[0.0], ys]), where="post", color=color,
                    linewidth=1.6, gid=f"cdf:{lab}")
            ax.plot(np.percentile(v, CDF_PERCENTILES), CDF_PERCENTILES, linestyle="none", marker="o",
                    markersize=5.5, markerfacecolor=color, markeredgecolor="white", gid=f"pct:{lab}")
            handles.append(Line2D([], [], color=color, linewidth=1.6,
                                  label=f"{lab}: {len(v):,} commuters, mean {v.mean():.1f} min"))
        if any(len(v) for v in runs.values()):
            handles.append(Line2D([], [], color="0.35", linestyle="none", marker="o", markersize=5.5,
                                  markeredgecolor="white", label="dots: p50, p85, p95"))
        else:
            _no_data(ax, "no commuters")
        ax.set_title(title)
        ax.set_xlim(0, x_max)
        ax.set_ylim(0, 101)
        ax.set_yticks(np.arange(0, 101, 10))
        ax.grid(True, alpha=0.35)
        ax.set_xlabel("door-to-door travel time (min)")
        ax.set_ylabel("share of commuters (%)")
        if handles:   # under the panel, clear of its x label
            ax.legend(handles=handles, loc="upper center", frameon=False, fontsize=8.5,
                      bbox_to_anchor=(0.5, 0.0), bbox_transform=offset_copy(ax.transAxes, fig=fig, y=-0.5,
                                                                             units="inches"))
    fig.suptitle("Door-to-door travel time by run: empirical CDF"
                 + (f" (x axis to the largest p99.5: {x_max:g} min)" if tails else ""))
    return fig


@styled
def time_parts(parts: Mapping[str, pd.DataFrame]) -> Figure:
    """Mean door-to-door travel time per commuter split into its parts (min), one panel per group.

    `parts` maps a panel title to a DataFrame indexed by run label with the columns `access_s`,
    `wait_s`, `in_vehicle_s`, `transfer_s`, `egress_s` (mean s per commuter; NaN drawn as 0). One
    horizontal bar per run (first run on top) stacked in that order, each part in a fixed colour; the
    total (min) is written at the end of the bar. All panels share one x scale.
    """
    cols = [c for c, _, _ in TIME_PARTS]
    for title, df in parts.items():
        _check_columns(df, cols, f"time_parts panel '{title}'")
    minutes = {title: df[cols].astype(float).fillna(0.0) / 60.0 for title, df in parts.items()}
    totals = [float(m.sum(axis=1).max()) for m in minutes.values() if len(m)]
    x_max = (max(totals) if totals else 0.0) * 1.2 or 1.0
    n_runs = max((len(m) for m in minutes.values()), default=1)
    fig, axes = _panel_grid(len(minutes), 6.2, 1.3 + 0.45 * n_runs, extra_h=0.5)
    for ax, (title, m) in zip(axes, minutes.items()):
        y = np.arange(len(m))
        left = np.zeros(len(m))
        for col, name, color in TIME_PARTS:
            width = m[col].to_numpy()
            ax.barh(y, width, left=left, height=0.62, color=color, edgecolor="white", linewidth=0.6,
                    gid=f"part:{name}")
            left = left + width
        for yy, total in zip(y, left):
            ax.text(total, yy, f" {total:.1f} min", ha="left", va="center", fontsize=8.5, gid="total")
        ax.set_yticks(y, [str(lab) for lab in m.index])
        ax.set_ylim(len(m) - 0.5, -0.5)
        ax.set_xlim(0, x_max)
        ax.grid(True, axis="x", alpha=0.35)
        ax.set_axisbelow(True)
        ax.set_xlabel("mean time per commuter (min)")
        ax.set_title(title)
        if m.empty:
            _no_data(ax, "no commuters")
    handles = [Patch(facecolor=color, label=name) for _, name, color in TIME_PARTS]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False, fontsize=9,
               title="part of the trip", title_fontsize=9)
    fig.suptitle("Door-to-door travel time by part: mean per commuter")
    return fig


# ---------------------------------------------------------------------------------------------------
# Transfers


def _compact(n: float) -> str:
    """A count in few characters: 987, 9,876, 12.3k, 123k."""
    if n >= 100_000:
        return f"{n / 1000:.0f}k"
    return f"{n / 1000:.1f}k" if n >= 10_000 else f"{n:,.0f}"


@styled
def transfer_times(table: pd.DataFrame) -> Figure:
    """Mean time of a transfer (min) at each interchange by payment medium and run.

    `table` has one row per (interchange, medium, run) with `transfer_mean_s` (mean s from alighting to
    reaching the onward platform: walks, gates, security, queues), `onward_wait_mean_s` (mean s on the
    onward platform until boarding) and `transfers` (count). One panel per interchange (2 columns from
    3 on, one y scale); groups of bars = payment media, one bar per run (colour = run), stacked: the
    transfer time (solid) under the onward wait (hatched, lighter). The number of transfers is written
    above each bar; a missing combination or NaN mean draws no bar, only its count ("0" when missing).
    Orders: categories for categoricals, else first appearance.
    """
    cols = ["interchange", "medium", "run", "transfer_mean_s", "onward_wait_mean_s", "transfers"]
    _check_columns(table, cols, "transfer_times")
    df = table.assign(**{c: table[c].astype(str) for c in ("interchange", "medium", "run")})
    runs = _ordered(table["run"])
    colors = _run_colors(runs)
    top = float((df["transfer_mean_s"].fillna(0) + df["onward_wait_mean_s"].fillna(0)).max() / 60.0) if len(df) else 0
    interchanges = _ordered(table["interchange"])
    fig, axes = _panel_grid(len(interchanges), 6.0, 3.9, extra_h=0.7)
    width = 0.8 / max(len(runs), 1)
    for ax, name in zip(axes, interchanges):
        sub = df[df["interchange"] == name].set_index(["medium", "run"])
        media = _ordered(table.loc[table["interchange"].astype(str) == name, "medium"])
        for k, run in enumerate(runs):
            rows = sub.reindex([(med, run) for med in media])
            x = np.arange(len(media)) + (k - (len(runs) - 1) / 2) * width
            walk = rows["transfer_mean_s"].to_numpy(dtype=float) / 60.0
            wait = rows["onward_wait_mean_s"].to_numpy(dtype=float) / 60.0
            ok = np.isfinite(walk) & np.isfinite(wait)
            ax.bar(x[ok], walk[ok], width=width * 0.92, color=colors[run], gid=f"transfer:{run}")
            ax.bar(x[ok], wait[ok], bottom=walk[ok], width=width * 0.92, color=_lighter(colors[run]),
                   edgecolor=colors[run], hatchcolor=colors[run], linewidth=0, hatch="////", gid=f"wait:{run}")
            counts = rows["transfers"].to_numpy(dtype=float)
            for xx, h, n in zip(x, np.where(ok, walk + wait, 0.0), np.nan_to_num(counts)):
                ax.text(xx, h + top * 0.01, _compact(n), ha="center", va="bottom", fontsize=7, gid="count")
        ax.set_xticks(np.arange(len(media)), media)
        ax.set_xlim(-0.5, len(media) - 0.5)
        ax.set_ylim(0, top * 1.15 or 1.0)
        ax.grid(True, axis="y", alpha=0.35)
        ax.set_axisbelow(True)
        ax.set_xlabel("payment medium")
        ax.set_ylabel("mean time per transfer (min)")
        ax.set_title(name)
    if not interchanges:
        _no_data(axes[0], "no transfers")
    meaning = [Patch(facecolor="0.45", label="transfer: alighting to onward platform"),
               Patch(facecolor="0.85", edgecolor="0.45", hatch="////", linewidth=0,
                     label="onward wait: platform to boarding"),
               Line2D([], [], linestyle="none", label="number above a bar: transfers")]
    _run_legend(fig, colors, meaning)
    fig.suptitle("Transfer time at the interchanges by payment medium and run")
    return fig


# ---------------------------------------------------------------------------------------------------
# Fares


@styled
def fares_revenue(fare_mean: pd.Series, revenue: pd.DataFrame) -> Figure:
    """Fares by run: mean fare per commuter (CNY, left) and fare revenue per operator (thousand CNY, right).

    `fare_mean`: run label -> mean fare paid per commuter (CNY), one bar per run with its value written
    above. `revenue`: index = run labels, columns = operators, values = fare revenue (CNY), drawn in
    thousands; one group of bars per operator, one bar per run (colour = run; the same run has the same
    colour on both panels).
    """
    colors = _run_colors([*fare_mean.index, *revenue.index])
    fig = _new_figure(12, 5.2)
    ax_f, ax_r = fig.subplots(1, 2, width_ratios=[1, 2])
    fares = fare_mean.astype(float)
    x = np.arange(len(fares))
    bars = ax_f.bar(x, fares.to_numpy(), width=0.65, color=[colors[str(lab)] for lab in fares.index], gid="fare")
    ax_f.bar_label(bars, labels=[f"{v:.2f}" if np.isfinite(v) else "" for v in fares], fontsize=8.5, padding=2)
    ax_f.set_xticks(x, [str(lab) for lab in fares.index], rotation=20, ha="right", rotation_mode="anchor")
    ax_f.set_ylim(0, float(np.nanmax(fares.to_numpy())) * 1.15 if fares.notna().any() else 1.0)
    ax_f.set_ylabel("mean fare per commuter (CNY)")
    ax_f.set_title("Mean fare per commuter")

    runs = [str(lab) for lab in revenue.index]
    operators = [str(op) for op in revenue.columns]
    width = 0.8 / max(len(runs), 1)
    for k, run in enumerate(runs):
        xk = np.arange(len(operators)) + (k - (len(runs) - 1) / 2) * width
        ax_r.bar(xk, revenue.iloc[k].to_numpy(dtype=float) / 1000.0, width=width * 0.92, color=colors[run],
                 gid=f"revenue:{run}")
    tilt = {"rotation": 20, "ha": "right", "rotation_mode": "anchor"} if len(operators) > 4 else {}
    ax_r.set_xticks(np.arange(len(operators)), operators, **tilt)
    ax_r.set_xlim(-0.5, max(len(operators), 1) - 0.5)
    ax_r.set_xlabel("operator")
    ax_r.set_ylabel("fare revenue (thousand CNY)")
    ax_r.set_title("Fare revenue per operator")
    for ax, empty in ((ax_f, fares.empty), (ax_r, revenue.empty)):
        ax.grid(True, axis="y", alpha=0.35)
        ax.set_axisbelow(True)
        if empty:
            _no_data(ax, "no fares")
    _run_legend(fig, colors)
    fig.suptitle("Fares and fare revenue by run")
    return fig


# ---------------------------------------------------------------------------------------------------
# Loads and facilities


@styled
def load_profiles(profiles: Mapping[str, pd.DataFrame], station_names: Mapping[str, str],
                  towards: tuple[str, str], title: str) -> Figure:
    """Mean departing load (passengers) per section along one line path, one line per run.

    `profiles` maps a run label to a DataFrame indexed by station id in travel order along the path (km
    increasing) with columns `up` and `down`: the mean load (passengers) on leaving the station in
    that direction, NaN where no train leaves it (the line is broken there). Top panel "towards
    {towards[0]}": `up`, stations in index order; bottom panel "towards {towards[1]}": `down`, in
    reverse order. x tick labels are the full English `station_names` (ids when missing), every
    station; stations are those of the first run's index (stations only in later runs appended).
    """
    stations = list(dict.fromkeys(str(s) for df in profiles.values() for s in df.index))
    colors = _run_colors(profiles)
    names = [str(station_names.get(s, s)) for s in stations]
    label_h = 0.075 * max((len(n) for n in names), default=0) * 0.82   # rotated tick labels (in), font 8
    fig = _new_figure(max(9.0, 3.0 + 0.45 * len(stations)), 2 * (3.4 + label_h) + 1.3)
    axes = fig.subplots(2, 1)
    peak = max((float(np.nanmax(df[["up", "down"]].to_numpy(dtype=float), initial=0.0))
                for df in profiles.values()), default=0.0)
    for ax, direction, dest, order in ((axes[0], "up", towards[0], stations),
                                       (axes[1], "down", towards[1], stations[::-1])):
        x = np.arange(len(order))
        for run, df in profiles.items():
            loads = df.set_axis(df.index.astype(str))[direction].reindex(order).to_numpy(dtype=float)
            ax.plot(x, loads, color=colors[str(run)], marker="o", markersize=4, linewidth=1.6, gid=f"load:{run}")
        ax.set_xticks(x, names if direction == "up" else names[::-1], rotation=55, ha="right",
                      rotation_mode="anchor", fontsize=8)
        ax.set_xlim(-0.5, len(order) - 0.5)
        ax.set_ylim(0, peak * 1.1 or 1.0)
        ax.grid(True, alpha=0.35)
        ax.set_xlabel("departing station (section to the next station)")
        ax.set_ylabel("mean departing load (passengers)")
        ax.set_title(f"towards {dest}")
        if not stations:
            _no_data(ax, "no stations")
    _run_legend(fig, colors, lines=True)
    fig.suptitle(title)
    return fig


@styled
def facility_waits(waits: pd.DataFrame, title: str = "Mean queueing wait at the busiest facilities") -> Figure:
    """Mean queueing wait (s) at station facilities, one bar per run, longest waits on top.

    `waits`: index = facility labels (e.g. "Huaqiao (Shanghai) · transfer security"), columns = run
    labels, values = mean wait in the facility's queue (s; NaN draws no bar). Rows are sorted by their
    longest wait over the runs, longest first; the value (s) is written at the end of each bar. At most
    12 rows: the caller selects them (ValueError past that).
    """
    if len(waits) > MAX_FACILITY_ROWS:
        raise ValueError(f"facility_waits: {len(waits)} facilities, at most {MAX_FACILITY_ROWS} (select them first)")
    runs = [str(c) for c in waits.columns]
    colors = _run_colors(runs)
    values = waits.astype(float)
    values = values.iloc[np.argsort(-values.max(axis=1).fillna(-1.0).to_numpy(), kind="stable")]
    fig = _new_figure(10, 1.4 + max(len(values), 1) * (0.12 + 0.17 * max(len(runs), 1)))
    ax = fig.subplots()
    height = 0.8 / max(len(runs), 1)
    y = np.arange(len(values))
    for k, run in enumerate(runs):
        yk = y + (k - (len(runs) - 1) / 2) * height
        v = values.iloc[:, k].to_numpy()
        bars = ax.barh(yk, v, height=height * 0.9, color=colors[run], gid=f"wait:{run}")
        ax.bar_label(bars, labels=[f"{w:.0f} s" if np.isfinite(w) else "" for w in v], padding=2, fontsize=7.5)
    ax.set_yticks(y, [str(lab) for lab in values.index], fontsize=8.5)
    ax.set_ylim(len(values) - 0.5, -0.5)
    top = float(np.nanmax(values.to_numpy(), initial=0.0))
    ax.set_xlim(0, top * 1.12 or 1.0)
    ax.grid(True, axis="x", alpha=0.35)
    ax.set_axisbelow(True)
    ax.set_xlabel("mean queueing wait (s)")
    ax.set_title(title)
    if values.empty:
        _no_data(ax, "no facilities")
    _run_legend(fig, colors)
    return fig
