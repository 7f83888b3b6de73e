"""summary.json of a run: its KPIs from its tables (sim.metrics.summarize) and what the tables do
not hold (the policies in force, the closures, the crowding iterations, the tours, departure
times, mode choice), given what the run keeps of its preparation (RunFacts)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .bus_bridges import bridge_line_id
from .closures import Closure
from .demand import Demand
from .departure_choice import DepartureChooser
from .metrics import (
    FARE_COLUMNS,
    LEG_COLUMNS,
    TRIP_COLUMNS,
    KpiSetup,
    crowd_control_kpis,
    disruption_kpis,
    on_the_way_kpis,
    summarize,
    visit_summary,
)
from .routing import LegNetwork
from .scenario import Scenario
from .tables import Tables
from .zones import ModeChoice, mode_choice_kpis, zone_trips_table


def policy_summary(network) -> dict:
    """The integration policies in force: per interchange its security and seamless media, each
    fare rule, each coordination rule with the offset it chose and its planned transfer waits."""
    return {
        "interchanges": {ic.id: {"security": ic.security,
                                 "seamless_media": sorted(ic.seamless_media) if ic.seamless_media is not None else None}
                         for ic in network.interchanges},
        "fare_integration": {r.id: {"operators": sorted(network.operators[o].id for o in r.operators),
                                    "policy": r.policy, "clearing": r.clearing,
                                    "discount_cny": r.discount_cny} for r in network.fare_rules},
        "coordination": {c.id: {"receiver": c.receiver, "mode": c.mode, "offset_s": c.offset_s, "method": c.method,
                                "transfer_time_s": round(c.transfer_time_s, 3), "feeder_arrivals": c.feeder_arrivals,
                                "planned_wait_independent_s": round(c.mean_wait_independent_s, 3),
                                "planned_wait_s": round(c.mean_wait_s, 3)} for c in network.coordination_results},
    }


def payment_summary(network, trips: pd.DataFrame, fares: pd.DataFrame, kpi_from: float | None) -> dict:
    """Per operator that does not accept every medium (payment compatibility off): the media it
    accepts, the medium holders of the others pay with there, and the commuters (starting at or
    after `kpi_from`) who did so, with the fare they paid that operator (CNY, mean per commuter)."""
    out = {}
    counted = trips if kpi_from is None else trips[trips["t_depart"] >= kpi_from]
    paid_with = counted.set_index("commuter_id")["payment"]
    for op in network.operators:
        if op.accepts is None:
            continue
        sections = fares[(fares["operator"] == op.id) & fares["commuter_id"].isin(paid_with.index)]
        medium = paid_with.reindex(sections["commuter_id"]).astype(str).to_numpy()
        fell_back = sections[~np.isin(medium, list(op.accepts))]
        per_commuter = fell_back.groupby("commuter_id")["fare_cny"].sum()
        out[op.id] = {"accepts": sorted(op.accepts), "fallback_medium": op.fallback_medium,
                      "fallback_commuters": int(len(per_commuter)),
                      "fallback_fare_mean_cny": round(float(per_commuter.mean()), 2) if len(per_commuter) else None}
    return out


def disruption_summary(scenario: Scenario, closures: tuple[Closure, ...], trains_cut: dict[str, int],
                       trips: pd.DataFrame, legs: pd.DataFrame, trains: pd.DataFrame) -> dict:
    """The `closures` (where, when, the number of trains each cut: `trains_cut`) and the commuters
    they touched, over every commuter, warm-up included (see metrics.disruption_kpis)."""
    net = scenario.network
    out = {c.id: {"line": c.line, "between": [net.stations[c.stations[0]].id, net.stations[c.stations[-1]].id],
                  "start_s": c.start, "end_s": c.end, "announced_s": c.announced,
                  "expected_end_s": c.believed.end, "trains_cut": trains_cut.get(c.id, 0)}
           for c in closures}
    for spec in scenario.model.disruptions:
        if spec.bus_bridge is None or spec.id not in out:
            continue
        line = bridge_line_id(spec)
        calls = trains[trains["line"].astype(str) == line]
        out[spec.id]["bus_bridge"] = {
            "line": line, "buses": int(calls["train_id"].nunique()),
            "riders": int(((legs["line"].astype(str) == line) & legs["t_board"].notna()).sum()),
            "load_max": int(calls["load_after"].max()) if len(calls) else 0,
            "capacity": spec.bus_bridge.capacity}
    return {"closures": out, **disruption_kpis(trips)}


SUMMARY_COLUMNS: dict[str, tuple[str, ...] | None] = {
    "trips": (*TRIP_COLUMNS, "disruption", "rechoices", "rerouted_on_way", "left_station", "t_left"),
    "legs": LEG_COLUMNS, "fares": FARE_COLUMNS, "trains": None}
"""The columns of each table that the summary reads (run_summary: summarize's, the disruptions' and
choices on the way's; None: all). Tables written as built are read back for it with these alone:
at a city's day, a third less than whole."""


@dataclass(frozen=True)
class RunFacts:
    """What the tables and KPIs of a run take from its preparation (sim.api.Prepared): the rest (the
    route chooser with every candidate it searched, the access walks, the decision hook) is let go
    before the tables are built."""

    scenario: Scenario
    seed: int
    demand: Demand
    legs: LegNetwork
    groups: dict[str, np.ndarray]
    warnings: list[str]
    closures: tuple
    trains_cut: dict[str, int]
    rerouted: np.ndarray | None
    modes: ModeChoice | None
    t_depart: np.ndarray
    """Per commuter: the start of the plan of the last run (s)."""
    chose_on_the_way: bool


def _whole(table: pd.DataFrame | None) -> pd.DataFrame:
    """A table of Tables held (not None)."""
    assert table is not None  # only tables written as built are left out, and read back for the summary
    return table


def _kpi_setup(facts: RunFacts) -> KpiSetup:
    """What the KPIs of a run need besides its tables."""
    scenario = facts.scenario
    net = scenario.network
    interchanges: dict[str, tuple[str, str] | tuple[str, str, bool]] = {
        ic.id: (net.stations[ic.stations[0]].id, net.stations[ic.stations[1]].id, ic.bidirectional)
        for ic in net.interchanges}
    return KpiSetup(groups=facts.groups, interchanges=interchanges,
                    standing={ln.id: (ln.ops.seats, ln.ops.standing_area_m2) for ln in net.lines if ln.ops},
                    servers={f.id: f.servers for f in net.facilities}, kpi_from=scenario.model.period.warm_up_until,
                    windows=dict(scenario.model.kpis.windows))


def visit_kpis(facts: RunFacts, facilities: pd.DataFrame, starts: pd.DataFrame) -> dict:
    """summary.json's parts from the facility visits alone (given the trips' `commuter_id` and
    `t_depart` in `starts`): `facilities`, and `crowd_control` (None where no station controls its
    entry)."""
    return {"facilities": visit_summary(facilities, starts, _kpi_setup(facts)),
            "crowd_control": _crowd_control(facts.scenario.network, facilities)}


def _crowd_control(net, facilities: pd.DataFrame) -> dict | None:
    """summary.json's `crowd_control` from the facility visits; None when no station controls its entry."""
    controls = {net.facilities[st.entry_control.facility].id: (st.id, st.entry_control.limit, st.entry_control.start_s,
                                                               st.entry_control.end_s)
                for st in net.stations if st.entry_control is not None}
    return crowd_control_kpis(facilities, controls) if controls else None


def run_summary(facts: RunFacts, tables: Tables, crowding_info: dict | None, tours: dict | None,
                departures: DepartureChooser | None, visits: dict | None) -> tuple[Tables, dict]:
    """summary.json of a run from its tables (which gain the zone trips where commuters were drawn
    between zones); `visits`: the KPIs of the facility visits (visit_kpis), None to find them from
    the tables' facilities."""
    scenario = facts.scenario
    net = scenario.network
    trips, legs, trains, fares = _whole(tables.trips), _whole(tables.legs), _whole(tables.trains), _whole(tables.fares)
    summary = summarize(trips, legs, trains, tables.facilities if visits is None else None, _kpi_setup(facts), fares)
    if visits is not None:
        summary["facilities"] = visits["facilities"]  # in its place among the KPIs
    if crowding_info is not None:
        summary["crowding"] = crowding_info
    if tours is not None:
        summary["tours"] = tours
    if departures is not None:
        travel = np.full(facts.demand.size, np.nan)
        travel[trips["commuter_id"].to_numpy()] = trips["travel_time_s"].to_numpy()
        summary["departure_time"] = departures.schedule_delay(facts.t_depart, travel)
    summary["currency"] = net.currency  # of every amount in the summary and the tables' fare columns
    summary["policies"] = policy_summary(net)
    summary["policies"]["payment"] = payment_summary(net, trips, fares, scenario.model.period.warm_up_until)
    if facts.modes is not None:
        tables = replace(tables, zone_trips=zone_trips_table(facts.modes, trips))
        assert tables.zone_trips is not None  # just built
        zones_spec = scenario.model.demand.zones
        summary["mode_choice"] = mode_choice_kpis(tables.zone_trips, scenario.model.period.warm_up_until,
                                                  zones_spec.groups if zones_spec is not None else None)
    if facts.chose_on_the_way:
        summary["on_the_way"] = on_the_way_kpis(trips)
    if facts.closures:
        summary["disruptions"] = disruption_summary(scenario, facts.closures, facts.trains_cut, trips, legs, trains)
    crowd = visits["crowd_control"] if visits is not None else _crowd_control(net, _whole(tables.facilities))
    if crowd is not None:
        summary["crowd_control"] = crowd
    summary["warnings"] = list(scenario.warnings) + facts.warnings  # the scenario's were logged when it loaded
    return tables, summary
