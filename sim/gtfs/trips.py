"""The trips to import: routes chosen by agency, name and mode, the trips of the service day, and each
trip's stations and times from stop_times.txt (checked, gaps interpolated) and frequencies.txt."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import UserError
from ..schema import DEFAULT_TIMEZONE, TIMEZONE_PATTERN
from . import defaults
from .calendar import ServiceDay, choose_day
from .feed import Feed, parse_numbers, parse_times
from .stations import Stations


@dataclass(frozen=True)
class Agency:
    key: str
    """agency_id ('' in a feed of one agency without ids)."""
    name: str
    row: int
    timezone: str = DEFAULT_TIMEZONE
    """agency_timezone."""


@dataclass(frozen=True)
class Route:
    id: str
    agency: str
    name: str
    route_type: int
    mode: defaults.Mode
    color: str | None
    row: int
    short: str = ""
    """route_short_name."""


@dataclass
class Trip:
    """One trip: its stations in order and its times as offsets (s) from its first departure, with
    the departures from its first stop (one, or a frequency-based trip's many)."""

    id: str
    route: str
    stations: tuple[str, ...]
    arr: np.ndarray
    dep: np.ndarray
    dist: np.ndarray | None
    """shape_dist_traveled at each stop (feed units), when the feed gives it."""
    departures: tuple[float, ...]
    bands: tuple[tuple[float, float], ...]
    """frequencies.txt (start_time, headway_secs) rows of a frequency-based trip."""
    block: str
    stops: tuple[str, ...] = ()
    """The feed's stop_id at each call (platforms, where the feed has them)."""


def select_routes(feed: Feed, agencies: list[str] | None, routes: list[str] | None,
                  notes: list[str]) -> tuple[dict[str, Agency], dict[str, Route]]:
    """The agencies and routes to import: those named (agencies by id or name, routes by id or short
    name), else every route of a rail mode (others are left out, and said so in `notes`)."""
    ag = feed.table("agency.txt", ("agency_name",), ("agency_id", "agency_timezone"))
    if len(ag) > 1 and (ag["agency_id"] == "").any():
        raise feed.rows_problem("agency.txt", "agency_id", ag.index[ag["agency_id"] == ""],
                                "required when the feed has several agencies")
    zone = ag["agency_timezone"].where(ag["agency_timezone"] != "", DEFAULT_TIMEZONE)
    wrong = ag.index[~zone.str.fullmatch(TIMEZONE_PATTERN)]
    if len(wrong):
        raise feed.rows_problem("agency.txt", "agency_timezone", wrong, "expected a time zone name such as Asia/Shanghai")
    all_agencies = {k: Agency(k, n, int(i), z) for i, k, n, z in zip(ag.index, ag["agency_id"], ag["agency_name"], zone)}
    rt = feed.table("routes.txt", ("route_id", "route_type"), ("agency_id", "route_short_name", "route_long_name",
                                                                "route_color"))
    if len(all_agencies) == 1:
        rt["agency_id"] = rt["agency_id"].where(rt["agency_id"] != "", next(iter(all_agencies)))
    feed.check_known("routes.txt", "agency_id", rt["agency_id"], set(all_agencies), "agency", "agency.txt")
    types = parse_numbers(feed, "routes.txt", "route_type", rt["route_type"], integer=True, minimum=0, required=True)
    unnamed = rt.index[(rt["route_short_name"] == "") & (rt["route_long_name"] == "")]
    if len(unnamed):
        raise feed.rows_problem("routes.txt", "route_short_name", unnamed, "route_short_name or route_long_name is required")
    chosen = set(all_agencies)
    if agencies:
        by_name = {a.name: k for k, a in all_agencies.items()}
        unknown = [a for a in agencies if a not in all_agencies and a not in by_name]
        if unknown:
            raise UserError.single("", "--agencies", f"unknown agency {', '.join(unknown)} (the feed has: "
                                   f"{', '.join(f'{k} ({a.name})' for k, a in all_agencies.items())})")
        chosen = {by_name.get(a, a) for a in agencies}
    names = set(routes or ())
    known = set(rt["route_id"]) | set(rt["route_short_name"])
    if names - known:
        raise UserError.single("", "--routes", f"unknown route {', '.join(sorted(names - known))} (give route_id or "
                               "route_short_name of routes.txt)")
    out: dict[str, Route] = {}
    left_out: Counter[str] = Counter()
    for i, rid, aid, short, long_, color, rtype in zip(rt.index, rt["route_id"], rt["agency_id"], rt["route_short_name"],
                                                       rt["route_long_name"], rt["route_color"], types):
        if aid not in chosen or (names and rid not in names and short not in names):
            continue
        mode = defaults.mode(int(rtype))
        if mode is None or (not names and not mode.rail):
            left_out[mode.name if mode else f"route_type {int(rtype)}"] += 1
            if names:
                raise feed.rows_problem("routes.txt", "route_type", [i], f"route_type {int(rtype)} is not supported")
            continue
        name = " ".join(x for x in (short, long_) if x)
        out[rid] = Route(rid, aid, name, int(rtype), mode,
                         f"#{color.upper()}" if len(color) == 6 and all(c in "0123456789abcdefABCDEF" for c in color)
                         else None, int(i), short)
    if left_out:
        notes.append("routes left out (not rail; name them to import them): " +
                     ", ".join(f"{n} {m}" for m, n in sorted(left_out.items())))
    if not out:
        raise UserError([feed.problem("routes.txt", "", "no route to import (no rail route among the chosen agencies "
                                                        "and routes)")])
    return {k: all_agencies[k] for k in sorted({r.agency for r in out.values()})}, out


def day_trips(feed: Feed, routes: dict[str, Route], date: str | None) -> tuple[ServiceDay, pd.DataFrame]:
    """The service day and the trips of the chosen routes running on it."""
    tr = feed.table("trips.txt", ("route_id", "service_id", "trip_id"), ("block_id", "shape_id"))
    dup = tr.index[tr["trip_id"].duplicated()]
    if len(dup):
        raise feed.rows_problem("trips.txt", "trip_id", dup, lambda i: f"duplicate trip_id '{tr.loc[i, 'trip_id']!s}'")
    feed.check_known("trips.txt", "route_id", tr["route_id"], set(feed.tables["routes.txt"]["route_id"]), "route",
                     "routes.txt")
    mine = tr[tr["route_id"].isin(routes)]
    day = choose_day(feed, Counter(mine["service_id"]), date)
    return day, mine[mine["service_id"].isin(day.services)]


def read_trips(feed: Feed, trips: pd.DataFrame, stations: Stations) -> list[Trip]:
    """Each trip's stations and times, in stop_sequence order. UserError for unknown stops, bad or
    repeated stop_sequence values, bad times and times that run backwards."""
    st = feed.table("stop_times.txt", ("trip_id", "stop_sequence", "stop_id", "arrival_time", "departure_time"),
                    ("shape_dist_traveled",))
    feed.check_known("stop_times.txt", "trip_id", st["trip_id"], set(feed.tables["trips.txt"]["trip_id"]), "trip",
                     "trips.txt")
    st = st[st["trip_id"].isin(set(trips["trip_id"]))]
    feed.check_known("stop_times.txt", "stop_id", st["stop_id"], stations.of, "stop", "stops.txt")
    seq = parse_numbers(feed, "stop_times.txt", "stop_sequence", st["stop_sequence"], integer=True, minimum=0,
                        required=True)
    arr = parse_times(feed, "stop_times.txt", "arrival_time", st["arrival_time"])
    dep = parse_times(feed, "stop_times.txt", "departure_time", st["departure_time"])
    dist = parse_numbers(feed, "stop_times.txt", "shape_dist_traveled", st["shape_dist_traveled"], minimum=0)
    trip_code = pd.Categorical(st["trip_id"], categories=trips["trip_id"].tolist()).codes
    order = np.lexsort((seq, trip_code))
    rows = st.index.to_numpy()[order]
    code, seq, arr, dep, dist = trip_code[order], seq[order], arr[order], dep[order], dist[order]
    same = code[1:] == code[:-1]
    if (same & (seq[1:] == seq[:-1])).any():
        raise feed.rows_problem("stop_times.txt", "stop_sequence", rows[1:][same & (seq[1:] == seq[:-1])],
                                "stop_sequence repeated within the trip")
    arr, dep = np.where(np.isnan(arr), dep, arr), np.where(np.isnan(dep), arr, dep)
    starts = np.flatnonzero(np.r_[True, ~same])
    ends = np.r_[starts[1:], len(code)]
    _check_ends(feed, rows, arr, starts, ends)
    stop = st["stop_id"].to_numpy()[order]
    station = np.asarray([stations.of[s] for s in stop], dtype=object)
    _interpolate(arr, dep, dist, station, stations, starts, ends)
    _check_order(feed, rows, arr, dep, same)
    freq = _frequencies(feed, set(trips["trip_id"]))
    route_of, block_of = dict(zip(trips["trip_id"], trips["route_id"])), dict(zip(trips["trip_id"], trips["block_id"]))
    ids = trips["trip_id"].to_numpy()
    out = []
    for a, b in zip(starts, ends):
        tid = ids[code[a]]
        t0 = dep[a]
        bands = freq.get(tid, ())
        departures = tuple(t for start, end, h in bands for t in np.arange(start, end, h)) if bands else (t0,)
        d = dist[a:b]
        out.append(Trip(tid, route_of[tid], tuple(station[a:b]),
                        arr[a:b] - t0, dep[a:b] - t0, None if np.isnan(d).any() else d - d[0],
                        tuple(float(t) for t in departures), tuple((s, h) for s, _, h in bands),
                        block_of[tid], tuple(stop[a:b])))
    return out


def _check_ends(feed: Feed, rows, arr, starts, ends) -> None:
    """Every trip has two stops or more, with times at its first and last stop."""
    short = starts[ends - starts < 2]
    if len(short):
        raise feed.rows_problem("stop_times.txt", "trip_id", rows[short], "a trip needs at least two stops")
    untimed = np.r_[starts[np.isnan(arr[starts])], ends[np.isnan(arr[ends - 1])] - 1]
    if len(untimed):
        raise feed.rows_problem("stop_times.txt", "arrival_time", np.sort(rows[untimed]),
                                "times are required at the first and last stop of a trip")


def _check_order(feed: Feed, rows, arr, dep, same) -> None:
    """Times never run backwards: departure not before arrival, next arrival not before departure."""
    early = np.flatnonzero(dep < arr)
    if len(early):
        raise feed.rows_problem("stop_times.txt", "departure_time", rows[early], "departs before it arrives")
    back = np.flatnonzero(same & (arr[1:] < dep[:-1])) + 1
    if len(back):
        raise feed.rows_problem("stop_times.txt", "arrival_time", rows[back],
                                "stop_times out of order: arrives before it left the previous stop (by stop_sequence)")


def _interpolate(arr, dep, dist, station, stations: Stations, starts, ends) -> None:
    """Times of stops without times (non-timepoints), in place: from the departure at the timepoint
    before to the arrival at the one after, linear in shape_dist_traveled (or else in straight-line
    distance between the stations)."""
    gaps = np.isnan(arr)
    if not gaps.any():
        return
    for a, b in zip(starts, ends):
        if not gaps[a:b].any():
            continue
        d = dist[a:b]
        if np.isnan(d).any():
            steps = [stations.km(x, y) for x, y in zip(station[a:b - 1], station[a + 1:b])]
            d = np.r_[0.0, np.cumsum(steps)]
        known = np.flatnonzero(~gaps[a:b])
        todo = np.flatnonzero(gaps[a:b])
        nxt = known[np.searchsorted(known, todo)]
        prv = known[np.searchsorted(known, todo) - 1]
        t0, t1 = dep[a + prv], arr[a + nxt]
        share = np.divide(d[todo] - d[prv], d[nxt] - d[prv], out=np.zeros(len(todo)), where=d[nxt] > d[prv])
        arr[a + todo] = dep[a + todo] = np.round(t0 + share * (t1 - t0))


def _frequencies(feed: Feed, trip_ids: set[str]) -> dict[str, list[tuple[float, float, float]]]:
    """frequencies.txt rows per trip: (start_time, end_time, headway_secs), in time order."""
    fr = feed.optional("frequencies.txt", ("trip_id", "start_time", "end_time", "headway_secs"), ("exact_times",))
    if fr is None:
        return {}
    fr = fr[fr["trip_id"].isin(trip_ids)]
    start = parse_times(feed, "frequencies.txt", "start_time", fr["start_time"])
    end = parse_times(feed, "frequencies.txt", "end_time", fr["end_time"])
    head = parse_numbers(feed, "frequencies.txt", "headway_secs", fr["headway_secs"], integer=True, minimum=1)
    bad = fr.index[np.isnan(start) | np.isnan(end) | np.isnan(head) | (end <= start)]
    if len(bad):
        raise feed.rows_problem("frequencies.txt", "end_time", bad, "needs start_time, end_time after it and headway_secs")
    out: dict[str, list] = {}
    for tid, s, e, h in zip(fr["trip_id"], start, end, head):
        out.setdefault(tid, []).append((float(s), float(e), float(h)))
    return {k: sorted(v) for k, v in out.items()}
