"""Comparison charts of several runs (scenarios): each takes statistics already computed by the
caller (sim.report) as small tables keyed by run label, and returns a Figure (see common).

Run labels are plain strings chosen by the caller. Each chart colours its runs with `_PALETTE` in the
order the labels come (first appearance), so pass the runs in the same order to every chart and a run
keeps its colour throughout a report (the charts of changes against the first run take its label
too, so that the other runs keep their colours). The functions draw what they are given: they
compute no statistics beyond those they draw (percentile markers, totals of stacked bars, the
shares and means a curve shows).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
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
    r, g, b = (c + (1.0 - c) * white_share for c in to_rgb(color))
    return r, g, b


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


def _run_legend(fig: Figure, colors: Mapping[str, str], extra: Iterable[Artist] = (), lines: bool = False) -> None:
    """Figure legend under the panels: one entry per run (a patch, or a line with dots when `lines`)
    on the first row(s), the `extra` handles (meaning of the marks) on the rows below; as many
    columns as fit LEGEND_MAX_IN (at most five runs, three meanings to a row)."""
    runs: list[Artist] = [Line2D([], [], color=c, marker="o", markersize=4, linewidth=1.6, label=lab) if lines
                          else Patch(facecolor=c, label=lab) for lab, c in colors.items()]
    extra = list(extra)
    if not runs and not extra:
        return
    ncol = max(min(len(runs), 5), min(len(extra), 3))
    while ncol > 1 and _legend_width([runs, extra], ncol) > max(LEGEND_MAX_IN, fig.get_size_inches()[0]):
        ncol -= 1
    rows = _rows(runs, ncol) + _rows(extra, ncol)
    width = _legend_width([runs, extra], ncol)
    if width > fig.get_size_inches()[0]:
        fig.set_size_inches(width, fig.get_size_inches()[1])
    fig.legend(handles=[row[j] for j in range(ncol) for row in rows], loc="outside lower center", ncol=ncol,
               frameon=False, fontsize=9, title=None if extra else "run", title_fontsize=9)   # filled column by column


_LEGEND_CHAR_IN = 0.075
"""Approximate width of one character of a 9-pt legend label (inches)."""
_LEGEND_HANDLE_IN = 0.75
"""Width of a legend entry's handle and padding (inches)."""
LEGEND_MAX_IN = 10.8
"""Widest legend (inches, ~1,400 px): past it, entries wrap onto more rows."""


def _rows(items: list[Artist], ncol: int) -> list[list[Artist]]:
    """`items` in rows of `ncol`, the last padded with blank entries."""
    blank = Line2D([], [], linestyle="none", label="")
    rows = [items[i:i + ncol] for i in range(0, len(items), ncol)]
    return [row + [blank] * (ncol - len(row)) for row in rows]


def _legend_width(groups: list[list[Artist]], ncol: int) -> float:
    """Width (in) of a legend of `ncol` columns holding each group in rows of its own."""
    rows = [row for group in groups for row in _rows(group, ncol)]
    cols = [max((len(str(row[j].get_label())) for row in rows), default=0) for j in range(ncol)]
    return sum(c * _LEGEND_CHAR_IN + _LEGEND_HANDLE_IN for c in cols) + 0.5


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
    fig, axes = _panel_grid(len(data), 5.4, 4.4 + 0.2 * n_rows)
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


CHANGE_THRESHOLD_S = 30.0
"""A commuter counts as faster or slower in the legend of travel_time_changes beyond this change (s)."""


@styled
def travel_time_changes(panels: Mapping[str, Mapping[str, np.ndarray]], reference: str) -> Figure:
    """Per-commuter change of door-to-door travel time against the reference run (min), one panel
    per commuter group, one curve per other run.

    `panels` maps a panel title to {run label: per-commuter differences in s, this run minus
    `reference`, over the same commuters (those who arrived in both; NaN left out)}. A curve is the
    differences sorted, against the share of commuters (%): the commuters left of where it leaves
    zero are faster than in the reference run, those right of where it rises again slower. In the
    corner of each panel, per run: the commuters, the mean change (min) and the shares faster and
    slower by more than 30 s. The y axis spans the 1st to 99th percentile of the changes that are
    not zero (of all curves; the far tails run off it, as the title says).
    """
    data = {title: {str(lab): _finite_minutes(v) for lab, v in runs.items()} for title, runs in panels.items()}
    colors = _run_colors([reference, *(lab for runs in data.values() for lab in runs)])
    changed = np.concatenate([np.zeros(1), *(v[np.abs(v) >= 1 / 60] for runs in data.values() for v in runs.values())])
    lo, hi = np.percentile(changed, [1, 99])
    pad = max(0.1, 0.08 * (hi - lo))
    fig, axes = _panel_grid(len(data), 5.2, 4.4, extra_h=0.4)
    share = np.linspace(0.0, 100.0, 1001)
    limit = CHANGE_THRESHOLD_S / 60.0
    for ax, (title, runs) in zip(axes, data.items()):
        for k, (lab, v) in enumerate(runs.items()):
            if len(v):
                ax.plot(share, np.percentile(v, share), color=colors[lab], linewidth=1.8, gid=f"change:{lab}")
                text = (f"{len(v):,} commuters, mean {_signed(v.mean())} min; {(v < -limit).mean():.0%} faster, "
                        f"{(v > limit).mean():.0%} slower")
            else:
                text = "no commuters in both runs"
            ax.text(0.02, 0.97 - 0.065 * k, text, transform=ax.transAxes, fontsize=7.5, color=colors[lab], va="top",
                    gid=f"stats:{lab}", bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
        ax.axhline(0.0, color="0.2", linewidth=1.0)
        ax.set_ylim(min(lo, 0.0) - pad, max(hi, 0.0) + pad)
        ax.set_xlim(0, 100)
        ax.grid(True, alpha=0.35)
        ax.set_title(title)
        ax.set_xlabel("share of commuters, sorted by their change (%)")
        ax.set_ylabel(f"change (min; above 0: slower than {reference})")
        if not any(len(v) for v in runs.values()):
            _no_data(ax, "no commuters in both runs")
    others = dict.fromkeys(lab for runs in data.values() for lab in runs)
    _run_legend(fig, {lab: colors[lab] for lab in others}, [Line2D([], [], linestyle="none", label=(
        f"faster, slower: by more than {CHANGE_THRESHOLD_S:.0f} s"))], lines=True)
    fig.suptitle(f"Change of each commuter's travel time against {reference}: the same commuters in both runs\n"
                 "(y axis: 1st to 99th percentile of the changes that are not zero)")
    return fig


def _signed(x: float, digits: int = 2) -> str:
    """`x` with its sign, and none when it rounds to zero."""
    text = f"{x:+.{digits}f}"
    return text[1:] if float(text) == 0 else text


@styled
def percentile_changes(table: pd.DataFrame, reference: str) -> Figure:
    """Change of travel-time percentiles against the reference run (min), one panel per commuter
    group: for runs whose commuters differ from the reference's (other demand or seeds).

    `table` has one row per (panel, run, percentile) with `change_s` (this run's percentile minus
    the reference's, s) and `half_s` (95 % confidence half-width over replications, s; NaN with one
    replication: no whisker). x = the percentiles, one marker per run (offset side by side).
    """
    _check_columns(table, ["panel", "run", "percentile", "change_s", "half_s"], "percentile_changes")
    runs = _ordered(table["run"])
    colors = _run_colors([reference, *runs])
    panels = _ordered(table["panel"])
    fig, axes = _panel_grid(len(panels), 5.2, 4.2, extra_h=0.6)
    for ax, panel in zip(axes, panels):
        sub = table[table["panel"].astype(str) == panel]
        pcts = sorted(sub["percentile"].unique())
        for k, run in enumerate(runs):
            rows = sub[sub["run"].astype(str) == run].set_index("percentile").reindex(pcts)
            x = np.arange(len(pcts)) + (k - (len(runs) - 1) / 2) * 0.18
            half = rows["half_s"].to_numpy(dtype=float) / 60.0
            ax.errorbar(x, rows["change_s"].to_numpy(dtype=float) / 60.0,
                        yerr=np.where(np.isfinite(half), half, 0.0), fmt="o", color=colors[run], capsize=3,
                        markersize=5, linewidth=1.2, gid=f"pct_change:{run}")
        ax.axhline(0.0, color="0.2", linewidth=1.0)
        ax.set_xticks(np.arange(len(pcts)), [f"p{p:g}" for p in pcts])
        ax.grid(True, axis="y", alpha=0.35)
        ax.set_title(panel)
        ax.set_xlabel("travel-time percentile")
        ax.set_ylabel(f"change against {reference} (min)")
    has_ci = bool(np.isfinite(table["half_s"].to_numpy(dtype=float)).any())
    meaning = [Line2D([], [], color="0.3", marker="o", linestyle="-", label="whisker: 95 % confidence interval "
                      "over replications")] if has_ci else [Line2D([], [], linestyle="none",
                                                                  label="one replication: no confidence interval")]
    _run_legend(fig, {r: colors[r] for r in runs}, meaning, lines=True)
    fig.suptitle(f"Change of travel-time percentiles against {reference}: the runs' commuters differ")
    return fig


def _finish_run_bars(ax: Axes, runs: pd.Index, x_max: float, xlabel: str, title: str, empty: str) -> None:
    """Axes of a panel of horizontal bars, one per run (first run on top): run labels, x from 0 to
    `x_max` with its grid, labels; the `empty` note on a panel without runs."""
    ax.set_yticks(np.arange(len(runs)), [str(lab) for lab in runs])
    ax.set_ylim(max(len(runs), 1) - 0.5, -0.5)
    ax.set_xlim(0, x_max)
    ax.grid(True, axis="x", alpha=0.35)
    ax.set_axisbelow(True)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    if not len(runs):
        _no_data(ax, empty)


MODE_COLORS = {"rail": "#3182bd", "car": "#636363", "bus": "#fd8d3c", "no_trip": "#9e9ac8", "none": "#d9d9d9"}
"""Fixed colours of the modes chosen between zones (others take the palette)."""


@styled
def mode_choice(panels: Mapping[str, pd.DataFrame]) -> Figure:
    """Commuters drawn between zones by the mode they chose, one panel per group of them.

    `panels` maps a panel title to a DataFrame indexed by run label with one column per mode (counts
    of commuters; NaN drawn as 0). One horizontal bar per run (first run on top), stacked by mode in
    fixed colours, each part labelled with its count where it is wide enough; the difference against
    the first run's count of each mode (the commuters who moved) is written after the bar."""
    modes = sorted({str(m) for df in panels.values() for m in df.columns},
                   key=lambda m: (list(MODE_COLORS).index(m) if m in MODE_COLORS else len(MODE_COLORS), m))
    colors = {m: MODE_COLORS.get(m, _PALETTE[k % len(_PALETTE)]) for k, m in enumerate(modes)}
    n_runs = max((len(df) for df in panels.values()), default=1)
    fig, axes = _panel_grid(len(panels), 6.4, 1.3 + 0.45 * n_runs, extra_h=0.5)
    for ax, (title, df) in zip(axes, panels.items()):
        counts = df.reindex(columns=modes).astype(float).fillna(0.0)
        y = np.arange(len(counts))
        left = np.zeros(len(counts))
        total = float(counts.sum(axis=1).max()) if len(counts) else 0.0
        for m in modes:
            width = counts[m].to_numpy()
            ax.barh(y, width, left=left, height=0.62, color=colors[m], edgecolor="white", linewidth=0.6, gid=f"mode:{m}")
            for yy, x0, w in zip(y, left, width):
                if total and w >= 0.08 * total:
                    ax.text(float(x0 + w / 2), float(yy), _compact(w), ha="center", va="center", fontsize=8)
            left = left + width
        if len(counts) > 1:
            first = counts.iloc[0]
            for yy, row in zip(y[1:], counts.iloc[1:].itertuples(index=False)):
                moved = ", ".join(f"{m} {_signed(v - first[m], 0)}" for m, v in zip(modes, row) if v != first[m])
                ax.text(float(left[yy]), float(yy), f"  {moved or 'no change'}", ha="left", va="center", fontsize=8)
        _finish_run_bars(ax, counts.index, (total or 1.0) * 1.45, "commuters", title,
                         "no commuters drawn between zones")
    handles = [Patch(facecolor=colors[m], label=m) for m in modes]
    fig.legend(handles=handles, loc="outside lower center", ncol=max(len(handles), 1), frameon=False, fontsize=9,
               title="mode chosen", title_fontsize=9)
    fig.suptitle("Commuters between zones by the mode they chose")
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
    fig, axes = _panel_grid(len(minutes), 5.4, 1.3 + 0.45 * n_runs, extra_h=0.5)
    for ax, (title, m) in zip(axes, minutes.items()):
        y = np.arange(len(m))
        left = np.zeros(len(m))
        for col, name, color in TIME_PARTS:
            width = m[col].to_numpy()
            ax.barh(y, width, left=left, height=0.62, color=color, edgecolor="white", linewidth=0.6,
                    gid=f"part:{name}")
            left = left + width
        for yy, total in zip(y, left):
            ax.text(float(total), float(yy), f" {total:.1f} min", ha="left", va="center", fontsize=8.5, gid="total")
        _finish_run_bars(ax, m.index, x_max, "mean time per commuter (min)", title, "no commuters")
    handles = [Patch(facecolor=color, label=name) for _, name, color in TIME_PARTS]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False, fontsize=9,
               title="part of the trip", title_fontsize=9)
    fig.suptitle("Door-to-door travel time by part: mean per commuter")
    return fig


@styled
def time_part_changes(changes: Mapping[str, pd.DataFrame], reference: str) -> Figure:
    """Change of the mean time per commuter in each part of the trip against the reference run (min),
    one panel per commuter group.

    `changes` maps a panel title to a DataFrame indexed by run label (the runs other than
    `reference`) with the TIME_PARTS columns and `travel_time_s` (change of the mean, s) and, when
    there are replications, the same names with `_half` appended (95 % confidence half-width, s;
    NaN: no whisker). Rows = the parts and the total, one bar per run (colour = run), diverging
    from zero; the change is written beyond each bar and whisker. Each panel has its own x scale,
    symmetric about zero (a group's changes may be far larger than everyone's).
    """
    rows = [(c, n) for c, n, _ in TIME_PARTS] + [("travel_time_s", "door to door")]
    for title, df in changes.items():
        _check_columns(df, [c for c, _ in rows], f"time_part_changes panel '{title}'")
    colors = _run_colors([reference, *(str(r) for df in changes.values() for r in df.index)])
    n_runs = max((len(df) for df in changes.values()), default=1)
    fig, axes = _panel_grid(len(changes), 5.2, 1.6 + len(rows) * (0.2 + 0.22 * n_runs), extra_h=0.6)
    for ax, (title, df) in zip(axes, changes.items()):
        height = 0.8 / max(len(df), 1)
        y = np.arange(len(rows))
        for k, run in enumerate(df.index):
            v = df.loc[run, [c for c, _ in rows]].to_numpy(dtype=float) / 60.0
            half = np.asarray([df.loc[run].get(f"{c}_half", np.nan) for c, _ in rows], dtype=float) / 60.0
            yk = y + (k - (len(df) - 1) / 2) * height
            ax.barh(yk, np.nan_to_num(v), height=height * 0.9, color=colors[str(run)], gid=f"part_change:{run}",
                    xerr=np.where(np.isfinite(half), half, 0.0), error_kw={"ecolor": "0.2", "capsize": 2,
                                                                            "elinewidth": 0.9})
            for yy, val, h in zip(yk, v, np.nan_to_num(half)):
                if np.isfinite(val):   # written beyond the whisker
                    tiny = abs(val) < 0.005
                    ax.text(val + (h if val >= 0 else -h), yy, " 0 " if tiny else f" {val:+.2f} ",
                            ha="left" if val >= 0 else "right", va="center", fontsize=7.5,
                            color="0.5" if tiny else "black", gid="value")
        ax.axvline(0.0, color="0.2", linewidth=1.0)
        ax.set_yticks(y, [n for _, n in rows])
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ends = np.abs(df[[c for c, _ in rows]].to_numpy(dtype=float)) + np.nan_to_num(
            df.reindex(columns=[f"{c}_half" for c, _ in rows]).to_numpy(dtype=float))   # bars and their whiskers
        reach = (float(np.nanmax(ends, initial=0.0)) / 60.0 or 0.1) * 1.35
        ax.set_xlim(-reach, reach)
        ax.grid(True, axis="x", alpha=0.35)
        ax.set_axisbelow(True)
        ax.set_xlabel(f"mean per commuter minus {reference}'s (min)")
        ax.set_title(title)
        if df.empty:
            _no_data(ax, "no other run")
    has_ci = any(np.isfinite(df[[c for c in df.columns if str(c).endswith("_half")]].to_numpy(dtype=float)).any()
                 for df in changes.values())
    meaning = [Line2D([], [], color="0.2", marker="|", linestyle="-", label="whisker: 95 % confidence interval "
                      "over replications")] if has_ci else []
    _run_legend(fig, {str(r): colors[str(r)] for df in changes.values() for r in df.index}, meaning)
    fig.suptitle(f"Change of the mean travel time by part against {reference}")
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
    onward platform until boarding) and `transfers` (count); optionally `transfer_half_s` and
    `total_half_s`: 95 % confidence half-widths over replications (s) of the transfer time and of
    transfer plus onward wait, drawn as whiskers at the top of the solid part and of the bar (NaN:
    none). One panel per interchange (2 columns from 3 on, one y scale); groups of bars = payment
    media, one bar per run (colour = run), stacked: the transfer time (solid) under the onward wait
    (hatched, lighter). The number of transfers is written above each bar; a missing combination or
    NaN mean draws no bar, only its count ("0" when missing). Orders: categories for categoricals,
    else first appearance.
    """
    cols = ["interchange", "medium", "run", "transfer_mean_s", "onward_wait_mean_s", "transfers"]
    _check_columns(table, cols, "transfer_times")
    df = table.assign(**{c: table[c].astype(str) for c in ("interchange", "medium", "run")})
    for c in ("transfer_half_s", "total_half_s"):
        df[c] = df[c].astype(float) if c in df else np.nan
    runs = _ordered(table["run"])
    colors = _run_colors(runs)
    total = df["transfer_mean_s"].fillna(0) + df["onward_wait_mean_s"].fillna(0) + df["total_half_s"].fillna(0)
    top = float(total.max() / 60.0) if len(df) else 0
    interchanges = _ordered(table["interchange"])
    fig, axes = _panel_grid(len(interchanges), 5.4, 3.9, extra_h=0.7)
    width = 0.8 / max(len(runs), 1)
    for ax, name in zip(axes, interchanges):
        sub = df[df["interchange"] == name].set_index(["medium", "run"])
        media = _ordered(table.loc[table["interchange"].astype(str) == name, "medium"])
        for k, run in enumerate(runs):
            rows = sub.reindex([(med, run) for med in media])
            x = np.arange(len(media)) + (k - (len(runs) - 1) / 2) * width
            _transfer_bars(ax, x, rows, width, colors[run], run, top)
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
    if np.isfinite(df[["transfer_half_s", "total_half_s"]].to_numpy(dtype=float)).any():
        meaning.append(Line2D([], [], color="black", marker="_", markersize=8, linewidth=1,
                              label="whiskers: 95 % confidence interval over replications"))
    _run_legend(fig, colors, meaning)
    fig.suptitle("Transfer time at the interchanges by payment medium and run")
    return fig


def _transfer_bars(ax: Axes, x: np.ndarray, rows: pd.DataFrame, width: float, color: str, run: str,
                   top: float) -> None:
    """One run's stacked bars (transfer, onward wait) over the media of a panel, with whiskers and counts."""
    walk = rows["transfer_mean_s"].to_numpy(dtype=float) / 60.0
    wait = rows["onward_wait_mean_s"].to_numpy(dtype=float) / 60.0
    ok = np.isfinite(walk) & np.isfinite(wait)
    ax.bar(x[ok], walk[ok], width=width * 0.92, color=color, gid=f"transfer:{run}")
    ax.bar(x[ok], wait[ok], bottom=walk[ok], width=width * 0.92, color=_lighter(color),
           edgecolor=color, hatchcolor=color, linewidth=0, hatch="////", gid=f"wait:{run}")
    whisker = rows["total_half_s"].to_numpy(dtype=float) / 60.0
    for heights, half, gid in ((walk, rows["transfer_half_s"].to_numpy(dtype=float) / 60.0, f"ci_transfer:{run}"),
                               (walk + wait, whisker, f"ci_total:{run}")):
        has = ok & np.isfinite(half)
        if has.any():
            ax.errorbar(x[has], heights[has], yerr=half[has], fmt="none", ecolor="black", elinewidth=1.0,
                        capsize=2.5, gid=gid)
    counts = rows["transfers"].to_numpy(dtype=float)
    tops = np.where(ok, walk + wait + np.nan_to_num(whisker), 0.0)
    for xx, h, n in zip(x, tops, np.nan_to_num(counts)):
        ax.text(xx, h + top * 0.01, _compact(n), ha="center", va="bottom", fontsize=7, gid="count")


# ---------------------------------------------------------------------------------------------------
# Fares


@styled
def fares_revenue(fare_mean: pd.Series, revenue: pd.DataFrame, currency: str = "CNY") -> Figure:
    """Fares by run, amounts in `currency`: mean fare per commuter (top left), fare revenue per operator (thousands,
    top right) and, with more than one run, the change of both against the first run (%, bottom).

    `fare_mean`: run label -> mean fare paid per commuter, one bar per run with its value written
    above. `revenue`: index = run labels, columns = operators, values = fare revenue, drawn in
    thousands; one group of bars per operator, one bar per run (colour = run; the same run has the same
    colour on every panel). The change panel has a group for the mean fare and one per operator's
    revenue, one bar per run after the first, labelled with the change (in thousands for
    revenue); a change from zero is drawn as none and labelled "new".
    """
    colors = _run_colors([*fare_mean.index, *revenue.index])
    several = len(fare_mean) > 1 or len(revenue) > 1
    fig = _new_figure(10.5, 8.6 if several else 4.8)
    grid = fig.add_gridspec(2 if several else 1, 2, width_ratios=[1, 2])
    ax_f, ax_r = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
    fares = fare_mean.astype(float)
    x = np.arange(len(fares))
    bars = ax_f.bar(x, fares.to_numpy(), width=0.65, color=[colors[str(lab)] for lab in fares.index], gid="fare")
    ax_f.bar_label(bars, labels=[f"{v:.2f}" if np.isfinite(v) else "" for v in fares], fontsize=8.5, padding=2)
    ax_f.set_xticks(x, [str(lab) for lab in fares.index], rotation=20, ha="right", rotation_mode="anchor")
    ax_f.set_ylim(0, float(np.nanmax(fares.to_numpy())) * 1.15 if fares.notna().any() else 1.0)
    ax_f.set_ylabel(f"mean fare per commuter ({currency})")
    ax_f.set_title("Mean fare per commuter")

    runs = [str(lab) for lab in revenue.index]
    operators = [str(op) for op in revenue.columns]
    width = 0.8 / max(len(runs), 1)
    for k, run in enumerate(runs):
        xk = np.arange(len(operators)) + (k - (len(runs) - 1) / 2) * width
        ax_r.bar(xk, revenue.iloc[k].to_numpy(dtype=float) / 1000.0, width=width * 0.92, color=colors[run],
                 gid=f"revenue:{run}")
    ax_r.set_xticks(np.arange(len(operators)), operators)
    if len(operators) > 4:  # long lists of operators: tilted names
        for tick in ax_r.get_xticklabels():
            tick.set(rotation=20, ha="right", rotation_mode="anchor")
    ax_r.set_xlim(-0.5, max(len(operators), 1) - 0.5)
    ax_r.set_xlabel("operator")
    ax_r.set_ylabel(f"fare revenue (thousand {currency})")
    ax_r.set_title("Fare revenue per operator")
    for ax, empty in ((ax_f, fares.empty), (ax_r, revenue.empty)):
        ax.grid(True, axis="y", alpha=0.35)
        ax.set_axisbelow(True)
        if empty:
            _no_data(ax, "no fares")
    if several:
        _fare_changes(fig.add_subplot(grid[1, :]), fares, revenue, colors, currency)
    _run_legend(fig, colors)
    fig.suptitle("Fares and fare revenue by run")
    return fig


def _fare_changes(ax: Axes, fares: pd.Series, revenue: pd.DataFrame, colors: Mapping[str, str],
                  currency: str) -> None:
    """Bottom panel of fares_revenue: change of the mean fare and of each operator's revenue against
    the first run (%), labelled with the change in money."""
    first = str(fares.index[0]) if len(fares) else str(revenue.index[0])
    groups = [("mean fare", fares.reindex([str(i) for i in fares.index]), 1.0, currency)] + [
        (f"revenue {op}", revenue[op].astype(float).set_axis([str(i) for i in revenue.index]), 1000.0, f"k {currency}")
        for op in revenue.columns]
    others = [r for r in colors if r != first]
    width = 0.8 / max(len(others), 1)
    spread = 0.0
    for k, run in enumerate(others):
        xs, pct, labels = [], [], []
        for g, (_, values, unit, _u) in enumerate(groups):
            base, now = values.get(first, np.nan), values.get(run, np.nan)
            change = now - base
            xs.append(g + (k - (len(others) - 1) / 2) * width)
            pct.append(change / base * 100.0 if np.isfinite(base) and base != 0 else np.nan)
            labels.append("new" if base == 0 and np.isfinite(now) and now != 0 else
                          f"{change / unit:+,.2f}" if np.isfinite(change) else "")
        pct_arr = np.asarray(pct, dtype=float)
        spread = max(spread, float(np.nanmax(np.abs(pct_arr), initial=0.0)))
        bars = ax.bar(xs, np.nan_to_num(pct_arr), width=width * 0.92, color=colors[run], gid=f"change:{run}")
        ax.bar_label(bars, labels=labels, fontsize=7.5, padding=2)
    ax.axhline(0.0, color="0.2", linewidth=1.0)
    ax.set_xticks(np.arange(len(groups)), [f"{name} ({unit})" for name, _, _, unit in groups])
    ax.set_xlim(-0.5, len(groups) - 0.5)
    reach = (spread or 1.0) * 1.3
    ax.set_ylim(-reach, reach)
    ax.set_ylabel(f"change against {first} (%)")
    ax.set_title(f"Change against {first}: bars in %, numbers in {currency} (revenue in thousand {currency})")
    ax.grid(True, axis="y", alpha=0.35)
    ax.set_axisbelow(True)


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
    fontsize = 8 if len(stations) <= 24 else 7   # at most ~1,400 px wide: smaller names on long lines
    label_h = fontsize * 0.6 / 72 * max((len(n) for n in names), default=0) * 0.82 + 0.15   # rotated tick labels (in)
    fig = _new_figure(min(10.5, max(9.0, 3.0 + 0.3 * len(stations))), 2 * (3.4 + label_h) + 1.3)
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
                      rotation_mode="anchor", fontsize=fontsize)
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
    labels, values = mean wait in the facility's queue (s; NaN: the facility was not used in that
    run, no bar and "not used" written). Rows are sorted by their
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
        ax.bar_label(bars, labels=[("<1 s" if 0 < w < 0.5 else f"{w:.0f} s") if np.isfinite(w) else "" for w in v],
                     padding=2, fontsize=7.5)
        for yy in yk[~np.isfinite(v)]:
            ax.text(0, yy, " not used", ha="left", va="center", fontsize=7.5, color="0.35", gid="not_used")
    ax.set_yticks(y, [str(lab) for lab in values.index], fontsize=8.5)
    ax.set_ylim(len(values) - 0.5, -0.5)
    top = float(np.nanmax(values.to_numpy(), initial=0.0))
    ax.set_xlim(0, top * 1.18 or 1.0)
    ax.grid(True, axis="x", alpha=0.35)
    ax.set_axisbelow(True)
    ax.set_xlabel("mean queueing wait (s)")
    ax.set_title(title)
    if values.empty:
        _no_data(ax, "no facilities")
    _run_legend(fig, colors)
    return fig
