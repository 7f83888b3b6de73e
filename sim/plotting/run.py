"""The standard charts of one run: travel-time distribution, line load profile, time-distance (Marey)
diagram (see common for the conventions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator, MultipleLocator

from .common import (
    _PALETTE,
    ZOOM_BELOW_LF,
    _clock_axis,
    _fitted,
    _name,
    _new_figure,
    _no_data,
    _of_line,
    clock_label,
    legend_columns,
    styled,
)

PERCENTILES = np.asarray([50.0, 85.0, 95.0])
"""Percentiles marked on travel-time CDFs."""

# ---------------------------------------------------------------------------------------------------
# Travel-time distribution


def _mask_for(trips: pd.DataFrame, mask: pd.Series | np.ndarray, name: str) -> np.ndarray:
    """A boolean mask for the rows of `trips`: a Series is aligned on the index (missing -> False), an
    array must have one entry per row."""
    if isinstance(mask, pd.Series):
        return mask.reindex(trips.index, fill_value=False).to_numpy(dtype=bool)
    arr = np.asarray(mask, dtype=bool)
    if arr.shape != (len(trips),):
        raise ValueError(f"group '{name}': mask has {arr.shape[0] if arr.ndim else 0} entries, "
                         f"the trips table {len(trips)} rows")
    return arr


@styled
def travel_time_distribution(trips_by_label: Mapping[str, pd.DataFrame],
                             groups: Mapping[str, pd.Series | np.ndarray] | None = None) -> Figure:
    """Distribution of door-to-door travel time (min) of arrived commuters, one curve per label.

    `trips_by_label` maps a label (a run, a scenario, ...) to its trips table (columns `status`,
    `travel_time_s` in s). With `groups` (name -> boolean mask over the trips rows, e.g. the named OD
    groups of the run: a Series aligned on the index or an array with one entry per row), each group of
    each label is drawn as an extra curve ("label: group"; just "group" when there is one label).
    Left: histogram as share of the curve's arrived commuters per bin (%), common bins, the mean as a
    dashed vertical line. Right: empirical CDF (share of arrived commuters, %). The legend gives the
    number of arrived commuters and the mean (min) of each curve; commuters still in the system at the
    end of the run are left out (their count is given in the legend when there are any).
    """
    curves: list[tuple[str, np.ndarray, int]] = []   # (label, minutes, n not arrived)
    for label, trips in trips_by_label.items():
        arrived = (trips["status"] == "arrived").to_numpy()
        tt = trips["travel_time_s"].to_numpy(dtype=float) / 60.0
        subsets = [(label, np.ones(len(trips), dtype=bool))]
        for gname, gmask in (groups or {}).items():
            sub_label = gname if len(trips_by_label) == 1 else f"{label}: {gname}"
            subsets.append((sub_label, _mask_for(trips, gmask, gname)))
        for sub_label, m in subsets:
            ok = m & arrived & np.isfinite(tt)
            curves.append((sub_label, tt[ok], int((m & ~arrived).sum())))

    fig = _new_figure(11, 5.2)
    ax_h, ax_c = fig.subplots(1, 2)
    non_empty = [v for _, v, _ in curves if len(v)]
    if non_empty:
        allv = np.concatenate(non_empty)
        hi = float(allv.max())
        width = next((w for w in (0.5, 1, 2, 5, 10, 15, 30, 60) if hi / w <= 60), 120)
        bins = np.arange(0.0, (np.floor(hi / width) + 1) * width + 1e-9, width)
    else:
        bins = np.arange(0.0, 61.0, 5.0)
        width = 5.0

    handles = []
    for k, (label, v, n_out) in enumerate(curves):
        color = _PALETTE[k % len(_PALETTE)]
        if len(v):
            mean = float(v.mean())
            text = f"{label}: n = {len(v):,}, mean {mean:.1f} min"
            ax_h.hist(v, bins=bins, weights=np.full(len(v), 100.0 / len(v)), histtype="step",
                      linewidth=1.6, color=color, gid=f"hist:{label}")
            ax_h.axvline(mean, color=color, linestyle="--", linewidth=1.0, gid=f"mean:{label}")
            xs = np.sort(v)
            ys = np.arange(1, len(xs) + 1) * 100.0 / len(xs)
            ax_c.step(np.concatenate([[xs[0]], xs]), np.concatenate([[0.0], ys]), where="post",
                      color=color, linewidth=1.6, gid=f"cdf:{label}")
            pct = np.percentile(v, PERCENTILES)
            ax_c.plot(pct, PERCENTILES, linestyle="none", marker="o", markersize=5, color=color,
                      gid=f"percentiles:{label}")
            text += ", p50/p85/p95 " + "/".join(f"{x:.0f}" for x in pct) + " min"
        else:
            text = f"{label}: no arrived commuters"
        if n_out:
            text += f" ({n_out:,} not arrived, left out)"
        handles.append(Line2D([], [], color=color, linewidth=1.6, label=text))
    if non_empty:
        handles.append(Line2D([], [], color="0.3", linestyle="--", linewidth=1.0, label="mean (histogram)"))
        handles.append(Line2D([], [], color="0.3", linestyle="none", marker="o", markersize=5,
                              label="p50, p85, p95 (CDF)"))

    ax_h.set_title("Histogram")
    ax_h.set_xlabel("travel time (min)")
    ax_h.set_ylabel(f"share of arrived commuters per {width:g}-min bin (%)")
    ax_c.set_title("Empirical CDF")
    ax_c.set_xlabel("travel time (min)")
    ax_c.set_ylabel("share of arrived commuters (%)")
    ax_c.set_ylim(0, 101)
    ax_c.yaxis.set_major_locator(MultipleLocator(10))
    for ax in (ax_h, ax_c):
        ax.set_xlim(0, bins[-1])
        ax.grid(True, alpha=0.35)
        if not non_empty:
            _no_data(ax, "no arrived commuters")
    fig.suptitle("Door-to-door travel time of arrived commuters")
    fig.legend(handles=handles, loc="outside lower center", ncol=1 if len(handles) > 4 else 2,
               frameon=False, fontsize=9)
    return fig


# ---------------------------------------------------------------------------------------------------
# Line load profile


def _departing_calls(df: pd.DataFrame) -> pd.DataFrame:
    """Calls after which the train runs on (all but each train's last call), with the next station."""
    nxt = df.groupby("train_id", sort=False)["station"].shift(-1)
    out = df.assign(next_station=nxt)
    return out[out["next_station"].notna()]


def path_sections(trains: pd.DataFrame, line: str, path: Sequence[str], t_from: float, t_to: float) -> pd.DataFrame:
    """The calls of `line` departing in [t_from, t_to) from a station of `path` towards the next
    station along it, with `next_station` and `towards` ("up": along the path, "down": against it)."""
    df = _departing_calls(_of_line(trains, line))
    df = df[(df["t_depart"] >= t_from) & (df["t_depart"] < t_to)]
    pos = {s: float(i) for i, s in enumerate(path)}
    here = np.asarray([pos.get(s, np.nan) for s in df["station"]], dtype=float)
    there = np.asarray([pos.get(s, np.nan) for s in df["next_station"]], dtype=float)
    ok = ~np.isnan(here) & ~np.isnan(there)
    return df[ok].assign(towards=np.where(there[ok] > here[ok], "up", "down"))


def served_stations(trains: pd.DataFrame, line: str, path: Sequence[str], t_from: float, t_to: float) -> list[str]:
    """The stations of `path` (in its order) at which a train on `line`'s track stops (`stops`, when
    the table has it) with a call overlapping [t_from, t_to): arrival or departure in the window."""
    df = _of_line(trains, line)
    df = df[(df["t_depart"] >= t_from) & (df["t_arrive"] < t_to)]
    if "stops" in df:
        df = df[df["stops"].astype(bool)]
    present = set(df["station"])
    return [s for s in path if s in present]


def _label_height_in(names: Sequence[str], fontsize: float, degrees: float) -> float:
    """Height (in) that tick labels rotated by `degrees` take below an axis."""
    longest = max((len(n) for n in names), default=0)
    return longest * fontsize * 0.6 / 72.0 * np.sin(np.radians(degrees)) + 0.15


@styled
def line_load_profile(trains: pd.DataFrame, line: str, path: Sequence[str], station_names: Mapping[str, str],
                      t_from: float, t_to: float, title: str | None = None, for_riders: float | None = None,
                      vehicle: str = "train") -> Figure:
    """Departing load per section along one route of a line (`path`: station ids in km order, for
    a Y-shaped line one branch's route; an express's route includes the stations it passes), towards
    the path's last station (top) and towards its first station (bottom).

    Both panels list the same stations: every station of the path at which a train stops in the
    window (see served_stations), in travel order, so that a limited-stop or express route shows
    all its stations whichever direction serves them. Over the calls of `line` that depart in
    [t_from, t_to) (s since midnight) from a listed station towards the next station along the path
    (a train passing a listed station without stopping counts there: it runs that section): the bar
    is the mean and the black mark the maximum of `load_after` (passengers on board when leaving);
    the dashed red steps are the mean `capacity`. A listed station with no such call (the last
    station of each direction) has no bar. Both panels share one y scale; when every load is below
    35 % of capacity it zooms on the loads and a note gives the capacity. The right axis reads the
    load as a share (%) of the mean capacity; the call with the highest load is circled and
    described in the corner. Tick labels are `station_names` (English). `for_riders`: on a line
    with reserved seats, the places a train sells to the model's riders (the rest held by riders the
    model does not carry), drawn as a dotted orange line. `vehicle`: what the line runs ("train",
    or "bus" for a bus bridge), in the titles and notes.
    """
    path = list(dict.fromkeys(path))
    listed = served_stations(trains, line, path, t_from, t_to)
    dep = path_sections(trains, line, path, t_from, t_to)
    dep = dep[dep["station"].isin(listed)]
    names = [_name(s, station_names, 60) for s in listed]
    fontsize = 8 if len(listed) <= 30 else 7
    fig = _new_figure(10.5, 2 * (3.2 + _label_height_in(names, fontsize, 55)) + 1.2)
    axes = fig.subplots(2, 1)
    legend_handles = [
        Patch(facecolor="#4c8cbf", label="mean departing load"),
        Line2D([], [], color="black", marker="_", markersize=10, markeredgewidth=2, linestyle="none",
               label="max departing load"),
    ]
    peak_all = float(dep["load_after"].max()) if not dep.empty else 0.0
    cap_all = float(dep["capacity"].max()) if not dep.empty else 0.0
    zoom = 0 < peak_all < ZOOM_BELOW_LF * cap_all
    top = (peak_all * 1.3 if zoom else max(peak_all, cap_all) * 1.2) or 1.0
    if not zoom and cap_all > 0:
        legend_handles.append(Line2D([], [], color="#d62728", linestyle="--", linewidth=1.5, label="capacity (mean)"))
    if for_riders is not None:
        legend_handles.append(Line2D([], [], color="#ff7f0e", linestyle=":", linewidth=2.0,
                                     label="places sold to the modelled riders"))
        top = max(top, for_riders * 1.2)
    ends = (_name(path[-1], station_names, 60), _name(path[0], station_names, 60)) if path else ("", "")
    for ax, towards, end in zip(axes, ("up", "down"), ends):
        order = listed if towards == "up" else listed[::-1]
        _load_panel(ax, dep[dep["towards"] == towards], order, station_names, top, zoom, fontsize, vehicle)
        if for_riders is not None:
            ax.axhline(for_riders, color="#ff7f0e", linestyle=":", linewidth=2.0, gid="for_riders")
        d = dep[dep["towards"] == towards]
        ax.set_title(f"towards {end}: " + (f"{d['train_id'].nunique()} {_plural(vehicle)}, {len(d):,} departures" if len(d)
                                           else "no departures in the window"))
    fig.suptitle(_fitted(f"{title or 'Line ' + line}: departing load by section, "
                         f"{clock_label(t_from)}\u2013{clock_label(t_to)}", 10.0))
    fig.legend(handles=legend_handles, loc="outside lower center", ncol=4, frameon=False, fontsize=9)
    return fig


def _plural(vehicle: str) -> str:
    """The plural of a vehicle's name ("trains", "buses")."""
    return vehicle + ("es" if vehicle.endswith("s") else "s")


def _load_panel(ax, d: pd.DataFrame, order: list[str], station_names: Mapping[str, str], top: float, zoom: bool,
                fontsize: float, vehicle: str = "train") -> None:
    """One direction of the load profile: a slot per station of `order`, bars where calls depart."""
    ax.set_xlabel(f"departing station (section to the {vehicle}'s next station)")
    ax.set_ylabel("load (passengers on board)")
    ax.grid(True, axis="y", alpha=0.35)
    ax.set_ylim(0, top)
    ax.set_xlim(-0.6, max(len(order), 1) - 0.4)
    ax.set_xticks(np.arange(len(order)), [_name(s, station_names, 60) for s in order], rotation=55, ha="right",
                  rotation_mode="anchor", fontsize=fontsize)
    if d.empty:
        _no_data(ax, f"no {vehicle} departures in the window")
        return
    stats = d.groupby("station", sort=False).agg(mean_load=("load_after", "mean"), max_load=("load_after", "max"),
                                                 capacity=("capacity", "mean")).reindex(order)
    x = np.arange(len(order))
    has = stats["mean_load"].notna().to_numpy()
    ax.bar(x[has], stats["mean_load"].to_numpy()[has], width=0.7, color="#4c8cbf", gid="mean_load")
    for xx in x[~has]:  # listed (served in the other direction, or the end of this one) but left by no train
        ax.text(xx, top * 0.02, f"no {vehicle} leaves", rotation=90, ha="center", va="bottom", fontsize=7, color="0.45")
    ax.plot(x[has], stats["max_load"].to_numpy()[has], color="black", marker="_", markersize=10, markeredgewidth=2,
            linestyle="none", gid="max_load")
    edges = np.arange(len(order) + 1) - 0.5
    ax.plot(np.repeat(edges, 2)[1:-1], np.repeat(stats["capacity"].to_numpy(dtype=float), 2),
            color="#d62728", linestyle="--", linewidth=1.5, gid="capacity")
    cap_ref = float(d["capacity"].mean())
    if zoom:
        ax.text(0.995, 0.975, f"capacity (mean) {cap_ref:,.0f}: above the scale", transform=ax.transAxes,
                ha="right", va="top", fontsize=8.5, color="#d62728")
    if cap_ref <= 0:
        return
    sec = ax.secondary_yaxis("right", functions=(lambda y, c=cap_ref: y / c * 100.0,
                                                 lambda lf, c=cap_ref: lf * c / 100.0))
    sec.set_ylabel("% of mean capacity")
    ipk = int(np.nanargmax(stats["max_load"].to_numpy(dtype=float)))
    at = d[d["station"] == order[ipk]]
    pk = at.iloc[int(np.argmax(at["load_after"].to_numpy()))]
    ax.plot([ipk], [pk["load_after"]], linestyle="none", marker="o", markersize=9, markerfacecolor="none",
            markeredgecolor="black", markeredgewidth=1.2, gid="peak")
    ax.text(0.005, 0.975, f"\u25cb highest load: {pk['load_after']:,.0f} leaving "
            f"{_name(order[ipk], station_names, 60)} at {clock_label(pk['t_depart'])} = "
            f"{pk['load_after'] / pk['capacity'] * 100:.0f} % of the {vehicle}'s capacity",
            transform=ax.transAxes, ha="left", va="top", fontsize=8.5)


# ---------------------------------------------------------------------------------------------------
# Time-distance (Marey) diagram


@styled
def marey_diagram(trains: pd.DataFrame, line: str, km_of_station: Mapping[str, float],
                  station_names: Mapping[str, str], t_from: float, t_to: float,
                  colors: Mapping[str, str] | None = None, service_names: Mapping[str, str] | None = None,
                  title: str | None = None, closures: Sequence[tuple[float, float, float, float]] = (),
                  vehicle: str = "train") -> Figure:
    """Time-distance (Marey) diagram of one line: x = clock time (HH:MM), y = km post (km).

    `closures`: (start, end (s since midnight), km post at each end of the section) of the track
    closed, shaded (hatched grey, "track closed" in the legend).

    Each train of `line` with a call in [t_from, t_to) (s since midnight; a call counts when its
    [t_arrive, t_depart] overlaps the window) is a polyline through (t_arrive, km) and (t_depart, km) of
    its calls in `seq` order, so dwells are horizontal. Services are named by `service_names` (e.g.
    "Weiting \u2192 Huaqiao, all stops"; the service id when missing); services of the same name share
    a colour (`colors`: service -> colour, that of the name's first service; default a fixed
    palette) and a legend entry, in name order. The x range is the window. Stations
    missing from `km_of_station` (e.g. the other branch of a Y-shaped line) are skipped. y ticks sit
    at every station's km post, labelled with `station_names` (English). `title` names the line or
    route (default "Line <line>"); `vehicle`: what the line runs ("train", or "bus"), in the title.
    """
    df = _of_line(trains, line)
    df = df[df["station"].isin(list(km_of_station))]
    in_window = (df["t_depart"] >= t_from) & (df["t_arrive"] < t_to)
    shown = set(df.loc[in_window, "train_id"])
    df = df[df["train_id"].isin(shown)]

    n_stations = len(set(_of_line(trains, line)["station"]) & set(km_of_station)) or len(km_of_station)
    fig = _new_figure(11, 7.5 + max(0, n_stations - 30) * 0.15)
    ax = fig.subplots()
    services = sorted(df["service"].unique()) if not df.empty else []
    name_of = {s: (service_names or {}).get(s, s) for s in services}
    names = sorted(set(name_of.values()))
    first_of = {n: next(s for s in services if name_of[s] == n) for n in names}
    color_of_name = {n: (colors or {}).get(first_of[n], _PALETTE[k % len(_PALETTE)]) for k, n in enumerate(names)}
    color_of = {s: color_of_name[name_of[s]] for s in services}
    width = 1.3 if len(shown) <= 40 else (1.0 if len(shown) <= 100 else 0.7)
    paths: dict[str, list[np.ndarray]] = {s: [] for s in services}
    for _, calls in df.groupby("train_id", sort=False):
        km = calls["station"].map(km_of_station).to_numpy(dtype=float)
        t = np.column_stack([calls["t_arrive"].to_numpy(dtype=float),
                             calls["t_depart"].to_numpy(dtype=float)]).ravel()
        paths[calls["service"].iloc[0]].append(np.column_stack([t, np.repeat(km, 2)]))
    for service, lines in paths.items():  # one artist per service: a polyline per train, in train order
        ax.add_collection(LineCollection(lines, colors=color_of[service], linewidths=width, gid=service),
                          autolim=False)
    for start, end, km_a, km_b in closures:
        ax.add_patch(Rectangle((start, min(km_a, km_b)), end - start, abs(km_b - km_a), facecolor="0.85",
                               edgecolor="0.45", hatch="//", linewidth=0.8, zorder=0))
    if df.empty:
        _no_data(ax, f"no {_plural(vehicle)} in the window")

    # y: stations of the line that appear in the table (all stations of the map if none do)
    present = set(_of_line(trains, line)["station"]) & set(km_of_station)
    ticks = sorted(present or set(km_of_station), key=lambda s: (km_of_station[s], s))
    kms = [float(km_of_station[s]) for s in ticks]
    ax.set_yticks(kms, [_name(s, station_names) for s in ticks], fontsize=8 if len(ticks) <= 30 else 7)
    if kms:
        pad = max(0.5, (kms[-1] - kms[0]) * 0.02)
        ax.set_ylim(kms[0] - pad, kms[-1] + pad)
    ax.set_xlim(t_from, t_to)
    _clock_axis(ax.xaxis, t_to - t_from)
    ax.grid(True, axis="y", alpha=0.3, linewidth=0.6)
    ax.grid(True, axis="x", alpha=0.45)
    sec = ax.secondary_yaxis("right")
    sec.yaxis.set_major_locator(MaxNLocator(10))
    sec.set_ylabel("km post (km)")
    ax.set_xlabel("clock time (HH:MM)")
    ax.set_ylabel("station (at its km post)")
    ax.set_title(_fitted(f"{title or 'Line ' + line}: time-distance diagram, {clock_label(t_from)}\u2013"
                         f"{clock_label(t_to)} ({len(shown)} {_plural(vehicle)})", 8.5))
    handles: list[Artist] = [Line2D([], [], color=color_of_name[n], linewidth=2, label=n) for n in names]
    if closures:
        handles.append(Patch(facecolor="0.85", edgecolor="0.45", hatch="//", label="track closed"))
    if handles and max((len(n) for n in names), default=0) > 40:  # long names (e.g. imported feeds): below
        fig.legend(handles=handles, title="service", loc="outside lower center",
                   ncol=legend_columns([str(h.get_label()) for h in handles], 11), frameon=False, fontsize=9)
    elif handles:
        fig.legend(handles=handles, title="service", loc="outside right upper", frameon=False, fontsize=9)
    return fig




# ---------------------------------------------------------------------------------------------------
# Boardings and alightings, crowding over the day, queues


@styled
def boardings_alightings(trains: pd.DataFrame, line: str, path: Sequence[str], station_names: Mapping[str, str],
                         t_from: float, t_to: float, title: str | None = None) -> Figure:
    """Passengers boarding and alighting at each station of a route of `line` (`path`: station ids
    in km order), both directions together, over the train calls departing in [t_from, t_to)."""
    df = _of_line(trains, line)
    df = df[(df["t_depart"] >= t_from) & (df["t_depart"] < t_to) & df["station"].isin(list(path))]
    if "stops" in df:
        df = df[df["stops"].astype(bool)]
    sums = df.groupby("station")[["boarded", "alighted"]].sum().reindex(list(path), fill_value=0)
    fig = _new_figure(11, 5.5)
    ax = fig.subplots()
    x = np.arange(len(path))
    ax.bar(x - 0.2, sums["boarded"], width=0.4, color="#4c8cbf", label="boarding", gid="boarded")
    ax.bar(x + 0.2, sums["alighted"], width=0.4, color="#f28e2b", label="alighting", gid="alighted")
    ax.set_xticks(x, [_name(s, station_names) for s in path], rotation=55, ha="right", rotation_mode="anchor",
                  fontsize=8 if len(path) <= 30 else 7)
    ax.set_xlim(-0.6, len(path) - 0.4)
    ax.set_ylabel("passengers (both directions)")
    ax.grid(True, axis="y", alpha=0.35)
    ax.set_title(f"{title or 'Line ' + line}: boarding and alighting by station, "
                 f"{clock_label(t_from)}\u2013{clock_label(t_to)} ({int(sums['boarded'].sum()):,} boardings)")
    ax.legend(frameon=False)
    if df.empty:
        _no_data(ax, "no train calls in the window")
    return fig


@styled
def crowding_heatmap(trains: pd.DataFrame, line: str, path: Sequence[str], station_names: Mapping[str, str],
                     t_from: float, t_to: float, towards_up: bool, title: str | None = None,
                     bin_s: float = 900.0) -> Figure:
    """Mean load factor (% of capacity) of the trains leaving each station of a route (`path`,
    km order) towards its last (`towards_up`) or first station, by `bin_s` time bins of departure
    in [t_from, t_to): rows = departing station in travel order, columns = time of day."""
    path = list(dict.fromkeys(path))
    d = path_sections(trains, line, path, t_from, t_to)
    d = d[d["towards"] == ("up" if towards_up else "down")]
    order = (path if towards_up else path[::-1])[:-1]  # the last station has no departing section
    edges = np.arange(t_from, t_to + bin_s / 2, bin_s)
    grid = np.full((len(order), len(edges) - 1), np.nan)
    if not d.empty:
        col = np.clip(((d["t_depart"].to_numpy() - t_from) // bin_s).astype(int), 0, len(edges) - 2)
        row = d["station"].map({s: i for i, s in enumerate(order)}).to_numpy()
        lf = (d["load_after"] / d["capacity"]).to_numpy() * 100.0
        total = np.zeros_like(grid)
        count = np.zeros_like(grid)
        np.add.at(total, (row, col), lf)
        np.add.at(count, (row, col), 1)
        grid = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    fig = _new_figure(11, 3.5 + 0.2 * len(order))
    ax = fig.subplots()
    mesh = ax.pcolormesh(edges, np.arange(len(order) + 1), grid, cmap="YlOrRd", vmin=0, vmax=100, gid="heat")
    ax.set_yticks(np.arange(len(order)) + 0.5, [_name(s, station_names) for s in order], fontsize=7.5)
    ax.invert_yaxis()
    ax.set_xlim(t_from, t_to)
    _clock_axis(ax.xaxis, t_to - t_from)
    ax.set_xlabel(f"departure time ({bin_s / 60:g}-min bins)")
    ax.set_ylabel("departing station")
    end = _name((path if towards_up else path[::-1])[-1], station_names, 40) if path else ""
    ax.set_title(f"{title or 'Line ' + line}, towards {end}: mean load factor of departing trains, "
                 f"{clock_label(t_from)}\u2013{clock_label(t_to)}")
    fig.colorbar(mesh, ax=ax, label="load factor (% of capacity; 100 = full, blank = no train)")
    return fig


@styled
def queue_lengths(facilities: pd.DataFrame, labels: Mapping[str, str], t_from: float, t_to: float) -> Figure:
    """Persons queueing (joined, not yet served) over time at the facilities named in `labels`
    (facility id -> label, e.g. the busiest ones), one line each, over [t_from, t_to)."""
    fig = _new_figure(11, 5.5 + 0.18 * ((len(labels) + 1) // 2))
    ax = fig.subplots()
    for k, (fid, label) in enumerate(labels.items()):
        # compared as they are (categories): as strings, a city day's 3 x 10^7 visits took 8 s and 2.7 GB each
        f = facilities[facilities["facility_id"] == fid].dropna(subset=["t_start"])
        t = np.concatenate([f["t_join"].to_numpy(), f["t_start"].to_numpy()])
        step = np.concatenate([np.ones(len(f)), -np.ones(len(f))])
        order = np.lexsort((step, t))
        ax.step(t[order], np.cumsum(step[order]), where="post", color=_PALETTE[k % len(_PALETTE)],
                linewidth=1.3, label=label, gid=f"queue:{fid}")
    ax.set_xlim(t_from, t_to)
    _clock_axis(ax.xaxis, t_to - t_from)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("clock time (HH:MM)")
    ax.set_ylabel("persons queueing")
    ax.grid(True, alpha=0.35)
    ax.set_title(f"Queues at the busiest facilities, {clock_label(t_from)}\u2013{clock_label(t_to)}")
    if labels:  # under the axes: a legend inside would hide the peaks
        fig.legend(loc="outside lower center", ncol=2, frameon=False, fontsize=8.5)
    else:
        _no_data(ax, "no facilities")
    return fig
