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


def line_paths(network: Network, line_id: str) -> list[list[int]]:
    """The distinct end-to-end station runs of a line's patterns (a Y-shaped line has two), each in
    km order; runs contained in another (short turns, express) are dropped."""
    line = network.lines[network.line_index[line_id]]
    runs = [sorted(p.stops, key=line.km.__getitem__) for p in network.patterns if p.line == line.index]
    full: list[list[int]] = []
    for run in sorted(runs, key=len, reverse=True):
        if not any(set(run) <= set(f) for f in full):
            full.append(run)
    return full


def peak_hour(trips: pd.DataFrame, t_from: float, t_to: float) -> tuple[float, float]:
    """The hour, starting on a half hour within [t_from, t_to), in which most commuters set off."""
    t = trips["t_depart"].to_numpy()
    best, best_n = t_from, -1
    start = t_from
    while start + 3600.0 <= max(t_to, t_from + 3600.0):
        n = int(((t >= start) & (t < start + 3600.0)).sum())
        if n > best_n:
            best, best_n = start, n
        start += 1800.0
    return best, best + 3600.0


def write_standard_plots(out_dir: Path, network: Network, trips: pd.DataFrame, trains: pd.DataFrame,
                         groups: dict[str, pd.Series], t_from: float, t_to: float) -> list[Path]:
    """Travel-time distribution (all commuters and each named group), per line a load profile over
    [t_from, t_to) and a Marey diagram of the peak hour. Returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    names = {s.id: s.name_en for s in network.stations}
    by_label = {"all commuters": trips}
    for name, mask in groups.items():
        by_label[name] = trips[mask.to_numpy()]
    fig = plotting.travel_time_distribution(by_label)
    written.append(out_dir / "travel_time_distribution.png")
    plotting.save(fig, written[-1])
    peak_from, peak_to = peak_hour(trips, t_from, t_to)
    for line in network.lines:
        if not (trains["line"] == line.id).any():
            continue
        order = line_station_order(network, line.id)
        fig = plotting.line_load_profile(trains, line.id, order, names, t_from, t_to)
        written.append(out_dir / f"load_profile_{line.id}.png")
        plotting.save(fig, written[-1])
        paths = line_paths(network, line.id)
        for path in paths:
            km = {network.stations[s].id: line.km[s] for s in path}
            fig = plotting.marey_diagram(trains, line.id, km, names, peak_from, peak_to, colors=None)
            suffix = "" if len(paths) == 1 else f"_to_{network.stations[path[-1]].id}"
            written.append(out_dir / f"marey_{line.id}{suffix}.png")
            plotting.save(fig, written[-1])
    return written
