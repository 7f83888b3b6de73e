"""A network map of one run: stations at their coordinates, sections coloured by load (see common)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from .common import _name, _new_figure, clock_label, styled


@styled
def network_map(stations: pd.DataFrame, sections: pd.DataFrame, station_names: Mapping[str, str],
                labelled: Sequence[str], t_from: float, t_to: float) -> Figure:
    """Stations (`stations`: columns station, lat, lon) as dots, and every section between two
    consecutive stations of a line (`sections`: columns line, from_station, to_station, load_factor
    = highest departing load / capacity in [t_from, t_to), both directions) as a segment coloured
    and thickened by its load factor. Stations in `labelled` (termini, interchanges) are named.
    Coordinates are drawn equirectangular (longitude scaled by cos(latitude))."""
    pos = {s: (lon, lat) for s, lat, lon in zip(stations["station"], stations["lat"], stations["lon"])}
    lat0 = float(np.mean(stations["lat"])) if len(stations) else 31.0
    scale = np.cos(np.radians(lat0))
    fig = _new_figure(12, 8)
    ax = fig.subplots()
    segs, lf = [], []
    for a, b, f in zip(sections["from_station"], sections["to_station"], sections["load_factor"]):
        if a in pos and b in pos:
            segs.append([(pos[a][0] * scale, pos[a][1]), (pos[b][0] * scale, pos[b][1])])
            lf.append(f)
    lf_pct = np.asarray(lf, dtype=float) * 100.0
    coll = LineCollection(segs, cmap="YlOrRd", linewidths=1.5 + 4.0 * np.clip(lf_pct / 100.0, 0, 1.2),
                          gid="sections")
    coll.set_array(lf_pct)
    coll.set_clim(0, 100)
    ax.add_collection(coll)
    ax.scatter(stations["lon"] * scale, stations["lat"], s=9, color="0.25", zorder=3, gid="stations")
    for s in labelled:
        if s in pos:
            ax.annotate(_name(s, station_names, 30), (pos[s][0] * scale, pos[s][1]), xytext=(4, 4),
                        textcoords="offset points", fontsize=7.5, color="0.15")
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    ticks = ax.get_xticks()
    ax.set_xticks(ticks, [f"{t / scale:.2f}" for t in ticks])
    ax.set_xlabel("longitude (\u00b0E)")
    ax.set_ylabel("latitude (\u00b0N)")
    ax.grid(True, alpha=0.25)
    ax.set_title(f"Network: highest load factor per section, {clock_label(t_from)}\u2013{clock_label(t_to)}")
    fig.colorbar(coll, ax=ax, label="highest load factor (% of capacity)", shrink=0.8)
    return fig
