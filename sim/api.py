"""The notebook API: load a scenario, run it, read results back.

    scn = sim.load_scenario("scenarios/baseline.yaml").with_overrides({"demand.total": 200_000})
    res = sim.run(scn, seed=7)          # nothing is written unless asked
    res.trips.groupby("route").travel_time_s.mean()
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from . import crowding, disruptions, offsets
from . import rng as rngmod
from .choice import Assignment, Chooser
from .closures import Closure
from .closures import resolve as resolve_closures
from .crowding import PlatformLookup, leg_paths
from .demand import RETURN, Demand, generate_demand, group_masks
from .departure_choice import DepartureChooser
from .departures import build_departures
from .engine import OnTheWay, Records, run_engine
from .errors import Problem, UserError
from .io import TABLES, read_tables, write_table
from .loading import with_lines
from .memory import keep_freed_arrays, trim_heap
from .plan import Plan, StepCompiler, build_plan
from .plausibility import (
    check_runnable,
    facility_load_warnings,
    track_warnings,
    train_reach_warnings,
)
from .replan import Replanner
from .routing import Access, CandidateSearch, LegNetwork
from .run_summary import SUMMARY_COLUMNS, RunFacts, run_summary, visit_kpis
from .scenario import Scenario
from .tables import RideTables, TablePlan, Tables, ride_tables, table_parts
from .timetable import Trains, build_operations
from .timetable_plan import plan_trains
from .tours import place_returns, waits_for
from .zones import (
    ModeChoice,
    Zones,
    check_groups,
    choose_modes,
    load_zones,
    segment_weights,
)

log = logging.getLogger(__name__)

RoutingCache = dict[str, tuple[LegNetwork, Access, CandidateSearch]]
"""Routing kept between runs, by network, routing parameters and period: the network as legs, its
access walks, and the candidate search with the candidates it found (see prepare)."""


@dataclass(frozen=True)
class Prepared:
    """Everything decided before the clock starts (pure functions of scenario, seed, replication)."""

    scenario: Scenario
    seed: int
    replication: int
    demand: Demand
    legs: LegNetwork
    access: Access
    chooser: Chooser | None
    """The route chooser with every candidate it priced; None once let go (see run)."""
    assignment: Assignment
    plan: Plan
    groups: dict[str, np.ndarray]
    warnings: list[str]
    closures: tuple = ()
    """The scenario's disruptions (closures.Closure) and the trains each cut."""
    trains_cut: dict[str, int] = field(default_factory=dict)
    informed: disruptions.Informed | None = None
    """Commuters starting during a closure and the routes they choose knowing of it."""
    rerouted: np.ndarray | None = None
    """Per commuter: chose another route because of a closure."""
    way: OnTheWay | None = None
    """Choices on the way (None when routing.decisions switches them all off)."""
    modes: ModeChoice | None = None
    """The mode and station choice of the commuters drawn between zones (None: no zones)."""


@dataclass
class RunResult:
    scenario: Scenario
    seed: int
    replication: int
    engine: str
    tables: Tables
    summary: dict
    groups: dict[str, np.ndarray]
    """Boolean mask over trips per named OD group."""
    timings_s: dict[str, float] = field(default_factory=dict)
    written: dict[str, Path] = field(default_factory=dict)
    """Table name -> the Parquet file it was written to as it was built (run's tables_to)."""

    @property
    def trips(self) -> pd.DataFrame:
        return self._table("trips")

    @property
    def legs(self) -> pd.DataFrame:
        return self._table("legs")

    @property
    def trains(self) -> pd.DataFrame:
        return self._table("trains")

    @property
    def facilities(self) -> pd.DataFrame:
        return self._table("facilities")

    @property
    def fares(self) -> pd.DataFrame:
        return self._table("fares")

    @property
    def zone_trips(self) -> pd.DataFrame | None:
        """None without zones."""
        return self.tables.zone_trips

    def _table(self, name: str) -> pd.DataFrame:
        """The table `name`, read from its file when first asked if it was written as built (run's
        tables_to) and not kept."""
        table = getattr(self.tables, name)
        if table is None:
            table = pd.read_parquet(self.written[name], engine="pyarrow")
            self.tables = replace(self.tables, **{name: table})
        return table


def generate_checked(scenario: Scenario, seed: int, replication: int,
                     total: int | None = None) -> tuple[Demand, Zones | None]:
    """Demand (of `total` commuters, default demand.total; those drawn between zones not yet at
    stations) and the zones of demand.zones; UserError listing every problem of the scenario
    against its network (segments, profiles, media, selectors, OD tables, zones, groups), each with
    its line."""
    problems: list[Problem] = []
    m = scenario.model
    spec = m.demand if total is None else m.demand.model_copy(update={"total": total})
    zones, zone_weights = None, None
    if m.demand.zones is not None:
        try:
            files = m.demand.zones.file
            zones = load_zones([scenario.base_dir / f for f in ([files] if isinstance(files, str) else files)])
            zone_weights = segment_weights(m.demand, zones, problems, str(scenario.path))
            check_groups(m.demand.zones, zones, problems, str(scenario.path))
        except UserError as err:
            problems.extend(err.problems)
    demand = None
    try:
        demand = generate_demand(spec, m.period, scenario.network, scenario.base_dir, seed, replication,
                                 str(scenario.path), zone_weights)
    except UserError as err:
        problems.extend(err.problems)
    none = np.zeros(0, dtype=np.int64)
    group_masks(m.demand.groups, scenario.network, none, none, problems, str(scenario.path))  # their selectors
    if problems:
        raise with_lines(UserError(problems), scenario.doc)
    assert demand is not None  # None only when generate_demand raised, and its problems were raised just above
    return demand, zones


def check_scenario(scenario: Scenario) -> None:
    """Cross-check the scenario against its network without generating anyone (see
    generate_checked)."""
    generate_checked(scenario, 0, 0, total=0)


def prepare(scenario: Scenario, seed: int | None = None, replication: int = 0,
            timings: dict[str, float] | None = None, routing_cache: RoutingCache | None = None) -> Prepared:
    """Demand, routes and the engine plan for one replication. `routing_cache`: the legs, access
    and candidate search (with the candidate routes it found) kept between runs, by network,
    routing parameters and period; taken from it when there, put there when not."""
    check_runnable(scenario)  # refuses what this machine could not hold, before generating anyone
    keep_freed_arrays()  # a city's day allocates and frees arrays of hundreds of MB thousands of times
    timings = timings if timings is not None else {}
    m = scenario.model
    seed = m.seed if seed is None else seed
    t0 = time.perf_counter()
    demand, zones = generate_checked(scenario, seed, replication)
    t1 = time.perf_counter()
    timings["demand"] = t1 - t0
    legs, access, search = _routing(scenario, routing_cache)
    modes = None
    if zones is not None and m.demand.zones is not None and demand.origin_zone is not None:  # a zone segment
        modes = choose_modes(demand, zones, m.demand.zones, scenario.network, legs, access, search,
                             rngmod.stream(seed, replication, "zones/choice"), str(scenario.path))
        demand = modes.demand
    demand, outbound = place_returns(demand, scenario.network, legs, access, search, m.period.end,
                                     str(scenario.path))
    groups = group_masks(m.demand.groups, scenario.network, demand.origin, demand.destination)
    chooser = Chooser(scenario.network, legs, access, search, demand.origin, demand.destination, demand.payment,
                      demand.media, demand.t_depart, rngmod.stream(seed, replication, "routing"), str(scenario.path),
                      previous=outbound)
    assignment = chooser.choose()
    closures = resolve_closures(scenario.network, m.disruptions, scenario.doc)
    informed = _informed(scenario, legs, closures, demand, seed, replication)
    assignment, rerouted = informed.merge(assignment)
    t2 = time.perf_counter()
    timings["routing"] = t2 - t1
    dynamic = m.operations.mode == "dynamic"
    planned = plan_trains(scenario.network, m.period.start, scenario.t_end, passes=dynamic)
    for note in planned.notes:  # validate prints the same (plausibility.timetable_notes)
        log.info("%s", note)
    trains, cut = disruptions.apply(scenario.network, planned.trains, closures)
    ops = build_operations(scenario.network, trains, dynamic)
    plan = build_plan(scenario.network, legs, access, assignment, demand.payment, demand.media, demand.t_depart,
                      trains, ops, scenario.t_end, seed, replication, m.demand.walking, after=waits_for(demand))
    timings["plan"] = time.perf_counter() - t2
    warnings = (facility_load_warnings(plan, scenario.network) + planned.warnings
                + track_warnings(scenario.network, trains, ops, planned.lines)
                + train_reach_warnings(plan, scenario.network, legs, m.routing.decisions.when_stranded))
    for w in warnings:
        log.warning("%s", w)
    believed = (disruptions.apply(scenario.network, planned.trains, tuple(c.believed for c in closures))[0]
                if any(c.expected_end is not None and c.expected_end != c.end for c in closures) else None)
    way = on_the_way(scenario, legs, access, search, plan, demand, seed, replication, closures, believed)
    trim_heap()  # what routing and planning freed: the simulation needs the room
    return Prepared(scenario, seed, replication, demand, legs, access, chooser, assignment, plan, groups, warnings,
                    closures, cut, informed, rerouted, way, modes)


def _informed(scenario: Scenario, legs: LegNetwork, closures: tuple[Closure, ...], demand: Demand, seed: int,
              replication: int) -> disruptions.Informed:
    """Route choice of the commuters who start knowing of a closure: from its announcement on the
    network as it would run with the closure lasting to its expected end (until that end, or the
    true one if sooner); for a closure extended past its expected end, from then on the network as
    it runs."""
    m = scenario.model

    def choose(of: tuple[Closure, ...], windows: list[tuple[float, float]], stream: str) -> disruptions.Informed:
        return disruptions.informed_choice(scenario.network, legs, m.routing, of, windows, demand.origin,
                                           demand.destination, demand.payment, demand.media, demand.t_depart,
                                           rngmod.stream(seed, replication, stream), str(scenario.path))

    informed = choose(tuple(c.believed for c in closures), [c.believed_span for c in closures], "routing-informed")
    extended = tuple(c for c in closures if c.extended)
    if extended:
        informed = informed.and_then(choose(extended, [(c.believed.end, c.end) for c in extended],
                                            "routing-informed-update"))
    return informed


def on_the_way(scenario: Scenario, legs: LegNetwork, access: Access, search: CandidateSearch, plan: Plan,
               demand: Demand, seed: int, replication: int, closures: tuple[Closure, ...] = (),
               believed: Trains | None = None) -> OnTheWay | None:
    """The decision hook and departure board of the plan's trains, unless every choice on the way
    is switched off; decisions taken while a closure is in force look for ways on the network as it
    then runs, and weigh the `believed` trains (closures lasting to their expected end) until it is
    due."""
    spec = scenario.model.routing
    d = spec.decisions
    if not (d.when_stranded or d.after_denial or (d.fastest_train and spec.information == "real_time")):
        return None
    board = build_departures(plan.trains, plan.stop_pos, plan.n_stations)
    during = disruptions.search_during(scenario.network, legs, spec, closures) if closures else None
    hook = Replanner(scenario.network, legs, access, search, board, StepCompiler(scenario.network, legs, access), spec,
                     demand.destination, demand.payment, seed, replication, during,
                     tuple((c.start, c.end) for c in closures),
                     build_departures(believed, plan.stop_pos, plan.n_stations) if believed is not None else None,
                     tuple(c.believed_span for c in closures))
    return OnTheWay(scenario.network, hook, board, d, tuple((c.announced, c.end) for c in closures),
                    tuple((c.believed.end, c.end) for c in closures if c.extended))


def _add_time(timings: dict[str, float], phase: str, since: float) -> float:
    now = time.perf_counter()
    timings[phase] = timings.get(phase, 0.0) + now - since
    return now


def _replanned(prep: Prepared, plan: Plan, assignment: Assignment, t_depart: np.ndarray) -> Plan:
    """`plan` built again for `assignment` and starts `t_depart` (s), on its trains and with its
    walking speeds: the plan of a run after a choice (of routes, departures, returns' starts)."""
    net, demand = prep.scenario.network, prep.demand
    return build_plan(net, prep.legs, prep.access, assignment, demand.payment, demand.media, t_depart, plan.trains,
                      plan.ops, plan.t_end, prep.seed, prep.replication, prep.scenario.model.demand.walking,
                      plan.walk_factor, plan.after)


def _choose_departures(prep: Prepared, engine: str, timings: dict[str, float]) -> tuple[Prepared, DepartureChooser]:
    """Departure-time choice (see sim.departure_choice): `iterations` runs, each followed by a
    choice of every commuter's start; returns prep with the plan of the last choice (its run is the
    caller's) and the chooser."""
    spec = prep.scenario.model.demand.departure_time
    assert spec is not None  # the caller's condition
    demand, plan = prep.demand, prep.plan
    route_of = prep.assignment.route_of
    assert prep.chooser is not None  # let go only after the departures are chosen
    free = prep.chooser.costs.expected_travel_time(route_of.astype(np.int64), demand.payment.astype(np.int64),
                                                   demand.t_depart)
    period = prep.scenario.model.period
    chooser = DepartureChooser(spec, demand.t_depart, route_of, free, (period.start, period.end),
                               rngmod.stream(prep.seed, prep.replication, "departure_time"))
    for _ in range(spec.iterations):
        t = time.perf_counter()
        rec = run_engine(plan, engine, None, prep.way)
        t = _add_time(timings, "simulation", t)
        chooser.observe(plan.t_depart, rec.t_arrive - plan.t_depart, plan.t_end)
        plan = _replanned(prep, plan, prep.assignment, chooser.choose())
        _add_time(timings, "plan", t)
    return replace(prep, plan=plan, demand=replace(demand, t_depart=plan.t_depart)), chooser


@dataclass
class LastRun:
    """The last engine run of a scenario: its routes, plan and records, and its legs and trains
    tables when crowding measured them already (None: not built)."""

    assignment: Assignment
    plan: Plan
    rec: Records
    ride: RideTables | None


def _iterate_crowding(prep: Prepared, engine: str, progress, timings: dict[str, float]):
    """Route choice and simulation alternate with crowding costs (see schema.CrowdingSpec). The
    first run is prep's; returns the last run and what the iterations did. The runs are measured
    on their legs and trains tables alone (the caller builds the last one's tables)."""
    spec = prep.scenario.model.routing.crowding
    net, legs, demand = prep.scenario.network, prep.legs, prep.demand
    t = time.perf_counter()
    rec = run_engine(prep.plan, engine, progress, prep.way)
    t = _add_time(timings, "simulation", t)
    assignment, plan, info, ride = prep.assignment, prep.plan, None, None
    if spec is not None:
        assert prep.chooser is not None  # kept for crowding (see run)
        paths, lookup, field, changed = leg_paths(net, legs), PlatformLookup(net, legs), None, []
        for n in range(1, spec.max_iterations):
            ride = ride_tables(net, demand, legs, assignment, TablePlan.of(plan), rec)
            t = _add_time(timings, "tables", t)
            aux = crowding.measure(net, legs, ride.legs, ride.trains, spec, paths, lookup)
            field = aux if field is None else crowding.average(field, aux, n)
            new = prep.chooser.choose(field)
            if prep.informed is not None:
                new, _ = prep.informed.merge(new)
            changed.append(float((new.route_of != assignment.route_of).mean()) if len(new.route_of) else 0.0)
            t = _add_time(timings, "routing", t)
            if changed[-1] < spec.tolerance or changed[-1] == 0.0:
                break  # this run's routes are within the tolerance of the choices its crowding makes
            assignment = new
            plan = _replanned(prep, plan, assignment, demand.t_depart)
            t = _add_time(timings, "plan", t)
            # the last run's records go before the next run allocates its own: it reuses their memory
            # (memory the process has not touched yet costs far more to fill)
            del rec, ride
            rec, ride = run_engine(plan, engine, progress, prep.way), None
            t = _add_time(timings, "simulation", t)
        info = {"runs": 1 + sum(1 for c in changed if c >= spec.tolerance and c > 0), "route_change_share": changed,
                "converged": bool(changed) and changed[-1] < spec.tolerance}
    return LastRun(assignment, plan, rec, ride), info


def _iterate_tours(prep: Prepared, engine: str, progress, timings: dict[str, float]):
    """The runs (see _iterate_crowding), and what the tours did in the last: the tours, the returns
    that started later than drawn (held until their outbound journey ended), those that started
    before their outbound journey arrived (0: the engines hold them), and the outbound journeys
    that did not arrive (the network left on the way, or still travelling at the end), with the
    returns that never started (their outbound journey still travelling at the end). Returns the
    last run, the crowding iterations' report and the tours' (None when nobody makes a tour)."""
    last, crowding_info = _iterate_crowding(prep, engine, progress, timings)
    demand = prep.demand
    if demand.partner is None or demand.tour_leg is None:
        return last, crowding_info, None
    returns = np.flatnonzero(demand.tour_leg == RETURN)
    outbound = demand.partner[returns]
    arrived, started = last.rec.t_arrive[outbound], last.rec.t_start[returns]
    info = {"tours": int(len(returns)),
            "returns_moved": int((started > prep.plan.t_depart[returns]).sum()),
            "returns_before_outbound_arrival": int((arrived > started).sum()),
            "outbound_not_arrived": int(np.isnan(arrived).sum()),
            "returns_not_started": int(np.isnan(started).sum())}
    return last, crowding_info, info


def _routing(scenario: Scenario, cache: RoutingCache | None) -> tuple[LegNetwork, Access, CandidateSearch]:
    """The scenario's legs, access and candidate search, from `cache` when they were built for the
    same network, routing parameters and period (then kept there)."""
    if cache is None:
        return _build_routing(scenario)
    m = scenario.model
    key = json.dumps([scenario.resolved_network(), m.routing.model_dump(mode="json"), m.period.start, m.period.end],
                     sort_keys=True, default=str)
    if key not in cache:
        cache[key] = _build_routing(scenario)
    return cache[key]


def _build_routing(scenario: Scenario) -> tuple[LegNetwork, Access, CandidateSearch]:
    """The scenario's network as legs over its period, its access, and a candidate search with its
    routing parameters (nothing found yet)."""
    m = scenario.model
    legs = LegNetwork(scenario.network, m.period.start, m.period.end)
    access = Access(scenario.network)
    return legs, access, CandidateSearch(scenario.network, legs, access, m.routing)


def run(scenario: Scenario, seed: int | None = None, replication: int = 0, engine: str = "bulk",
        progress: Callable[[float], None] | None = None, routing_cache: RoutingCache | None = None,
        tables_to: Path | None = None) -> RunResult:
    """Run one replication in memory and return its tables and KPIs (`routing_cache`: see prepare;
    `tables_to`: an existing folder without them where the tables are written as they are built,
    see _written; RunResult.written names the files). A coordination rule whose offset is chosen by
    simulation runs the scenario once per candidate offset (sim.offsets); the run at the chosen
    offset is returned, its tables in memory alone (nothing written)."""
    searched = offsets.searched_rules(scenario.network)
    if searched:
        # the candidates share their routes' search
        routing_cache = {} if routing_cache is None else routing_cache
        return offsets.search(scenario, searched,
                              lambda scn: run(scn, seed, replication, engine, progress, routing_cache))
    if tables_to is not None:
        _check_free(tables_to)
    timings: dict[str, float] = {}
    prep = prepare(scenario, seed, replication, timings, routing_cache)
    departures = None
    if scenario.model.demand.departure_time is not None:
        prep, departures = _choose_departures(prep, engine, timings)
    if scenario.model.routing.crowding is None:
        # nothing chooses routes again: the candidates it priced (hundreds of MB for a city's day) need
        # not outlive the simulation, which needs the room
        prep = replace(prep, chooser=None)
    last, crowding_info, tours = _iterate_tours(prep, engine, progress, timings)
    facts = _facts(prep)
    del prep  # the decision hook (and the route chooser, kept for crowding): the tables need the room
    t1, wrote = time.perf_counter(), timings.get("writing", 0.0)
    assignment, plan, rec, ride = last.assignment, TablePlan.of(last.plan), last.rec.outcomes_only(), last.ride
    del last  # the plan's steps, service times and walking speeds, the records' working state: the engine's alone
    parts = table_parts(scenario.network, facts.demand, facts.legs, assignment, plan, rec, facts.rerouted, ride)
    del rec, ride  # the records: the tables hold what is kept of them (and `parts` lets go of what it no longer needs)
    written: dict[str, Path] = {}
    visits: dict | None = None
    if tables_to is None:
        tables = _in_memory(parts, facts)
    else:
        tables, written, visits = _written(parts, facts, tables_to, timings)
    trim_heap()  # what building the tables freed: the summary needs the room
    tables, summary = run_summary(facts, tables, crowding_info, tours, departures, visits)
    # the tables written as built are read again when asked (RunResult), whole: the summary's are its columns alone
    tables = replace(tables, **dict.fromkeys(written, None))
    _add_time(timings, "tables", t1 + timings.get("writing", 0.0) - wrote)  # the writing apart
    return RunResult(scenario, facts.seed, replication, engine, tables, summary, facts.groups, timings, written)


def _in_memory(parts: Iterator[tuple[str, pd.DataFrame]], facts: RunFacts) -> Tables:
    """The tables of table_parts, the trips with a `group_<name>` column per named OD group."""
    frames = dict(parts)
    _add_groups(frames["trips"], facts.groups)
    return Tables(**frames)


def _written(parts: Iterator[tuple[str, pd.DataFrame]], facts: RunFacts, directory: Path,
             timings: dict[str, float]) -> tuple[Tables, dict[str, Path], dict]:
    """The tables of table_parts (trips with their group columns) written into `directory`
    (<name>.parquet) as they come, each while the next is built (but the trips, see below) and let
    go once written; then the KPIs of the facility visits (visit_kpis) from the facilities table
    read back alone, and the trips and fares read back with the columns the summary reads alone
    (SUMMARY_COLUMNS; RunResult reads each whole when asked). Of the legs and trains, built last,
    the summary's columns are kept as they are written rather than read back (a city day's legs:
    tens of millions of rows to decode again, and the room they take is free by then). The time
    waited for the writes and reading back goes to timings' `writing`. A city's day thus never holds
    its tables beside the records they are built from, nor the visits beside the other tables.
    Returns the tables for the summary, the file of each, and the visit KPIs."""
    written: dict[str, Path] = {}
    kept: dict[str, pd.DataFrame] = {}
    # one table written at a time, in a thread (pyarrow encodes without holding the interpreter)
    with ThreadPoolExecutor(max_workers=1) as writer:
        pending: Future | None = None
        for name, table in parts:  # the next table is built while the one before is written
            if name == "trips":
                _add_groups(table, facts.groups)
            if name in KEPT_FOR_SUMMARY:  # the same columns as read back (no copy: pandas copies on write)
                wanted = SUMMARY_COLUMNS[name]
                kept[name] = table if wanted is None else table[[c for c in wanted if c in table.columns]]
            t0 = time.perf_counter()
            if pending is not None:
                pending.result()
            pending = writer.submit(write_table, directory, name, table)
            del table  # the writer's alone (but the columns kept): let go once written
            if name == "trips":
                # written before the legs are built: held beside them, the trips set a city day's peak
                pending.result()
            _add_time(timings, "writing", t0)
            written[name] = directory / f"{name}.parquet"
        t0 = time.perf_counter()
        if pending is not None:
            pending.result()
    trim_heap()  # what building the tables freed: reading them back needs the room
    starts = pd.read_parquet(written["trips"], columns=["commuter_id", "t_depart"])
    facilities = pd.read_parquet(written["facilities"])
    _add_time(timings, "writing", t0)
    visits = visit_kpis(facts, facilities, starts)  # the summary's work (timed with the tables)
    del facilities, starts
    t0 = time.perf_counter()
    frames = read_tables(directory, tuple(name for name in written if name != "facilities" and name not in kept),
                         SUMMARY_COLUMNS)
    _add_time(timings, "writing", t0)
    return Tables(**frames, **kept, facilities=None), written, visits


KEPT_FOR_SUMMARY = ("legs", "trains")
"""The tables written as built whose summary columns _written keeps rather than reads back: the
last built (nothing is built beside them after)."""


def _check_free(directory: Path) -> None:
    """UserError unless `directory` is a folder holding none of the tables' files: it is the
    caller's, and nothing in it is replaced (nor a link in it followed)."""
    if not directory.is_dir():
        raise UserError.single(str(directory), "", "expected an existing folder to write the tables into")
    there = [name for name in TABLES if os.path.lexists(directory / f"{name}.parquet")]
    if there:
        raise UserError.single(str(directory), "", f"already holds {there[0]}.parquet: the tables are written "
                               "only into a folder without them")


def _add_groups(trips: pd.DataFrame, groups: dict[str, np.ndarray]) -> None:
    """Give the trips a boolean column `group_<name>` per named OD group (docs/outputs.md)."""
    for name, mask in groups.items():
        trips[f"group_{name}"] = mask


def _facts(prep: Prepared) -> RunFacts:
    """What the tables and KPIs of a run take from its preparation."""
    return RunFacts(prep.scenario, prep.seed, prep.demand, prep.legs, prep.groups, prep.warnings, prep.closures,
                    prep.trains_cut, prep.rerouted, prep.modes, prep.plan.t_depart, prep.way is not None)
