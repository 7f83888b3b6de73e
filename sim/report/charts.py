"""The charts of one run, written as PNG files with a caption each (uses `plotting` for the drawing).

`standard_charts` are what `run` writes; `all_charts` adds what `plot` draws on request: travel
time by segment, boarding and alighting by station, crowding heat maps, queues at the busiest
facilities. Charts are drawn by two processes where the platform forks (the drawing is pure
Python and single-threaded); the files are the same either way.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from .. import geo, plotting
from ..plotting import clock_label
from .view import RunView

Chart = tuple[Path, str]
"""A PNG written, with its caption."""
Job = Callable[[], Chart]


def _window_text(t0: float, t1: float) -> str:
    return f"{clock_label(t0)}\u2013{clock_label(t1)}"


def chart_job(draw: Callable[[], object], path: Path, caption: str) -> Job:
    def run() -> Chart:
        plotting.save(draw(), path)
        return path, caption
    return run


def travel_time_jobs(view: RunView, out_dir: Path, by_segment: bool) -> list[Job]:
    trips = view.kpi_trips()
    groups = {k: pd.Series(m[view.kpi_mask], index=trips.index) for k, m in view.groups.items()}
    jobs = [chart_job(lambda: plotting.travel_time_distribution({"all commuters": trips}, groups),
                 out_dir / "travel_time_distribution.png",
                 "Door-to-door travel time of arrived commuters (those the KPIs count, after any warm-up): histogram "
                 "(left) and cumulative share with the p50, p85 and p95 marked (right), for all commuters and each "
                 "named OD group.")]
    segments = {str(s): trips[trips["segment"] == s] for s in trips["segment"].cat.categories}
    if by_segment and len(segments) > 1:
        jobs.append(chart_job(lambda: plotting.travel_time_distribution(segments), out_dir / "travel_time_by_segment.png",
                         "Travel time by demand segment (same layout as the distribution of all commuters)."))
    return jobs


def line_jobs(view: RunView, out_dir: Path, window: tuple[float, float], lines: Iterable[str], extra: bool) -> list[Job]:
    t0, t1 = window
    jobs: list[Job] = []
    for line in lines:
        paths = view.paths(line)
        for path in paths:
            title = view.route_title(line, path)
            suffix = "" if len(paths) == 1 else f"_to_{path[-1]}"
            jobs.append(chart_job(lambda line=line, path=path, title=title: plotting.line_load_profile(
                view.trains, line, path, view.names, t0, t1, title=title), out_dir / f"load_profile_{line}{suffix}.png",
                f"{title}: mean (bars) and highest (marks) load leaving each station, {_window_text(t0, t1)}, in "
                "each direction; the circled call is the fullest."))
            jobs.append(chart_job(lambda line=line, path=path, title=title: plotting.marey_diagram(
                view.trains, line, view.km(line, path), view.names, t0, t1, service_names=view.service_names,
                title=title), out_dir / f"marey_{line}{suffix}.png",
                f"{title}: time-distance diagram of the trains running {_window_text(t0, t1)} (flat steps are dwells "
                "and waits; a train never passes through another)."))
            if not extra:
                continue
            jobs.append(chart_job(lambda line=line, path=path, title=title: plotting.boardings_alightings(
                view.trains, line, path, view.names, t0, t1, title=title), out_dir / f"boardings_{line}{suffix}.png",
                f"{title}: passengers boarding and alighting at each station, {_window_text(t0, t1)}."))
            for up, tag in ((True, "up"), (False, "down")):
                end = view.names.get(path[-1] if up else path[0])
                jobs.append(chart_job(lambda line=line, path=path, title=title, up=up: plotting.crowding_heatmap(
                    view.trains, line, path, view.names, *view.period, towards_up=up, title=title),
                    out_dir / f"crowding_{line}{suffix}_{tag}.png",
                    f"{title} towards {end}: mean load factor of the trains leaving each station, by quarter hour "
                    f"over {_window_text(*view.period)}."))
    return jobs


def path_sections_mean(view: RunView, line: str, path: list[str], t0: float, t1: float) -> pd.DataFrame:
    """Mean departing load (passengers) of the sections along a route, by departing station in
    route order: columns `up` (towards the route's last station) and `down`."""
    d = plotting.path_sections(view.trains, line, path, t0, t1)
    if d.empty:
        return pd.DataFrame(np.nan, index=path, columns=["up", "down"])
    m = d.groupby(["station", "towards"])["load_after"].mean().unstack()
    return m.reindex(index=path, columns=["up", "down"])


def section_loads(view: RunView, window: tuple[float, float]) -> pd.DataFrame:
    """Highest load factor of each section of a line (either direction) over the train calls
    departing in `window`."""
    sec = geo.section_loads(view.network, view.trains, window)
    a, b = sec["from_station"].astype(str), sec["to_station"].astype(str)
    sec = sec.assign(from_station=np.minimum(a, b), to_station=np.maximum(a, b), load_factor=sec["max_load_factor"])
    return sec.groupby(["line", "from_station", "to_station"], as_index=False)["load_factor"].max()


def map_job(view: RunView, out_dir: Path, window: tuple[float, float]) -> Job:
    net = view.network
    stations = pd.DataFrame({"station": [s.id for s in net.stations], "lat": [s.lat for s in net.stations],
                             "lon": [s.lon for s in net.stations]})
    ends = {p[i] for ln in view.lines_run() for p in view.paths(ln) for i in (0, -1)}
    labelled = sorted(ends | {net.stations[ic.stations[0]].id for ic in net.interchanges})
    return chart_job(lambda: plotting.network_map(stations, section_loads(view, window), view.names, labelled, *window),
                out_dir / "network_map.png",
                f"The network at its stations' coordinates, each section coloured and thickened by the highest load "
                f"factor of the trains running it {_window_text(*window)}.")


def queue_job(view: RunView, out_dir: Path) -> Job:
    labels = {f: view.facility_label(f) for f in view.busiest_facilities()}
    return chart_job(lambda: plotting.queue_lengths(view.facilities, labels, *view.period), out_dir / "queues.png",
                "Persons queueing over time at the facilities with the longest mean wait (gates, security lanes, "
                "ticket machines).")


def coordination_jobs(view: RunView, out_dir: Path) -> list[Job]:
    """A trade-off chart for each coordination rule whose offset was chosen by simulation."""
    jobs = []
    for rid, rule in view.summary.get("policies", {}).get("coordination", {}).items():
        if rule.get("method") != "simulation" or not rule.get("candidates"):
            continue
        table = pd.DataFrame(rule["candidates"])
        title = f"Coordination '{rid}': offsets of {rule.get('receiver')} tried on the whole scenario"
        jobs.append(chart_job(lambda table=table, rule=rule, title=title: plotting.coordination_tradeoff(
            table, float(rule["chosen_offset_s"]), title), out_dir / f"coordination_{rid}.png",
            f"{title}: each offset run with the same commuters; the objective is the {rule.get('objective')}; "
            f"chosen: {float(rule['chosen_offset_s']):.0f} s (dashed). The other panels show what makes it: the "
            "transfer flow's wait for the receiving train, commuters left behind by full trains, travel time."))
    return jobs


_PENDING: list[Job] = []


def _run_pending(i: int) -> Chart:
    return _PENDING[i]()


def render(jobs: list[Job]) -> list[Chart]:
    """Run chart jobs, by two forked processes when there are several and the platform forks."""
    global _PENDING
    if len(jobs) < 4 or (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [job() for job in jobs]
    _PENDING = jobs
    try:
        with multiprocessing.get_context("fork").Pool(2) as pool:
            return pool.map(_run_pending, range(len(jobs)), chunksize=1)
    finally:
        _PENDING = []


def standard_charts(view: RunView, out_dir: Path, window: tuple[float, float] | None = None,
                    lines: Iterable[str] | None = None) -> list[Chart]:
    """Travel-time distribution, per line route the load profile and time-distance diagram of
    `window` (default: the peak hour), and the network map. Returns the files with captions."""
    out_dir.mkdir(parents=True, exist_ok=True)
    window = window or view.peak_hour
    return render(travel_time_jobs(view, out_dir, False) + line_jobs(view, out_dir, window, lines or view.lines_run(),
                                                                     False) + [map_job(view, out_dir, window)]
                  + coordination_jobs(view, out_dir))


def all_charts(view: RunView, out_dir: Path, window: tuple[float, float] | None = None,
               lines: Iterable[str] | None = None) -> list[Chart]:
    """The standard charts plus travel time by segment, boarding and alighting by station, crowding
    heat maps and queues at the busiest facilities."""
    out_dir.mkdir(parents=True, exist_ok=True)
    window = window or view.peak_hour
    return render(travel_time_jobs(view, out_dir, True) + line_jobs(view, out_dir, window, lines or view.lines_run(),
                                                                    True)
                  + [map_job(view, out_dir, window), queue_job(view, out_dir)] + coordination_jobs(view, out_dir))
