"""A network map of one run: stations at their coordinates, each line's track in its colour and
named, sections coloured by load (see common)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

from .common import _PALETTE, _name, _new_figure, clock_label, legend_columns, styled

LOAD_CMAP = LinearSegmentedColormap.from_list("load", ["#fdd36a", "#fd8d3c", "#e31a1c", "#67000d"])
"""Load factor 0 -> 100 %: from a yellow that stays visible on white (a light section must not vanish)."""
OTHER_LINE = "0.72"
"""Colour of the lines not chosen (`shown`): drawn for orientation, without loads."""


def degrees(value: float, positive: str, negative: str) -> str:
    """A coordinate with its hemisphere letter: 121.40 -> '121.40°E', -3.5 -> '3.50°W'."""
    return f"{abs(value):.2f}\u00b0{positive if value >= 0 else negative}"


@styled
def network_map(stations: pd.DataFrame, sections: pd.DataFrame, station_names: Mapping[str, str],
                labelled: Sequence[str], t_from: float, t_to: float, tracks: pd.DataFrame | None = None,
                lines: Mapping[str, tuple[str, str | None]] | None = None, shown: Sequence[str] | None = None) -> Figure:
    """Stations (`stations`: columns station, lat, lon in degrees) as dots, and every section between
    two consecutive stations of a line (`sections`: columns line, from_station, to_station,
    load_factor = highest departing load / capacity in [t_from, t_to), both directions) as a segment
    coloured and thickened by its load factor (%). `tracks` (columns line, from_station, to_station:
    every pair of consecutive stations of each line) is drawn under the loads as a broad band in the
    line's colour, so that each line reads as one, and each line is tagged with its id on one of
    its sections (lines sharing a track at different places along it); `lines` gives each line's
    name and colour (line id -> (name, colour)) for the tags and the legend; a line without a
    colour, or with one an earlier line has, is drawn in one of a fixed palette. With `shown`, only those lines carry loads; the others are drawn in grey.
    Stations in `labelled` (termini, interchanges) are named. Coordinates are drawn equirectangular
    (longitude scaled by cos(latitude)); the axes read degrees east/west and north/south."""
    pos = {s: (lon, lat) for s, lat, lon in zip(stations["station"], stations["lat"], stations["lon"])}
    lat0 = float(np.mean(stations["lat"])) if len(stations) else 31.0
    scale = np.cos(np.radians(lat0))
    named = dict(lines or {})
    colour = _distinct_colours({ln: c for ln, (_, c) in named.items()})
    chosen = set(shown) if shown is not None else None
    width = 11.0 if len(stations) <= BIG_NETWORK_STATIONS else 14.0  # a city's network needs room for its names
    fig = _new_figure(width, 7.5 if len(stations) <= BIG_NETWORK_STATIONS else 12.5)
    ax = fig.subplots()

    def xy(s: str) -> tuple[float, float]:
        return pos[s][0] * scale, pos[s][1]

    base = tracks if tracks is not None else sections[["line", "from_station", "to_station"]]
    parts = list(base.groupby(base["line"].astype(str), sort=False))
    for k, (line, part) in enumerate(parts):
        segs = [[xy(a), xy(b)] for a, b in zip(part["from_station"], part["to_station"]) if a in pos and b in pos]
        on = chosen is None or line in chosen
        color = colour.get(line, "0.5") if on else OTHER_LINE
        ax.add_collection(LineCollection(segs, colors=color, linewidths=9 if on else 2.5, alpha=0.3 if on else 1.0,
                                         capstyle="round", gid=f"track:{line}"))
        if segs:   # lines sharing a track are tagged at different places along it
            (x0, y0), (x1, y1) = segs[len(segs) * (k + 1) // (len(parts) + 1)]
            ax.text((x0 + x1) / 2, (y0 + y1) / 2, line, ha="center", va="center", fontsize=8, color="white",
                    fontweight="bold", zorder=5, gid=f"tag:{line}",
                    bbox={"boxstyle": "round,pad=0.25", "facecolor": color, "edgecolor": "white", "alpha": 0.95})
    loaded = sections if chosen is None else sections[sections["line"].astype(str).isin(chosen)]
    segs, lf = [], []
    for a, b, f in zip(loaded["from_station"], loaded["to_station"], loaded["load_factor"]):
        if a in pos and b in pos:
            segs.append([xy(a), xy(b)])
            lf.append(f)
    lf_pct = np.asarray(lf, dtype=float) * 100.0
    coll = LineCollection(segs, cmap=LOAD_CMAP, linewidths=1.5 + 4.0 * np.clip(lf_pct / 100.0, 0, 1.2),
                          capstyle="round", gid="sections")
    coll.set_array(lf_pct)
    coll.set_clim(0, 100)
    ax.add_collection(coll)
    ax.scatter(stations["lon"] * scale, stations["lat"], s=9, color="0.25", zorder=3, gid="stations")
    for s in labelled:
        if s in pos:
            ax.annotate(_name(s, station_names, 30), xy(s), xytext=(4, 4), textcoords="offset points", fontsize=7.5,
                        color="0.1", zorder=6, bbox={"boxstyle": "round,pad=0.1", "facecolor": "white",
                                                     "edgecolor": "none", "alpha": 0.7})
    _degree_axes(ax, stations, scale)
    ax.set_title(f"Network: highest load factor per section, {clock_label(t_from)}\u2013{clock_label(t_to)}")
    fig.colorbar(coll, ax=ax, label="highest load factor (% of capacity)", shrink=0.8)
    handles = [Line2D([], [], color=colour[ln] if chosen is None or ln in chosen else OTHER_LINE, linewidth=6,
                      alpha=0.6 if chosen is None or ln in chosen else 1.0,
                      label=f"{ln}: {name}" + ("" if chosen is None or ln in chosen else " (not chosen: no loads)"))
               for ln, (name, _) in named.items()]
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=legend_columns([str(h.get_label()) for h in handles], width),
                   frameon=False, fontsize=9, title="lines (band: the line's colour; core: load factor)", title_fontsize=9)
    return fig


BIG_NETWORK_STATIONS = 150
"""Networks of more stations are drawn on a larger canvas."""


def _distinct_colours(given: Mapping[str, str | None]) -> dict[str, str]:
    """Each line's colour, but one of the palette where it has none or repeats an earlier line's
    (imported feeds often give every route the same default): the map must tell lines apart."""
    out: dict[str, str] = {}
    spare = iter([c for c in _PALETTE if c.lower() not in {str(v).lower() for v in given.values()}] * 10)
    for line, c in given.items():
        out[line] = c if c and c.lower() not in {v.lower() for v in out.values()} else next(spare, "0.5")
    return out


def _degree_axes(ax, stations: pd.DataFrame, scale: float) -> None:
    """Equal aspect; ticks at round degrees, read with E/W and N/S."""
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    if len(stations):
        lon = stations["lon"].to_numpy(dtype=float)
        ticks = np.asarray(MaxNLocator(7).tick_values(float(lon.min()), float(lon.max())), dtype=float)
        ax.xaxis.set_major_locator(FixedLocator((ticks * scale).tolist()))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: degrees(x / scale, "E", "W")))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: degrees(y, "N", "S")))
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.grid(True, alpha=0.25)
