"""Plausibility checks: before a run, refusals of what it could not finish (memory, a track that
cannot clear its timetable); on a prepared run, warnings a modeller should read before trusting
results. (Warnings about values a modeller would hardly mean: sim.input_warnings.)"""

from __future__ import annotations

import contextlib
import os
import re
import resource
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from .bus_bridges import OPERATOR as BUS_BRIDGE
from .errors import Problem, UserError
from .network import Network
from .plan import STEP_RIDE, Plan
from .routing import LegNetwork
from .routing.legs import departure_key
from .timetable import Operations, Trains, build_operations
from .timetable_plan import plan_trains
from .units import format_time

HOUR_S = 3600.0
COMMUTER_BYTES = 1_500
"""Peak memory per commuter (bytes): 1.46 kB measured on the baseline at 1,000,000 commuters."""
CALL_BYTES = 600
"""Peak memory per train call (bytes): 0.6 kB measured on a line with 129,000 calls."""
MAX_PLATFORM_WAIT_S = HOUR_S
"""Longest a train may have to wait for a platform by its timetable alone (see platform_backlog)."""


def available_memory() -> float | None:
    """Bytes this process can still allocate: the least of what the system has available
    (MemAvailable, else its physical memory), the cgroup's limit less its use and the
    address-space limit (`ulimit -v`) less this process's size; None when none is known."""
    known = []
    try:
        meminfo = Path("/proc/meminfo").read_text(encoding="ascii")
    except OSError:
        meminfo = ""
    found = re.search(r"^MemAvailable:\s+(\d+) kB", meminfo, re.M)
    if found is not None:
        known.append(int(found.group(1)) * 1024)
    else:
        with contextlib.suppress(OSError, ValueError):
            known.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    with contextlib.suppress(OSError, ValueError):
        limit = Path("/sys/fs/cgroup/memory.max").read_text(encoding="ascii").strip()
        if limit != "max":
            known.append(int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text(encoding="ascii")))
    soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    if soft != resource.RLIM_INFINITY:
        with contextlib.suppress(OSError, ValueError):
            pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[0])
            known.append(soft - pages * os.sysconf("SC_PAGE_SIZE"))
    return min(known) if known else None


def run_size(scenario) -> tuple[int, int, float]:
    """Journeys, train calls and the estimated peak memory (bytes) of one run of `scenario`:
    COMMUTER_BYTES per journey (a commuter making a tour makes two; twice that when crowding may
    run the simulation again) and CALL_BYTES per call of every train running in the simulated time."""
    m = scenario.model
    calls = 0
    for p in scenario.network.patterns:
        dep = np.asarray(p.departures, dtype=float)
        runs = (dep + p.arr_offset[-1] >= m.period.start) & (dep < scenario.t_end)
        calls += int(runs.sum()) * (len(p.stops) + len(p.passes))
    reruns = m.routing.crowding is not None and m.routing.crowding.max_iterations > 1
    shares = [seg.share for seg in m.demand.segments]
    toured = sum(seg.share for seg in m.demand.segments if seg.tour is not None) / sum(shares)
    journeys = round(m.demand.total * (1 + toured))
    return journeys, calls, journeys * COMMUTER_BYTES * (2 if reruns else 1) + calls * CALL_BYTES


def platform_backlog(scenario) -> list[Problem]:
    """Platforms the timetable sends trains to faster than they can leave: each train holds its
    platform for its scheduled dwell (at least the line's minimum headway; a passing track holds
    two at a time), so trains arriving faster queue, and where one would wait longer than
    MAX_PLATFORM_WAIT_S before it can even arrive, dynamic operations would be stuck in that queue
    (and the simulation with them). The wait of each train is that of a single queue served in
    order of timetabled arrival. At most one problem per line, at its patterns."""
    net = scenario.network
    plats, times, holds = [], [], []
    for p in net.patterns:
        dep, entry = np.asarray(p.departures, dtype=float), p.entry_of()
        calls = [(i, plat, p.dep_offset[i] - p.arr_offset[i], p.arr_offset[i]) for i, plat in enumerate(p.platforms[:-1])]
        calls += [(after, plat, 0.0, at) for after, _, plat, at in p.passes]
        for i, plat, dwell, offset in calls:  # a train ends its run on arrival at its last stop
            pl = net.platforms[plat]
            line = net.lines[pl.line]
            t = dep[entry <= i] + offset
            plats.append(np.full(len(t), plat))
            times.append(t)
            tracks = 2 if pl.station in line.passing else 1
            holds.append(np.full(len(t), max(dwell, line.ops.min_headway_s if line.ops else 0.0) / tracks))
    if not plats:
        return []
    plat, t, hold = np.concatenate(plats), np.concatenate(times), np.concatenate(holds)
    order = np.lexsort((t, plat))
    plat, t, hold = plat[order], t[order], hold[order]
    # wait before arrival i = A_i - min(A_j, j <= i on its platform), A_i = (holds before i) - t_i (Lindley)
    a = np.cumsum(hold) - hold - t
    group = np.cumsum(np.r_[True, plat[1:] != plat[:-1]])
    a -= group * (a.max() - a.min() + 1.0)  # each platform below every earlier one: the running minimum restarts
    wait = a - np.minimum.accumulate(a)
    worst: dict[int, int] = {}
    for k in np.flatnonzero(wait > MAX_PLATFORM_WAIT_S):
        li = net.platforms[plat[k]].line
        if li not in worst or wait[k] > wait[worst[li]]:
            worst[li] = int(k)
    out = []
    for li, due in worst.items():
        pl = net.platforms[plat[due]]
        out.append(_line_problem(scenario, net.lines[li].id, (
            f"the timetable sends trains to the {pl.direction} platform of {net.stations[pl.station].id} faster "
            f"than they can leave it (each holds it for its dwell, at least the minimum headway): the train due at "
            f"{format_time(t[due])} would wait {wait[due] / HOUR_S:.1f} h for it; lengthen the headways or shorten "
            "the dwells (or set operations.mode: timetable, where trains do not wait for each other)")))
    return out


def _line_problem(scenario, line_id: str, message: str) -> Problem:
    """A problem placed at the patterns of line `line_id` in the network file that defines it."""
    for model, doc in scenario.loaded_network.files if scenario.loaded_network else ():
        for i, ln in enumerate(model.lines):
            if ln.id == line_id:
                return doc.problem(("lines", i, "patterns"), f"line {line_id}: {message}")
    return scenario.doc.problem(("network",), f"line {line_id}: {message}")


def check_runnable(scenario) -> None:
    """Refuse, before anything is generated, a run this machine cannot hold in memory (by the
    estimate of run_size, at demand.total) or, in dynamic operations, a timetable its platforms
    cannot clear (platform_backlog): UserError with every such problem."""
    total, calls, need = run_size(scenario)
    avail = available_memory()
    problems = []
    if avail is not None and need > avail:
        problems.append(scenario.doc.problem(("demand", "total"), (
            f"{total:,} journeys and {calls:,} train calls need about {need / 1e9:.1f} GB of memory (estimated "
            f"at {COMMUTER_BYTES:,} bytes per journey, twice that with crowding iterations, and {CALL_BYTES} per "
            f"train call), more than the {max(avail, 0) / 1e9:.1f} GB available; lower demand.total")))
    if scenario.model.operations.mode == "dynamic":
        problems += platform_backlog(scenario)
    if problems:
        raise UserError(problems)


def facility_load_warnings(plan: Plan, network: Network, threshold: float = 0.95) -> list[str]:
    """Facilities whose planned busiest-hour utilisation reaches `threshold`.

    Utilisation = (visits in the busiest hour / 3600 s) x mean service time / servers, counting each
    visit at its commuter's departure hour (an approximation for facilities passed later in a
    trip). At 1 or more the queue grows for as long as that demand lasts.
    """
    if plan.n_commuters == 0 or len(plan.slot_facility) == 0:
        return []
    owner = np.repeat(np.arange(plan.n_commuters), np.diff(plan.fac_offset))
    hour = ((plan.t_depart[owner] - plan.t_depart.min()) // HOUR_S).astype(np.int64)
    n_hours = int(hour.max()) + 1
    counts = np.bincount(plan.slot_facility.astype(np.int64) * n_hours + hour,
                         minlength=plan.n_facilities * n_hours).reshape(plan.n_facilities, n_hours)
    peak = counts.max(axis=1)
    out = []
    for f in np.flatnonzero(peak):
        fac = network.facilities[f]
        rho = peak[f] / HOUR_S * fac.service.mean / fac.servers
        if rho >= threshold:
            out.append(f"facility {fac.id}: busiest-hour utilisation {rho:.2f} ({peak[f]:,} visits/h, "
                       f"{fac.servers} servers, mean service {fac.service.mean:g} s)"
                       + ("; its queue grows without bound while that demand lasts" if rho >= 1 else ""))
    return out


@dataclass(frozen=True)
class _Rides:
    """The RIDE steps of a plan's templates, in step order."""

    step: np.ndarray  # step index
    template: np.ndarray  # the template it belongs to
    leg: np.ndarray  # its leg option (index into the legs' options)
    walk_before: np.ndarray  # s the mean walker walks from the template's start to its platform (no facility time)
    first: np.ndarray  # per template, the index of its first ride here; n_templates + 1 entries


def _rides(plan: Plan, legs: LegNetwork) -> _Rides:
    step = np.flatnonzero(plan.step_kind == STEP_RIDE)
    template = np.searchsorted(plan.template_start, step, side="right") - 1
    leg = legs.leg_at(plan.step_target[step], plan.step_alight[step])
    walked = np.cumsum(plan.step_walk)
    start = plan.template_start[template]
    walk_before = walked[step] - np.where(start > 0, walked[start - 1], 0.0)
    return _Rides(step, template, leg, walk_before, np.searchsorted(step, plan.template_start))


@numba.njit(cache=True, nogil=True)
def _stuck(template: np.ndarray, first: np.ndarray, leg: np.ndarray, walk_before: np.ndarray, t_depart: np.ndarray,
           walk_factor: np.ndarray, last_keys: np.ndarray) -> np.ndarray:
    """Per commuter: on some ride of their template no train leaves between the time they reach its
    platform at the earliest (start plus the walks before it) and the end (see LegNetwork.last_keys)."""
    # compiled: each commuter's rides in turn; as arrays of every commuter's every ride (a city's day:
    # 2 x 10^7 rides) they cost seconds and gigabytes
    stuck = np.zeros(len(template), dtype=np.bool_)
    for c in range(len(template)):
        for r in range(first[template[c]], first[template[c] + 1]):
            reach = t_depart[c] + walk_before[r] * walk_factor[c]  # a lower bound
            if not departure_key(leg[r], reach) <= last_keys[leg[r]]:
                stuck[c] = True
                break
    return stuck


def train_reach_warnings(plan: Plan, network: Network, legs: LegNetwork, rechoose: bool = False) -> list[str]:
    """The warnings of commuters who reach a platform before the first train that can carry them
    (_before_first_train) and of those with a leg no train serves after they could reach it
    (_after_last_train; `rechoose`: they choose again on the way)."""
    if plan.n_commuters == 0:
        return []
    rides = _rides(plan, legs)
    return _before_first_train(plan, network, legs, rides) + _after_last_train(plan, network, legs, rides, rechoose)


def _before_first_train(plan: Plan, network: Network, legs: LegNetwork, rides: _Rides) -> list[str]:
    """Commuters who reach their first platform (start time plus the walks before it) before the
    first train of the day that can carry them, per line (bus bridges aside)."""
    first_ride = rides.first[:-1]
    first_dep = np.asarray([legs.options[k].departures[0] for k in rides.leg[first_ride]])
    tpl = plan.template
    early = plan.t_depart + rides.walk_before[first_ride][tpl] * plan.walk_factor < first_dep[tpl]
    if not early.any():
        return []
    line_of = np.asarray([network.platforms[int(plan.step_target[s])].line for s in rides.step[first_ride]])[tpl]
    out = []
    for li in np.unique(line_of[early]):
        if network.operators[network.lines[li].operator].id == BUS_BRIDGE:
            continue  # a bus bridge starts after its closure does: those who chose it wait for it knowingly
        sel = early & (line_of == li)
        out.append(f"{int(sel.sum()):,} commuters reach a {network.lines[li].id} platform before the first train "
                   f"that can carry them (the earliest starting at {format_time(float(plan.t_depart[sel].min()))}); "
                   "start the timetable earlier or give the line early_service")
    return out


def _after_last_train(plan: Plan, network: Network, legs: LegNetwork, rides: _Rides, rechoose: bool) -> list[str]:
    """Commuters with a leg of their route on which no train leaves between the time they could
    reach its platform at the earliest (start plus the walks before it) and the end of the
    simulation (e.g. no service towards the morning's counter-peak): they never arrive and count as
    still travelling. Their number and the busiest destinations."""
    stuck = _stuck(plan.template, rides.first, rides.leg, rides.walk_before, plan.t_depart, plan.walk_factor,
                   legs.last_keys(plan.t_end))
    if not stuck.any():
        return []
    destination = plan.step_alight[rides.step[rides.first[1:] - 1]]  # each template's last ride
    dest, count = np.unique(destination[plan.template[stuck]], return_counts=True)
    busiest = np.argsort(-count, kind="stable")[:5]
    top = ", ".join(f"{network.stations[int(dest[b])].id} {int(count[b]):,}" for b in busiest)
    return [f"{int(stuck.sum()):,} commuters have a leg of their route with no train between their start and the "
            f"end of the simulation ({format_time(plan.t_end)}): "
            + ("they choose again on the way, or leave the network" if rechoose else "they never arrive")
            + f" (destinations: {top})"]


def track_warnings(network: Network, trains: Trains, ops: Operations, planned: frozenset[int]) -> list[str]:
    """Dynamic operations, on the lines whose timetable was not planned (`planned`: line indices,
    see timetable_plan; the others have no passing track): trains timetabled to overtake another
    between two stations, or closer together at a platform than its minimum headway; they will run
    later than timetabled."""
    if not ops.dynamic or trains.n_trains == 0:
        return []
    plat_line = np.asarray([pl.line for pl in network.platforms], dtype=np.int64)
    kept = ~np.isin(plat_line[trains.call_platform], list(planned))
    out = []
    calls = np.flatnonzero((ops.prev_platform >= 0) & kept)
    u, p = ops.prev_platform[calls].astype(np.int64), trains.call_platform[calls].astype(np.int64)
    order = np.lexsort((trains.call_t_dep[calls - 1], p, u))
    same = (u[order][1:] == u[order][:-1]) & (p[order][1:] == p[order][:-1])
    arr = trains.call_t_arr[calls][order]
    overtaking = p[order][1:][same & (arr[1:] < arr[:-1])]
    for li, n in zip(*np.unique(plat_line[overtaking], return_counts=True)):
        out.append(f"{network.lines[li].id}: {n} times a train is timetabled to overtake another between two "
                   "stations without a passing track; it will run behind it")
    at = np.flatnonzero(kept)
    by_plat = np.lexsort((trains.call_t_dep[at], trains.call_platform[at]))
    dep, pl = trains.call_t_dep[at][by_plat], trains.call_platform[at][by_plat].astype(np.int64)
    close = pl[1:][(pl[1:] == pl[:-1]) & (dep[1:] - dep[:-1] < ops.platform_headway[pl[1:]] - 1e-9)]
    for li, n in zip(*np.unique(plat_line[close], return_counts=True)):
        out.append(f"{network.lines[li].id}: {n} departures are timetabled closer than the line's minimum headway "
                   "after the one before; they will leave later")
    return out


def timetable_notes(network: Network, t_from: float, t_to: float, dynamic: bool) -> tuple[list[str], list[str]]:
    """Notes and warnings on the timetable of the trains running in [t_from, t_to) (s), as a run
    logs them before it starts (disruptions aside), without demand: what planning changed
    (timetable_plan) and, in `dynamic` operations, the track conflicts of the lines not planned."""
    planned = plan_trains(network, t_from, t_to, passes=dynamic)
    ops = build_operations(network, planned.trains, dynamic)
    return planned.notes, planned.warnings + track_warnings(network, planned.trains, ops, planned.lines)
