"""A GTFS feed as a network file (plain data in our YAML network format, checked against the schema):
agencies become operators, stations with their platforms grouped become stations, routes become
lines with service patterns and departures for one service day, transfers become walks.

Each item's `source` says which rows of the feed it came from and which of its values are defaults
(see `defaults`); the file's `description` gives the service day, why it was chosen, and what the
feed says that the network cannot express.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ..errors import Problem, UserError
from ..loading import format_loc
from ..schema import NetworkFile
from . import defaults
from .blocks import runs
from .distances import EdgeKm
from .fares import fare_media, operator_fares, station_zones
from .feed import SHOWN, Feed, one_line, read_feed
from .ids import IdMap
from .lines import (
    Line,
    Pattern,
    deviations,
    make_lines,
    make_patterns,
    pattern_specs,
    run_s_spec,
    sample_timing,
    time_patterns,
)
from .stations import Stations, read_stations
from .transfers import read_transfers
from .trips import Agency, day_trips, read_trips, select_routes


def import_feed(feed_path: str | Path, date: str | None = None, agencies: list[str] | None = None,
                routes: list[str] | None = None) -> dict:
    """The network of a GTFS feed (zip or folder) on service date `date` (YYYYMMDD; default: the date
    with the most trips), for the chosen agencies (ids or names) and routes (ids or short names;
    default: every rail route). UserError naming the file, field and line of any problem."""
    notes: list[str] = []
    feed = read_feed(feed_path)
    chosen_agencies, chosen_routes = select_routes(feed, agencies, routes, notes)
    day, todays = day_trips(feed, chosen_routes, date)
    stations = read_stations(feed)
    trips = read_trips(feed, todays, stations)
    km = EdgeKm(trips, stations)
    line_of = make_lines(trips, chosen_routes, km, IdMap(), notes)
    patterns = make_patterns(runs(feed, trips, stations, notes), line_of, notes)
    link_samples: dict[tuple[str, str], Counter] = {}
    sample_timing(patterns, link_samples)
    link_run = _link_runs(link_samples)
    time_patterns(patterns, link_run)
    exact, total, profiles = deviations(patterns)
    if exact < total:
        notes.append(f"{total - exact:,} of {total:,} trains are not timed by their line's run times and dwells: "
                     f"written as {profiles:,} patterns with times of their own, so every call keeps the feed's time")
    used = sorted({s for p in patterns for s in p.stations})
    station_ids = IdMap()
    for s in used:
        station_ids.take(s)
    within, between = read_transfers(feed, stations, set(used), notes)
    operator_ids, op_of = IdMap(), {}
    for key, agency in chosen_agencies.items():
        op_of[key] = operator_ids.take(key or agency.name)
    media = fare_media(feed)
    served: dict[str, set[str]] = {}
    for p in patterns:
        served.setdefault(p.lines[0].route.agency, set()).update(station_ids.of[s] for s in p.stations)
    zones = station_zones(feed, stations.of, station_ids.of)
    fares = operator_fares(feed, chosen_agencies, chosen_routes, media, zones, served, notes)
    lines = list({id(ln): ln for p in patterns for ln in p.lines[:1]}.values())
    data = {
        "schema_version": 1,
        "name": IdMap().take(f"{Path(feed_path).stem}_{day.text}"),
        "description": _description(feed_path, day, len({r.id for ln in lines for r in (ln.route, *ln.also)}), total,
                                    notes),
        "notes": [one_line(n) for n in [f"imported from the GTFS feed {Path(feed_path).name} for service day "
                                        f"{day.text} ({day.reason})", *notes]],
        "media": media,
        "operators": [_operator(a, fares[k], op_of) for k, a in chosen_agencies.items()
                      if any(ln.route.agency == k for ln in lines)],
        "stations": [_station(s, stations, station_ids.of, _operator_of(s, patterns, op_of), within)
                     for s in used],
        "lines": [_line(ln, [p for p in patterns if p.lines[0] is ln], station_ids.of, op_of, km, link_run)
                  for ln in lines],
        "interchanges": _interchanges(between, station_ids.of),
        "track_links": _track_links(link_run, patterns, station_ids.of, op_of, stations),
    }
    _check_schema(data, feed)
    return data


_SOURCE = re.compile(r"(\w+\.txt) line (\d+)")
"""Where an item's `source` says it came from: its first file and line."""


def _check_schema(data: dict, feed: Feed) -> None:
    """The network checked against the schema. A value that the feed's own checks let through (a
    latitude past 90, overlapping frequencies.txt bands, ...) is a UserError at the feed row its
    item came from, as its `source` says, rather than an internal error."""
    try:
        NetworkFile.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        shown = [_schema_problem(data, feed, err) for err in errors[:SHOWN]]
        if len(errors) > SHOWN:
            shown.append(Problem(str(feed.path), "", f"... and {len(errors) - SHOWN} more problems like these"))
        raise UserError(shown) from None


def _schema_problem(data: dict, feed: Feed, err: ErrorDetails) -> Problem:
    """One schema error, at the feed row its item came from when the item's `source` names one."""
    loc = err["loc"]
    items = data.get(loc[0]) if loc else None
    item = items[loc[1]] if isinstance(items, list) and len(loc) > 1 and isinstance(loc[1], int) else {}
    where = _SOURCE.match(item.get("source", ""))
    message = (f"the network imported from {'this row' if where else 'the feed'} is invalid: {format_loc(loc)}: "
               f"{err['msg'].removeprefix('Value error, ')}")
    if where:
        return feed.problem(where[1], "", message, int(where[2]))
    return Problem(str(feed.path), "", one_line(message))


def ids_listing(network: dict) -> str:
    """The operators, lines and stations of an imported network with the ids a scenario uses for them
    (and the feed's ids or names beside them), one per row, feed text kept to its line."""
    rows = ["operators (id: agency name, time zone)"]
    rows += [f"  {op['id']}: {op['name']}, {op['timezone']}" for op in network["operators"]]
    rows.append("lines (id: short name, name, operator, services)")
    rows += [f"  {ln['id']}: {ln.get('short_name', '-')}, {ln['name']}, {ln['operator']}, "
             f"{sum(len(p['timetable']) for p in ln['patterns'])}" for ln in network["lines"]]
    rows.append("stations (id: name, other name)")
    rows += [f"  {st['id']}: {st['name_en']}" + (f", {st['name_zh']}" if st["name_zh"] != st["name_en"] else "")
             for st in network["stations"]]
    return "\n".join(one_line(r) for r in rows)


def _description(path, day, n_routes: int, trains: int, notes: list[str]) -> str:
    """One line per fact: the feed's names and ids in the notes kept to their line (see `one_line`),
    as the description is also printed and logged."""
    lines = [f"Imported from the GTFS feed {Path(path).name} for service day {day.text} ({day.reason}): "
             f"{n_routes} routes, {trains:,} trains."]
    lines += [f"Note: {n}." for n in notes]
    return "\n".join(one_line(line) for line in lines)


def _operator(agency: Agency, fare: dict, op_of: dict[str, str]) -> dict:
    return {"id": op_of[agency.key], "name": agency.name, "fare": fare,
            "station_defaults": defaults.STATION_DEFAULTS, "timezone": agency.timezone,
            "source": f"agency.txt line {agency.row + 2}; fare from the feed's fares (see the description); station "
                      "facilities, entry, exit and transfer walk: ASSUMPTION (defaults for imported operators)"}


def _operator_of(station: str, patterns: list[Pattern], op_of: dict[str, str]) -> str:
    """The operator of most of the trains calling at a station."""
    count: Counter = Counter()
    for p in patterns:
        if station in p.stations:
            agency = next(ln for ln in p.lines if station in ln.track.depth).route.agency
            count[agency] += sum(len(r.departures) for rs in p.runs.values() for r in rs)
    return op_of[min(count, key=lambda a: (-count[a], a))]


def _station(s: str, stations: Stations, station_id: dict, operator: str, within: dict[str, int]) -> dict:
    out = {"id": station_id[s], "operator": operator, "name_zh": stations.name_zh[s], "name_en": stations.name_en[s],
           "lat": round(stations.lat[s], 6), "lon": round(stations.lon[s], 6)}
    if s in within:
        out["transfer_walk_s"] = within[s]
    out["source"] = f"stops.txt line {stations.row[s] + 2}" + (" (transfer walk: transfers.txt)" if s in within else "")
    return out


def _line(line: Line, patterns: list[Pattern], station_id: dict, op_of: dict, km: EdgeKm, link_run: dict) -> dict:
    route, track = line.route, line.track
    runs_count = sum(len(r.departures) for p in patterns for rs in p.runs.values() for r in rs)
    branches = {("main" if k == 0 else f"branch{k + 1}"): [[station_id[s], track.km[s]] for s in b]
                for k, b in enumerate(track.branches())}
    pids = IdMap()
    together = (route, *line.also)  # routes sharing its platforms: named together
    short = " + ".join(r.short or r.id for r in together) if line.also else route.short
    out = {"id": line.id, "operator": op_of[route.agency], "name": short if line.also else route.name,
           "route_type": route.route_type}
    if short:
        out["short_name"] = short
    if route.color:
        out["color"] = route.color
    out.update({
        "branches": branches,
        "speed_profile": dict(route.mode.speed_profile),
        "run_s": run_s_spec(line, station_id),
        "dwell_s": line.dwell_s,
        "dwell_s_at": {station_id[s]: v for s, v in sorted(line.dwell_at.items())},
        "capacity": route.mode.capacity,
        "patterns": [spec for p in patterns for spec in pattern_specs(p, pids, station_id)],
        "source": (f"routes.txt line{'s' if line.also else ''} {', '.join(str(r.row + 2) for r in together)} "
                   f"(route_id {', '.join(r.id for r in together)}, route_type {route.route_type}: "
                   f"{route.mode.name}); branches from the stop sequences of its trips, km posts from {km.source}; "
                   f"run_s, dwell_s and dwell_s_at: the most frequent over its {runs_count:,} trains; capacity and "
                   f"speed_profile: ASSUMPTION, defaults for {route.mode.name}"),
    })
    return out


def _interchanges(between: dict[tuple[str, str], int], station_id: dict) -> list[dict]:
    out, ids = [], IdMap()
    for (a, b), t in sorted(between.items()):
        both = between.get((b, a)) == t
        if both and (b, a) < (a, b):
            continue
        out.append({"id": ids.take(f"{station_id[a]}--{station_id[b]}"), "stations": [station_id[a], station_id[b]],
                    "bidirectional": both, "paths": [{"name": "walk", "steps": [{"walk_s": t}]}],
                    "source": "transfers.txt (min_transfer_time, or a walk estimated from the distance)"})
    return out


def _link_runs(samples: dict[tuple[str, str], Counter]) -> dict[tuple[str, str], float]:
    """One run time per track link (both ways): the most frequent over both directions."""
    both: dict[frozenset, Counter] = {}
    for (a, b), c in samples.items():
        both.setdefault(frozenset((a, b)), Counter()).update(c)
    chosen = {k: max(1, round(min(c, key=lambda v: (-c[v], v)))) for k, c in both.items()}
    return {(a, b): chosen[frozenset((a, b))] for a, b in samples}


def _track_links(link_run: dict, patterns: list[Pattern], station_id: dict, op_of: dict,
                 stations: Stations) -> list[dict]:
    """Track links where trains continue in-seat onto another line from a different station, charged
    by the operator of the line the trains come from (in the pattern's first direction that runs)."""
    out, ids = [], IdMap()
    for a, b in sorted({tuple(sorted(k)) for k in link_run}):
        p = next(p for p in patterns if a in p.stations and b in p.stations)
        seq = p.stations if p.runs["forward"] else p.stations[::-1]
        first = a if seq.index(a) < seq.index(b) else b
        agency = next(ln for ln in p.lines if first in ln.track.depth).route.agency
        out.append({"id": ids.take(f"{station_id[a]}--{station_id[b]}"), "between": [station_id[a], station_id[b]],
                    "km": max(defaults.MIN_EDGE_KM, round(stations.km(a, b), 3)), "run_s": link_run[(a, b)]
                    if (a, b) in link_run else link_run[(b, a)],
                    "operator": op_of[agency],
                    "source": "in-seat continuations (block_id or transfer_type 4); km: straight line (ASSUMPTION); "
                              "run_s: the trains' time between the two stations"})
    return out
