"""Choosing a coordination offset by simulation (a rule's `method: simulation`).

The planned-wait rule (sim.policies) sees only the timetables: it cannot see that trains reaching
a crowded corridor later leave more riders behind. The search runs the whole scenario once per
candidate offset, every run with the same seed (the same commuters, service times and walking
speeds: common random numbers), and keeps the offset whose commuters riding the shifted services
have the least mean generalised cost. Rules are searched one after another, each with the offsets
already chosen for the rules before it.

Generalised cost (s of in-vehicle time, the route choice's weights): in-vehicle time + wait weight x
waiting on platforms (time lost to full trains included) + walk weight x (access, transfer and
egress times, queues included) + the transfer penalty per change. A commuter still travelling at
the end counts the time so far as waiting (a lower bound on their cost).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .network import Coordination, Network
from .policies import candidate_offsets

OBJECTIVE = "mean generalised cost of the commuters riding the shifted services (s)"


def searched_rules(network: Network) -> list[Coordination]:
    """The coordination rules whose offset is to be chosen by simulation."""
    return [r for r in network.coordination if r.mode == "coordinated" and r.method == "simulation"
            and r.offset_s is None]


def shifted_lines(network: Network, rule: Coordination) -> set[str]:
    """Ids of the lines whose services the rule shifts."""
    return {network.lines[network.patterns[k].line].id for k in (rule.receiver, *rule.shift_with)}


def outcome(trips: pd.DataFrame, legs: pd.DataFrame, lines: set[str], routing, kpi_from: float | None,
            t_end: float) -> dict[str, float]:
    """The objective and what makes it, over the commuters (starting at or after `kpi_from`) with a
    leg on one of `lines`: mean generalised cost (s), mean travel time and wait (s, time so far for
    those still travelling at `t_end`), and how many were left behind by a full train at least once."""
    riders = legs.loc[legs["line"].astype(str).isin(lines), "commuter_id"].unique()
    t = trips[trips["commuter_id"].isin(riders)]
    if kpi_from is not None:
        t = t[t["t_depart"] >= kpi_from]
    arrived = t["status"].to_numpy() == "arrived"
    so_far = t_end - t["t_depart"].to_numpy()
    walk = (t["access_s"] + t["transfer_s"] + t["egress_s"]).to_numpy()
    cost = np.where(arrived, t["in_vehicle_s"].to_numpy() + routing.wait_weight * t["wait_s"].to_numpy()
                    + routing.walk_weight * walk + routing.transfer_penalty_s * t["n_transfers"].to_numpy(),
                    routing.wait_weight * so_far)
    travel = np.where(arrived, t["travel_time_s"].to_numpy(), so_far)

    def mean(x: np.ndarray) -> float:
        return round(float(x.mean()), 1) if len(x) else 0.0

    return {"objective_s": mean(cost), "commuters": int(len(t)), "travel_time_mean_s": mean(travel),
            "wait_mean_s": mean(np.where(arrived, t["wait_s"].to_numpy(), so_far)),
            "denied_commuters": int((t["denied_boardings"].to_numpy() > 0).sum())}


def onward_wait(summary: dict, network: Network, rule: Coordination) -> float | None:
    """Mean wait (s) of the rule's transfer flow on the receiver's platform, from the run's
    interchange KPIs (None for a same-station change, which has none)."""
    flow = f"{network.stations[rule.from_station].id}>{network.stations[rule.to_station].id}"
    for block in summary.get("interchanges", {}).values():
        if flow in block.get("by_direction", {}):
            return block["by_direction"][flow].get("onward_wait_mean_s")
    return None


def search(scenario, rules: list[Coordination], run_one: Callable[[Any], Any]):
    """Run `scenario` once per candidate offset of each rule (`run_one(scenario)` runs one scenario
    with every offset fixed) and return the run at the chosen offsets, its summary's
    `policies.coordination.<rule>` telling the candidates and their outcomes."""
    chosen: dict[str, float] = {}
    reports: dict[str, dict] = {}
    best_run = None
    m = scenario.model
    for rule in rules:
        lines = shifted_lines(scenario.network, rule)
        tried: list[dict] = []
        best: dict | None = None
        for offset in candidate_offsets(scenario.network, rule):  # ascending: ties keep the smaller offset
            fixed = {f"changes.coordination.{rid}.offset_s": off for rid, off in {**chosen, rule.id: offset}.items()}
            result = run_one(scenario.with_overrides(fixed))
            row = {"offset_s": offset, **outcome(result.trips, result.legs, lines, m.routing, m.period.warm_up_until,
                                                 scenario.t_end),
                   "onward_wait_mean_s": onward_wait(result.summary, scenario.network, rule)}
            tried.append(row)
            if best is None or row["objective_s"] < best["objective_s"]:
                best, best_run = row, result  # only the best run so far is kept: each holds whole tables
        assert best is not None
        chosen[rule.id] = best["offset_s"]
        reports[rule.id] = {"method": "simulation", "objective": OBJECTIVE, "lines": sorted(lines),
                            "candidates": tried, "chosen_offset_s": best["offset_s"]}
    for rid, report in reports.items():
        assert best_run is not None  # set with the first rule's best candidate (each rule has one: see above)
        best_run.summary["policies"]["coordination"][rid].update(report)
    return best_run
