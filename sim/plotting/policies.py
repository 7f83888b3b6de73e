"""Charts of the integration policies in force: the coordination offset chosen by simulation
against its candidates."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from .common import _new_figure, styled

PANELS = (("objective_s", "generalised cost, min", 60.0), ("onward_wait_mean_s", "onward wait of the transfer, min", 60.0),
          ("denied_commuters", "commuters left behind at least once", 1.0),
          ("travel_time_mean_s", "travel time, min", 60.0))
"""(candidate column, axis label, divisor) of each panel."""


@styled
def coordination_tradeoff(candidates: pd.DataFrame, chosen_s: float, title: str) -> Figure:
    """Each candidate offset (one row: `offset_s` and the PANELS columns) against what it gives:
    the objective (mean generalised cost of the riders of the shifted services), the transfer flow's
    onward wait, the riders left behind by full trains and the mean travel time; the chosen offset
    marked."""
    fig = _new_figure(11, 7)
    axes = fig.subplots(2, 2, sharex=True).ravel()
    minutes = candidates["offset_s"].to_numpy(dtype=float) / 60.0
    for ax, (col, label, div) in zip(axes, PANELS):
        values = pd.to_numeric(candidates[col], errors="coerce") if col in candidates else None
        if values is None or values.isna().all():
            ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes, color="0.4")
        else:
            ax.plot(minutes, values.to_numpy(dtype=float) / div, marker="o", color="#1f77b4")
        ax.axvline(chosen_s / 60.0, color="#d62728", linestyle="--", linewidth=1.2)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.35)
    for ax in axes[2:]:
        ax.set_xlabel("offset of the receiving trains, min")
    axes[0].set_title("objective (chosen offset dashed)", fontsize=10)
    fig.suptitle(title)
    return fig
