"""Shared pieces of the charts: figure creation, clock axes, names, colours, saving.

Every chart function in this package takes result tables (pandas DataFrames, columns as in
docs/outputs.md) or small tables of statistics computed by the caller, plus plain mappings (English
station names, km posts, colours), and returns a `matplotlib.figure.Figure`. It reads no files, runs
no simulation and touches no pyplot state: figures are plain `Figure` objects on the Agg canvas, so
they work headless and in notebooks. Units: clock times in seconds since service-day midnight (shown
as HH:MM), durations in seconds in the tables and minutes on the charts, loads in passengers.

Every chart is drawn and saved with STYLE: text is drawn as written, so names taken from the inputs
never become mathtext.
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ParamSpec

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import text_to_path
from matplotlib.ticker import FuncFormatter, MultipleLocator
from matplotlib.typing import RcKeyType

DPI = 130
_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
            "#bcbd22", "#7f7f7f")
ZOOM_BELOW_LF = 0.35
"""Load profile: when the highest load is below this share of capacity the y axis zooms on the loads."""
_NICE_TIME_STEPS_S = (60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600)
STYLE: dict[RcKeyType, Any] = {"text.parse_math": False}
"""rcParams every chart is drawn and saved with. Names from the inputs (stations, lines, services,
runs, swept values) may hold `$`, `\\`, `_`, `^` or braces, which mathtext would parse between two
`$` (and fail on, or garble); no label of ours uses mathtext."""

_P = ParamSpec("_P")


def styled(draw: Callable[_P, Figure]) -> Callable[_P, Figure]:
    """The chart function `draw`, run with STYLE: the text it creates keeps it, whatever the
    rcParams when the figure is shown or saved later (e.g. in a notebook)."""
    @functools.wraps(draw)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> Figure:
        with matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)
    return run



# ---------------------------------------------------------------------------------------------------
# Small helpers


def clock_label(seconds: float, _pos: object = None) -> str:
    """'HH:MM' for seconds since midnight (rounded to the minute; hours past 24 kept)."""
    if not np.isfinite(seconds):
        return ""
    minutes = round(float(seconds) / 60.0)
    sign = "-" if minutes < 0 else ""
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _clock_axis(axis, span_s: float, target_ticks: int = 8) -> None:
    """Clock-formatted ticks on a time axis (`axis` is ax.xaxis or ax.yaxis), a nice step for the span."""
    step = next((s for s in _NICE_TIME_STEPS_S if span_s / s <= target_ticks), _NICE_TIME_STEPS_S[-1])
    axis.set_major_locator(MultipleLocator(step))
    axis.set_major_formatter(FuncFormatter(clock_label))


def _new_figure(width_in: float, height_in: float) -> Figure:
    return Figure(figsize=(width_in, height_in), layout="constrained")


def legend_columns(labels: Sequence[str], width_in: float, fontsize: float = 9.0) -> int:
    """Columns of a legend below a chart (at most 3) such that columns as wide as the widest label,
    with their handle and gaps (4.8 em: matplotlib's defaults), fit the figure's width: long names
    in several columns would run off both sides of the canvas."""
    if not labels:
        return 1
    font = FontProperties(size=fontsize)
    widest = max(text_to_path.get_text_width_height_descent(label, font, ismath=False)[0] for label in labels)
    per_column = (widest + 4.8 * fontsize) / 72.0
    return max(1, min(len(labels), 3, int(0.95 * width_in // per_column)))


def _fitted(text: str, width_in: float, fontsize: float = 12.0) -> str:
    """`text` broken into lines at spaces so that each fits `width_in` inches at `fontsize` points
    (0.55 em a character on average: long route titles would otherwise run off both sides)."""
    per_line = max(20, int(width_in * 72.0 / (0.55 * fontsize)))
    return "\n".join(textwrap.wrap(text, per_line, break_long_words=False, break_on_hyphens=False)) or text


def _no_data(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", color="0.4")


def _name(station: str, station_names: Mapping[str, str], max_chars: int = 60) -> str:
    """The station's English name (its id when unnamed), shortened with an ellipsis past `max_chars`."""
    name = str(station_names.get(station, station))
    return name if len(name) <= max_chars else name[:max_chars - 1].rstrip() + "\u2026"


def _of_line(trains: pd.DataFrame, line: str) -> pd.DataFrame:
    """The calls on `line`'s track (its own trains and trains running through onto it; by `line`
    when the table has no `track`), with plain-string ids (categoricals dropped), sorted by train,
    seq and arrival (a station passed without stopping has the seq of the stop before it)."""
    df = trains[trains["track" if "track" in trains else "line"].astype(str) == line].copy()
    for col in ("train_id", "service", "direction", "station"):
        df[col] = df[col].astype(str)
    return df.sort_values(["train_id", "seq", "t_arrive"], kind="stable")


# ---------------------------------------------------------------------------------------------------
# Output


def save(fig: Figure, path: str | Path) -> Path:
    """Write `fig` as PNG (130 dpi; constrained layout keeps every label on the canvas) to `path`, creating
    its folder; returns the path.

    Closes nothing and touches no global pyplot state (a bare `Figure` is freed with its references).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(STYLE):  # tick labels created while drawing follow it too
        fig.savefig(path, format="png", dpi=DPI, pil_kwargs={"compress_level": 2})  # fast; files ~10 % larger
    return path
