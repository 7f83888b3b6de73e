"""The standard charts of one run: travel-time distribution, line load profile, time-distance (Marey)
diagram (see common for the conventions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, MultipleLocator

from .common import _PALETTE, ZOOM_BELOW_LF, _clock_axis, _name, _new_figure, _no_data, _of_line, clock_label

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
        arrived = (trips["status"].astype(str) == "arrived").to_numpy()
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
        else:
            text = f"{label}: no arrived commuters"
        if n_out:
            text += f" ({n_out:,} not arrived, left out)"
        handles.append(Line2D([], [], color=color, linewidth=1.6, label=text))
    if non_empty:
        handles.append(Line2D([], [], color="0.3", linestyle="--", linewidth=1.0, label="mean (histogram)"))

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


def line_load_profile(trains: pd.DataFrame, line: str, station_order: Sequence[str],
                      station_names: Mapping[str, str], t_from: float, t_to: float) -> Figure:
    """Departing load per section of one line, direction "up" (top panel) and "down" (bottom panel).

    Sections are keyed by the departing station. Over the calls of `line` that depart in
    [t_from, t_to) (s since midnight) and are not a train's last call: the bar is the mean and the
    black mark the maximum of `load_after` (passengers on board when leaving the station); the dashed
    red steps are the mean `capacity` (passengers) of those calls. Both panels share one y scale; when
    every load in the window is below 35 % of capacity it zooms on the loads and a note gives the
    capacity instead. The right axis reads
    the load as a load factor (%) of the window's mean capacity (exact when all trains have the same
    capacity); the call with the highest load is circled and its load factor given in the corner.

    `station_order` lists the line's station ids in km order, for a Y-shaped line the main trunk first
    and then the branch stations; "up" sections are drawn in that order, "down" ones in reverse. Only
    stations with departures in the window are drawn; stations not in `station_order` are appended
    after them (by mean call sequence number). A dotted vertical line separates chart neighbours that
    no train runs between (e.g. the end of the trunk and the start of a branch). Tick labels are
    `station_names` (English names; ids when missing).
    """
    df = _of_line(trains, line)
    dep = _departing_calls(df)
    dep = dep[(dep["t_depart"] >= t_from) & (dep["t_depart"] < t_to)]
    order = list(dict.fromkeys(station_order))

    fig = _new_figure(12, 9.5)
    axes = fig.subplots(2, 1)
    legend_handles = [
        Patch(facecolor="#4c8cbf", label="mean departing load"),
        Line2D([], [], color="black", marker="_", markersize=10, markeredgewidth=2, linestyle="none",
               label="max departing load"),
    ]
    capacity_handle = Line2D([], [], color="#d62728", linestyle="--", linewidth=1.5, label="capacity (mean)")
    seam_handle = Line2D([], [], color="0.5", linestyle=":", linewidth=1.2,
                         label="no train runs between these neighbours (e.g. trunk | branch)")
    # one y scale for both panels: zoom on the loads only when every load of the window is light
    peak_all = float(dep["load_after"].max()) if not dep.empty else 0.0
    cap_all = float(dep["capacity"].max()) if not dep.empty else 0.0
    zoom = 0 < peak_all < ZOOM_BELOW_LF * cap_all
    top = (peak_all * 1.3 if zoom else max(peak_all, cap_all) * 1.2) or 1.0
    if not zoom and cap_all > 0:
        legend_handles.append(capacity_handle)
    for ax, direction in zip(axes, ("up", "down")):
        d = dep[dep["direction"] == direction]
        ax.set_xlabel("departing station (section to the train's next stop)")
        ax.set_ylabel("load (passengers on board)")
        ax.grid(True, axis="y", alpha=0.35)
        if d.empty:
            ax.set_title(f"direction {direction}: no departures in the window")
            _no_data(ax, "no train departures in the window")
            ax.set_xticks([])
            continue
        stats = d.groupby("station", sort=False).agg(
            mean_load=("load_after", "mean"), max_load=("load_after", "max"),
            capacity=("capacity", "mean"))
        seq_order = order if direction == "up" else order[::-1]
        known = set(order)
        mean_seq = d.groupby("station", sort=False)["seq"].mean()
        extra = sorted((s for s in stats.index if s not in known), key=lambda s: mean_seq[s])
        stations = [s for s in seq_order if s in stats.index] + extra
        stats = stats.loc[stations]
        pairs = set(zip(d["station"], d["next_station"]))
        x = np.arange(len(stations))

        ax.bar(x, stats["mean_load"], width=0.7, color="#4c8cbf", gid="mean_load")
        ax.plot(x, stats["max_load"], color="black", marker="_", markersize=10, markeredgewidth=2,
                linestyle="none", gid="max_load")
        edges = np.arange(len(stations) + 1) - 0.5
        ax.plot(np.repeat(edges, 2)[1:-1], np.repeat(stats["capacity"].to_numpy(dtype=float), 2),
                color="#d62728", linestyle="--", linewidth=1.5, gid="capacity")
        # neighbours on the chart that no train runs between: the trunk/branch seam of a Y-line
        for i in range(len(stations) - 1):
            if (stations[i], stations[i + 1]) not in pairs:
                ax.axvline(i + 0.5, color="0.5", linestyle=":", linewidth=1.2, gid="seam")
                if seam_handle not in legend_handles:
                    legend_handles.append(seam_handle)

        cap_ref = float(d["capacity"].mean())
        if zoom:   # light loads: the capacity line is above the scale
            ax.text(0.995, 0.975, f"capacity (mean) {cap_ref:,.0f}: above the scale", transform=ax.transAxes,
                    ha="right", va="top", fontsize=8.5, color="#d62728")
        ax.set_ylim(0, top)
        ax.set_xlim(-0.6, len(stations) - 0.4)
        if cap_ref > 0:
            sec = ax.secondary_yaxis("right", functions=(lambda y, c=cap_ref: y / c * 100.0,
                                                         lambda lf, c=cap_ref: lf * c / 100.0))
            sec.set_ylabel(f"load factor (% of mean capacity {cap_ref:,.0f})")
            ipk = int(np.argmax(stats["max_load"].to_numpy()))
            pk = d.loc[d.loc[d["station"] == stations[ipk], "load_after"].idxmax()]
            ax.plot([ipk], [pk["load_after"]], linestyle="none", marker="o", markersize=9, markerfacecolor="none",
                    markeredgecolor="black", markeredgewidth=1.2, gid="peak")
            ax.text(0.005, 0.975, f"\u25cb highest load: {pk['load_after']:,.0f} leaving "
                    f"{_name(stations[ipk], station_names)} at {clock_label(pk['t_depart'])} = "
                    f"{pk['load_after'] / pk['capacity'] * 100:.0f} % of the train's capacity",
                    transform=ax.transAxes, ha="left", va="top", fontsize=8.5)
        ax.set_xticks(x, [_name(s, station_names) for s in stations], rotation=55, ha="right",
                      rotation_mode="anchor", fontsize=8)
        n_trains = d["train_id"].nunique()
        km_sense = "increasing" if direction == "up" else "decreasing"
        ax.set_title(f"direction {direction} (km {km_sense}): {n_trains} trains, {len(d):,} departures")
    fig.suptitle(f"Line {line}: departing load by section, train departures "
                 f"{clock_label(t_from)}\u2013{clock_label(t_to)}")
    fig.legend(handles=legend_handles, loc="outside lower center", ncol=4, frameon=False, fontsize=9)
    return fig


# ---------------------------------------------------------------------------------------------------
# Time-distance (Marey) diagram


def _thin_labels(kms: list[float], labels: list[str], limit: int = 30) -> list[str]:
    """Keep every label when at most `limit`, else every other one (first and last always kept)."""
    if len(labels) <= limit:
        return labels
    keep = [i % 2 == 0 or i == len(labels) - 1 for i in range(len(labels))]
    # with an even count both of the last two are kept: drop the second-to-last if it is too close
    if len(labels) >= 3 and keep[-2] and kms[-1] - kms[-2] < (kms[-1] - kms[0]) / limit:
        keep[-2] = False
    return [lab if k else "" for lab, k in zip(labels, keep)]


def marey_diagram(trains: pd.DataFrame, line: str, km_of_station: Mapping[str, float],
                  station_names: Mapping[str, str], t_from: float, t_to: float,
                  colors: Mapping[str, str] | None = None) -> Figure:
    """Time-distance (Marey) diagram of one line: x = clock time (HH:MM), y = km post (km).

    Each train of `line` with a call in [t_from, t_to) (s since midnight; a call counts when its
    [t_arrive, t_depart] overlaps the window) is a polyline through (t_arrive, km) and (t_depart, km) of
    its calls in `seq` order, so dwells are horizontal. Colour by `service` (`colors`: service ->
    colour, default a fixed palette), one legend entry per service. The x range is the window.
    Stations missing from `km_of_station` are skipped. y ticks sit at the stations' km posts, labelled
    with `station_names` (English); above 30 stations every other label is shown (first and last
    always). On a Y-shaped line the branches share the km range beyond the junction.
    """
    df = _of_line(trains, line)
    df = df[df["station"].isin(list(km_of_station))]
    in_window = (df["t_depart"] >= t_from) & (df["t_arrive"] < t_to)
    shown = set(df.loc[in_window, "train_id"])
    df = df[df["train_id"].isin(shown)]

    fig = _new_figure(12, 7.5)
    ax = fig.subplots()
    services = sorted(df["service"].unique()) if not df.empty else []
    color_of = {s: (colors or {}).get(s, _PALETTE[k % len(_PALETTE)]) for k, s in enumerate(services)}
    width = 1.3 if len(shown) <= 40 else (1.0 if len(shown) <= 100 else 0.7)
    for train_id, calls in df.groupby("train_id", sort=False):
        km = calls["station"].map(km_of_station).to_numpy(dtype=float)
        t = np.column_stack([calls["t_arrive"].to_numpy(dtype=float),
                             calls["t_depart"].to_numpy(dtype=float)]).ravel()
        ax.plot(t, np.repeat(km, 2), color=color_of[calls["service"].iloc[0]], linewidth=width, gid=str(train_id))
    if df.empty:
        _no_data(ax, "no trains in the window")

    # y: stations of the line that appear in the table (all stations of the map if none do)
    present = set(_of_line(trains, line)["station"]) & set(km_of_station)
    ticks = sorted(present or set(km_of_station), key=lambda s: (km_of_station[s], s))
    kms = [float(km_of_station[s]) for s in ticks]
    labels = _thin_labels(kms, [_name(s, station_names) for s in ticks])
    ax.set_yticks(kms, labels, fontsize=8)
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
    ax.set_title(f"Line {line}: time-distance diagram, {clock_label(t_from)}\u2013{clock_label(t_to)} "
                 f"({len(shown)} trains)")
    handles = [Line2D([], [], color=color_of[s], linewidth=2, label=s) for s in services]
    if handles:
        fig.legend(handles=handles, title="service", loc="outside right upper", frameon=False, fontsize=9)
    return fig


