"""Plausibility checks on a prepared run: warnings a modeller should read before trusting results."""

from __future__ import annotations

import numpy as np

from .network import Network
from .plan import STEP_RIDE, Plan
from .units import format_time

HOUR_S = 3600.0


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


def before_first_train_warnings(plan: Plan, network: Network, router) -> list[str]:
    """Commuters who reach their first platform (start time plus the walks before it) before the
    first train of the day that can carry them, per line."""
    if plan.n_commuters == 0:
        return []
    kind, start = plan.step_kind, plan.template_start
    n_tpl = len(start) - 1
    is_ride = kind == STEP_RIDE
    first_ride = np.full(n_tpl, -1, dtype=np.int64)
    rides = np.flatnonzero(is_ride)
    first_ride[:] = rides[np.searchsorted(rides, start[:-1])]
    walked = np.cumsum(plan.step_walk)
    walk_before = walked[first_ride] - np.where(start[:-1] > 0, walked[start[:-1] - 1], 0.0)
    leg_of = {(leg.platform, leg.alight): k for k, leg in enumerate(router.legs)}
    first_dep = np.asarray([router.legs[leg_of[(int(plan.step_target[s]), int(plan.step_alight[s]))]].departures[0]
                            for s in first_ride])
    tpl = plan.template
    early = plan.t_depart + walk_before[tpl] < first_dep[tpl]
    if not early.any():
        return []
    line_of = np.asarray([network.platforms[int(plan.step_target[s])].line for s in first_ride])[tpl]
    out = []
    for li in np.unique(line_of[early]):
        sel = early & (line_of == li)
        out.append(f"{int(sel.sum()):,} commuters reach a {network.lines[li].id} platform before the first train "
                   f"that can carry them (the first from {format_time(float(plan.t_depart[sel].min()))}); "
                   "start the timetable earlier or give the line early_service")
    return out


def track_warnings(plan: Plan, network: Network) -> list[str]:
    """Dynamic operations: trains timetabled to overtake between two stations, or closer together
    at a platform than its minimum headway; they will run later than timetabled."""
    ops, tr = plan.ops, plan.trains
    if not ops.dynamic or tr.n_trains == 0:
        return []
    out = []
    calls = np.flatnonzero(ops.prev_platform >= 0)
    u, p = ops.prev_platform[calls].astype(np.int64), tr.call_platform[calls].astype(np.int64)
    order = np.lexsort((tr.call_t_dep[calls - 1], p, u))
    same = (u[order][1:] == u[order][:-1]) & (p[order][1:] == p[order][:-1])
    arr = tr.call_t_arr[calls][order]
    overtaking = same & (arr[1:] < arr[:-1]) & (ops.platform_capacity[p[order][1:]] < 2)
    for li in np.unique([network.platforms[int(q)].line for q in p[order][1:][overtaking]]):
        n = sum(1 for q in p[order][1:][overtaking] if network.platforms[int(q)].line == li)
        out.append(f"{network.lines[li].id}: {n} times a train is timetabled to overtake another between two "
                   "stations without a passing track; it will run behind it")
    at = np.argsort(tr.call_t_dep, kind="stable")
    plat = tr.call_platform[at].astype(np.int64)
    by_plat = np.lexsort((tr.call_t_dep[at], plat))
    dep = tr.call_t_dep[at][by_plat]
    pl = plat[by_plat]
    close = (pl[1:] == pl[:-1]) & (dep[1:] - dep[:-1] < ops.platform_headway[pl[1:]] - 1e-9)
    for li in np.unique([network.platforms[int(q)].line for q in pl[1:][close]]):
        n = sum(1 for q in pl[1:][close] if network.platforms[int(q)].line == li)
        out.append(f"{network.lines[li].id}: {n} departures are timetabled closer than the line's minimum headway "
                   "after the one before; they will leave later")
    return out
