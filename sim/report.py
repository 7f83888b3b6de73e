"""The standard charts of one run, written as PNG files (uses `plotting` for the drawing)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import plotting
from .network import Network


def line_station_order(network: Network, line_id: str) -> list[str]:
    """A line's station ids: its first branch in order, then the other branches' new stations."""
    line = network.lines[network.line_index[line_id]]
    order: list[str] = []
    for branch in line.branches:
        for s in branch:
            sid = network.stations[s].id
            if sid not in order:
                order.append(sid)
    return order


def write_standard_plots(out_dir: Path, network: Network, trips: pd.DataFrame, trains: pd.DataFrame,
                         groups: dict[str, pd.Series], t_from: float, t_to: float) -> list[Path]:
    """Travel-time distribution (all commuters and each named group), and per line a load profile
    and a Marey diagram over [t_from, t_to). Returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    names = {s.id: s.name_en for s in network.stations}
    by_label = {"all commuters": trips}
    for name, mask in groups.items():
        by_label[name] = trips[mask.to_numpy()]
    fig = plotting.travel_time_distribution(by_label)
    written.append(out_dir / "travel_time_distribution.png")
    plotting.save(fig, written[-1])
    for line in network.lines:
        if not (trains["line"] == line.id).any():
            continue
        order = line_station_order(network, line.id)
        fig = plotting.line_load_profile(trains, line.id, order, names, t_from, t_to)
        written.append(out_dir / f"load_profile_{line.id}.png")
        plotting.save(fig, written[-1])
        km = {network.stations[s].id: k for s, k in line.km.items()}
        fig = plotting.marey_diagram(trains, line.id, km, names, t_from, t_to, colors=None)
        written.append(out_dir / f"marey_{line.id}.png")
        plotting.save(fig, written[-1])
    return written
