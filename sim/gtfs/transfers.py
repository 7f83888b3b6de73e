"""Walking transfers from transfers.txt: between platforms of one station (the station's
`transfer_walk_s`) and between stations (interchanges with one walking path per direction)."""

from __future__ import annotations

import numpy as np

from . import defaults
from .feed import Feed, parse_numbers
from .stations import Stations


def walk_estimate_s(stations: Stations, a: str, b: str) -> int:
    """Walking time (s) between two stations the feed gives no time for (see defaults)."""
    return round(stations.km(a, b) * 1000 * defaults.WALK_DETOUR / defaults.WALK_SPEED_MS)


def read_transfers(feed: Feed, stations: Stations, imported: set[str],
                   notes: list[str]) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """Station -> walk (s) between its platforms (mean of its min_transfer_time rows), and
    (from station, to station) -> walk (s) for transfers between two imported stations (mean of
    min_transfer_time, or estimated from the distance for transfer_type 0 and 1 without one);
    pairs with only transfer_type 3 (not possible) get none. Route- and trip-specific rows count as
    the stations' (our transfers are per station pair)."""
    tr = feed.optional("transfers.txt", ("transfer_type",), ("from_stop_id", "to_stop_id", "min_transfer_time",
                                                             "from_route_id", "from_trip_id"))
    if tr is None:
        return {}, {}
    tr = tr[tr["transfer_type"].isin(["", "0", "1", "2", "3"])]
    for col in ("from_stop_id", "to_stop_id"):
        given = tr[col][tr[col] != ""]
        feed.check_known("transfers.txt", col, given, stations.of, "stop", "stops.txt")
    times = parse_numbers(feed, "transfers.txt", "min_transfer_time", tr["min_transfer_time"], minimum=0)
    within: dict[str, list[float]] = {}
    between: dict[tuple[str, str], list[float]] = {}
    impossible = set()
    specific = 0
    for a, b, kind, t, route, trip in zip(tr["from_stop_id"], tr["to_stop_id"], tr["transfer_type"], times,
                                          tr["from_route_id"], tr["from_trip_id"]):
        if not a or not b:
            continue
        sa, sb = stations.of[a], stations.of[b]
        if sa not in imported or sb not in imported:
            continue
        specific += bool(route or trip)
        if kind == "3":
            impossible.add((sa, sb))
        elif sa == sb:
            if not np.isnan(t):
                within.setdefault(sa, []).append(float(t))
        else:
            between.setdefault((sa, sb), []).append(float(t) if not np.isnan(t) else walk_estimate_s(stations, sa, sb))
    if specific:
        notes.append(f"{specific} route- or trip-specific transfer times taken as their stations' (averaged)")
    if impossible:
        notes.append(f"{len(impossible)} transfers marked not possible (transfer_type 3) between stations: no "
                     "interchange made for them; within a station they cannot be forbidden")
    return ({s: round(float(np.mean(v))) for s, v in within.items()},
            {k: round(float(np.mean(v))) for k, v in between.items() if k not in impossible})
