"""The charts of one run, written as PNG files with a caption each (uses `plotting` for the drawing).

`standard_charts` are what `run` writes; `all_charts` adds what `plot` draws on request: travel
time by segment, boarding and alighting by station, crowding heat maps, queues at the busiest
facilities. A window and lines asked for apply to every chart that has a time axis or lines (the
travel-time charts, over all commuters the KPIs count, say that they do not), and a window holding
no simulated time is refused. Charts are drawn by two processes where the platform forks (the
drawing is pure Python and single-threaded); the files are the same either way.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from .. import geo, plotting
from ..errors import UserError
from ..network import Line
from ..plotting import Figure, clock_label
from .view import RunView

log = logging.getLogger(__name__)

Chart = tuple[Path, str]
"""A PNG written, with its caption."""
Job = Callable[[], Chart]


def _window_text(t0: float, t1: float) -> str:
    return f"{clock_label(t0)}\u2013{clock_label(t1)}"


def chart_job(draw: Callable[[], Figure], path: Path, caption: str) -> Job:
    def run() -> Chart:
        plotting.save(draw(), path)
        return path, caption
    return run


def travel_time_jobs(view: RunView, out_dir: Path, by_segment: bool, scope: str = "") -> list[Job]:
    """The travel-time distribution (and by segment); `scope` is added to the captions (e.g. that a
    window and lines asked for do not apply)."""
    trips = view.kpi_trips()
    groups = {k: pd.Series(m[view.kpi_mask], index=trips.index) for k, m in view.groups.items()}
    jobs = [chart_job(lambda: plotting.travel_time_distribution({"all commuters": trips}, groups),
                 out_dir / "travel_time_distribution.png",
                 "Door-to-door travel time of arrived commuters (those the KPIs count, after any warm-up): histogram "
                 "(left) and cumulative share with the p50, p85 and p95 marked (right), for all commuters and each "
                 "named OD group." + scope)]
    segments = {str(s): trips[trips["segment"] == s] for s in trips["segment"].cat.categories}
    if by_segment and len(segments) > 1:
        jobs.append(chart_job(lambda: plotting.travel_time_distribution(segments), out_dir / "travel_time_by_segment.png",
                         "Travel time by demand segment (same layout as the distribution of all commuters)." + scope))
    return jobs


def _line(view: RunView, line: str) -> Line | None:
    """The run's network's line `line` (None if it has none of that id)."""
    k = view.network.line_index.get(line)
    return view.network.lines[k] if k is not None else None


def _vehicle(view: RunView, line: str) -> str:
    """What `line` runs, as the charts name it: "bus" for a bus line (a bus bridge), else "train"."""
    ln = _line(view, line)
    return "bus" if ln is not None and ln.mode in ("bus", "trolleybus") else "train"


def _places_for_riders(view: RunView, line: str) -> float | None:
    """Seats and standing tickets a train of `line` sells to the model's riders, where part of them
    is held by others (schema.ReservationSpec.held_by_others); None otherwise."""
    ln = _line(view, line)
    res = ln.reservations if ln is not None else None
    return float(sum(res.for_riders())) if res is not None and res.held_by_others > 0 else None


def line_jobs(view: RunView, out_dir: Path, window: tuple[float, float], lines: Iterable[str], extra: bool,
              span: tuple[float, float] | None = None) -> list[Job]:
    """Per route of each line: load profile and time-distance diagram of `window`; with `extra` also
    boarding and alighting of `window` and crowding heat maps over `span` (default: the demand period)."""
    t0, t1 = window
    span = span or view.period
    jobs: list[Job] = []
    for line in lines:
        for path in view.paths(line):
            title = view.route_title(line, path)
            suffix = view.path_suffix(line, path)
            sold = _places_for_riders(view, line)
            vehicle = _vehicle(view, line)
            jobs.append(chart_job(partial(plotting.line_load_profile, view.trains, line, path, view.names, t0, t1,
                                          title=title, for_riders=sold, vehicle=vehicle),
                                  out_dir / f"load_profile_{line}{suffix}.png",
                f"{title}: mean (bars) and highest (marks) load leaving each station the route serves "
                f"{_window_text(t0, t1)}, in each direction (the same stations in both, in travel order; trains "
                "passing a station without stopping count there); the circled call is the fullest."
                + (f" Reserved seats: a train sells {sold:,.0f} places to the modelled riders (dotted), the rest of "
                   "its capacity to riders the model does not carry." if sold is not None else "")))
            km = view.km(line, path)
            closed = view.closures(line, km)
            jobs.append(chart_job(partial(plotting.marey_diagram, view.trains, line, km, view.names,
                                          t0, t1, service_names=view.service_names, title=title, closures=closed,
                                          vehicle=vehicle),
                                  out_dir / f"marey_{line}{suffix}.png",
                f"{title}: time-distance diagram of the trains running {_window_text(t0, t1)} (flat steps are dwells "
                "and waits; a train never passes through another)"
                + ("; hatched: the track closed by the scenario's disruption." if closed else ".")))
            if not extra:
                continue
            jobs.append(chart_job(partial(plotting.boardings_alightings, view.trains, line, path, view.names, t0, t1,
                                          title=title), out_dir / f"boardings_{line}{suffix}.png",
                f"{title}: passengers boarding and alighting at each station, {_window_text(t0, t1)}."))
            for up, tag in ((True, "up"), (False, "down")):
                end = view.names.get(path[-1] if up else path[0])
                jobs.append(chart_job(partial(plotting.crowding_heatmap, view.trains, line, path, view.names, *span,
                                              towards_up=up, title=title),
                                      out_dir / f"crowding_{line}{suffix}_{tag}.png",
                    f"{title} towards {end}: mean load factor of the trains leaving each station, by quarter hour "
                    f"over {_window_text(*span)}."))
    return jobs


def path_sections_mean(view: RunView, line: str, path: list[str], t0: float, t1: float) -> pd.DataFrame:
    """Mean departing load (passengers) of the sections along a route, by departing station in
    route order: columns `up` (towards the route's last station) and `down`."""
    d = plotting.path_sections(view.trains, line, path, t0, t1)
    if d.empty:
        return pd.DataFrame(np.nan, index=path, columns=["up", "down"])
    m = d.pivot_table(index="station", columns="towards", values="load_after", aggfunc="mean")
    return m.reindex(index=path, columns=["up", "down"])


def section_loads(view: RunView, window: tuple[float, float]) -> pd.DataFrame:
    """Highest load factor of each section of a line (either direction) over the train calls
    departing in `window`."""
    sec = geo.section_loads(view.network, view.trains, window)
    a, b = sec["from_station"].astype(str), sec["to_station"].astype(str)
    sec = sec.assign(from_station=np.minimum(a, b), to_station=np.maximum(a, b), load_factor=sec["max_load_factor"])
    return sec.groupby(["line", "from_station", "to_station"], as_index=False).agg(load_factor=("load_factor", "max"))


def map_job(view: RunView, out_dir: Path, window: tuple[float, float], lines: list[str] | None = None,
            note: str = "") -> Job:
    """The network map of `window`; with `lines`, only those carry loads (the others drawn grey);
    `note` ends its caption."""
    net = view.network
    stations = pd.DataFrame({"station": [s.id for s in net.stations], "lat": [s.lat for s in net.stations],
                             "lon": [s.lon for s in net.stations]})
    tracks = pd.DataFrame([(ln.id, net.stations[a].id, net.stations[b].id) for ln in net.lines for branch in ln.branches
                           for a, b in zip(branch, branch[1:])], columns=["line", "from_station", "to_station"])
    named = {ln.id: (ln.name, ln.color or None) for ln in net.lines}
    ends = {p[i] for ln in (lines or view.lines_run()) for p in view.paths(ln) for i in (0, -1)}
    # a city's network has too many interchanges to name them all legibly: its termini only
    crowded = len(net.lines) > MAX_LINE_CHARTS
    labelled = sorted(ends if crowded else ends | {net.stations[ic.stations[0]].id for ic in net.interchanges})
    which = (f"; only lines {', '.join(lines)} (as asked) carry loads, the others are grey" if lines else "")
    return chart_job(lambda: plotting.network_map(stations, section_loads(view, window), view.names, labelled, *window,
                                                  tracks=tracks, lines=named, shown=lines),
                     out_dir / "network_map.png",
                     f"The network at its stations' coordinates: each line a band in its colour, tagged with its id, "
                     f"and each section coloured and thickened by the highest load factor of the trains running it "
                     f"{_window_text(*window)}{which}.{note}")


MAX_LINE_CHARTS = 8
"""Lines at most whose load profiles and time-distance diagrams `run` draws by default (the busiest):
a network of many lines would otherwise give hundreds of files (`plot --lines` draws any)."""


def busiest_lines(view: RunView, n: int = MAX_LINE_CHARTS) -> list[str]:
    """The `n` lines run with the most boardings over the run (ties in network order), in network
    order."""
    run = view.lines_run()
    boarded = view.trains.groupby(view.trains["line"].astype(str), observed=True)["boarded"].sum()
    ranked = sorted(range(len(run)), key=lambda i: (-int(boarded.get(run[i], 0)), i))[:n]
    return [run[i] for i in sorted(ranked)]


def queue_job(view: RunView, out_dir: Path, span: tuple[float, float] | None = None,
              lines: list[str] | None = None) -> Job:
    """Queue lengths over `span` (default: the demand period) at the busiest facilities (of the
    stations of `lines`, when given)."""
    span = span or view.period
    stations = None
    if lines:
        stations = {s for ln in lines for p in view.paths(ln) for s in p}
    labels = {f: view.facility_label(f) for f in view.busiest_facilities(stations=stations)}
    where = f" of the stations of lines {', '.join(lines)}" if lines else ""
    return chart_job(lambda: plotting.queue_lengths(view.facilities, labels, *span), out_dir / "queues.png",
                     f"Persons queueing over {_window_text(*span)} at the facilities{where} with the longest mean wait "
                     "over the whole period (gates, security lanes, ticket machines).")


def coordination_jobs(view: RunView, out_dir: Path) -> list[Job]:
    """A trade-off chart for each coordination rule whose offset was chosen by simulation."""
    jobs = []
    for rid, rule in view.summary.get("policies", {}).get("coordination", {}).items():
        if rule.get("method") != "simulation" or not rule.get("candidates"):
            continue
        table = pd.DataFrame(rule["candidates"])
        title = f"Coordination '{rid}': offsets of {rule.get('receiver')} tried on the whole scenario"
        jobs.append(chart_job(partial(plotting.coordination_tradeoff, table, float(rule["chosen_offset_s"]), title),
                              out_dir / f"coordination_{rid}.png",
            f"{title}: each offset run with the same commuters; the objective is the {rule.get('objective')}; "
            f"chosen: {float(rule['chosen_offset_s']):.0f} s (dashed). The other panels show what makes it: the "
            "transfer flow's wait for the receiving train, commuters left behind by full trains, travel time."))
    return jobs


_PENDING: list[Job] = []


def _run_pending(i: int) -> Chart:
    return _PENDING[i]()


def _default_signals() -> None:
    """In a drawing process: SIGTERM and SIGHUP end it at once, as the system would, also while it
    waits for a lock (a Python handler inherited from the command line would wait for the lock first,
    so that ending the pool could not end it)."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


FORKED_CHARTS_TIMEOUT_S = 300.0
"""How long the forked drawing processes may take before the charts are drawn in this process."""


def render(jobs: list[Job]) -> list[Chart]:
    """Run chart jobs, by two forked processes when there are several and the platform forks."""
    global _PENDING
    if len(jobs) < 4 or (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [job() for job in jobs]
    _PENDING = jobs
    try:
        with multiprocessing.get_context("fork").Pool(2, initializer=_default_signals) as pool:
            try:
                return pool.map_async(_run_pending, range(len(jobs)), chunksize=1).get(FORKED_CHARTS_TIMEOUT_S)
            except multiprocessing.TimeoutError:
                # a process forked while another thread held a lock can wait for it forever: draw them here
                log.warning("charts: the drawing processes did not finish in %.0f s; drawing them here",
                            FORKED_CHARTS_TIMEOUT_S)
                pool.terminate()
        return [job() for job in jobs]
    finally:
        _PENDING = []


def check_window(view: RunView, window: tuple[float, float] | None) -> None:
    """UserError when `window` (s since midnight) holds no simulated time (no train runs in it); a
    warning when part of it lies outside the times the trains run."""
    if window is None or view.trains.empty:
        return
    first = np.floor(min(float(view.trains["t_arrive"].min()), view.period[0]) / 60.0) * 60.0  # to the minute
    last = np.ceil(float(view.trains["t_depart"].max()) / 60.0) * 60.0
    t0, t1 = window
    run = f"the run's trains run {_window_text(first, last)}, its commuters start {_window_text(*view.period)}"
    if t1 <= first or t0 >= last:
        raise UserError.single("", "--window", f"{_window_text(t0, t1)} is outside the simulated period ({run}); "
                               "choose a window inside it")
    if t0 < first or t1 > last:
        log.warning("--window %s reaches outside the simulated period (%s): the charts are empty there",
                    _window_text(t0, t1), run)


def standard_charts(view: RunView, out_dir: Path, window: tuple[float, float] | None = None,
                    lines: Iterable[str] | None = None) -> list[Chart]:
    """Travel-time distribution, per line route the load profile and time-distance diagram of
    `window` (default: the peak hour) of `lines` (default: every line, or the MAX_LINE_CHARTS
    busiest of a network with more), and the network map. Returns the files with captions."""
    check_window(view, window)
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen = list(lines) if lines else None
    window = window or view.peak_hour
    drawn, note = chosen or view.lines_run(), ""
    if chosen is None and len(drawn) > MAX_LINE_CHARTS:
        n_lines, drawn = len(drawn), busiest_lines(view)
        note = (f" Load profiles and time-distance diagrams are drawn for the {len(drawn)} of the {n_lines} lines with "
                f"the most boardings ({', '.join(drawn)}); run_sim.py plot RUN_DIR --lines ... draws any other.")
    return render(travel_time_jobs(view, out_dir, False) + line_jobs(view, out_dir, window, drawn, False)
                  + [map_job(view, out_dir, window, chosen, note)] + coordination_jobs(view, out_dir))


def all_charts(view: RunView, out_dir: Path, window: tuple[float, float] | None = None,
               lines: Iterable[str] | None = None) -> list[Chart]:
    """The standard charts plus travel time by segment, boarding and alighting by station, crowding
    heat maps and queues at the busiest facilities. A `window` asked for applies to every chart with
    a time axis (heat maps and queues included; without one they span the demand period), `lines`
    to every chart of lines, the map and the facilities of the queue chart. UserError when the
    window holds no simulated time."""
    check_window(view, window)
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen = list(lines) if lines else None
    span = window or view.period
    shown = window or view.peak_hour
    scope = (" It counts every commuter of the run, whatever the window and lines asked for." if window or chosen
             else "")
    return render(travel_time_jobs(view, out_dir, True, scope)
                  + line_jobs(view, out_dir, shown, chosen or view.lines_run(), True, span)
                  + [map_job(view, out_dir, shown, chosen), queue_job(view, out_dir, span, chosen)]
                  + coordination_jobs(view, out_dir))
