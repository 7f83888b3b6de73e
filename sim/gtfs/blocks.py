"""In-seat continuations: trips of different routes run by one vehicle, where riders stay aboard
(transfers.txt transfer_type 4, or consecutive trips of one block_id meeting at one station),
chained into runs that become through-running patterns (`runs_onto`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from .feed import Feed
from .stations import Stations
from .trips import Trip

NEAR_KM = 0.5
"""Consecutive trips of a block continue in-seat when the second starts at the station where the
first ends or at one within this distance (km)."""


@dataclass
class Run:
    """One train's run: a trip, or trips chained in-seat; stations, times as offsets (s) from the
    first departure, and which trip each stop belongs to."""

    trips: tuple[Trip, ...]
    stations: tuple[str, ...]
    arr: np.ndarray
    dep: np.ndarray
    part: tuple[int, ...]

    @property
    def departures(self) -> tuple[float, ...]:
        """Departures (s) from the first stop: the first trip's."""
        return self.trips[0].departures


def runs(feed: Feed, trips: list[Trip], stations: Stations, notes: list[str]) -> list[Run]:
    """Every trip as a run, trips continuing in-seat onto another route's trip chained into one."""
    nxt = _continuations(feed, trips, stations, notes)
    has_prev = set(nxt.values())
    out, repeated, done = [], 0, set()
    by_id = {t.id: t for t in trips}
    for t in [t for t in trips if t.id not in has_prev] + [t for t in trips if t.id in has_prev]:
        if t.id in done:
            continue
        train = [t]
        done.add(t.id)
        while train[-1].id in nxt and nxt[train[-1].id] not in done:
            follow = by_id[nxt[train[-1].id]]
            done.add(follow.id)
            seen = {s for c in train for s in c.stations}
            if seen & set(follow.stations[1:] if follow.stations[0] == train[-1].stations[-1] else follow.stations):
                repeated += 1
                out.append(chain(train))
                train = [follow]
                continue
            train.append(follow)
        out.append(chain(train))
    if repeated:
        notes.append(f"{repeated} in-seat continuations not imported as through-running: the train would call at a "
                     "station twice")
    return out


def chain(trips: list[Trip]) -> Run:
    """Trips run one after the other by one train as one run (a trip alone as a run of its own)."""
    stations: list[str] = []
    arr: list[float] = []
    dep: list[float] = []
    part: list[int] = []
    t0 = trips[0].departures[0]
    for k, t in enumerate(trips):
        a, d = t.arr + t.departures[0] - t0, t.dep + t.departures[0] - t0
        start = 0
        if stations and stations[-1] == t.stations[0]:  # same station: arrive on one trip, leave on the next
            dep[-1], start = d[0], 1
        stations.extend(t.stations[start:])
        arr.extend(a[start:])
        dep.extend(d[start:])
        part.extend([k] * (len(t.stations) - start))
    return Run(tuple(trips), tuple(stations), np.asarray(arr), np.asarray(dep), tuple(part))


def _continuations(feed: Feed, trips: list[Trip], stations: Stations, notes: list[str]) -> dict[str, str]:
    """trip -> the trip it continues into in-seat (one to one, onto another route)."""
    by_id = {t.id: t for t in trips}
    tr = feed.optional("transfers.txt", ("transfer_type",), ("from_trip_id", "to_trip_id"))
    linked: dict[tuple[str, str], bool] = {}
    if tr is not None:
        for a, b, kind in zip(tr["from_trip_id"], tr["to_trip_id"], tr["transfer_type"]):
            if kind in ("4", "5") and a in by_id and b in by_id:
                linked[(a, b)] = kind == "4"
    blocks: dict[str, list[Trip]] = {}
    for t in trips:
        if t.block and len(t.departures) == 1:
            blocks.setdefault(t.block, []).append(t)
    for block in blocks.values():
        block.sort(key=lambda t: t.departures[0])
        for x, y in zip(block, block[1:]):
            end, start = x.stations[-1], y.stations[0]
            if (x.route != y.route and y.departures[0] >= x.departures[0] + x.arr[-1]
                    and (end == start or stations.km(end, start) <= NEAR_KM)):
                linked.setdefault((x.id, y.id), True)
    pairs = [(a, b) for (a, b), ok in sorted(linked.items()) if ok and by_id[a].route != by_id[b].route]
    outs, ins = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    one_to_one = [(a, b) for a, b in pairs if outs[a] == 1 and ins[b] == 1 and len(by_id[a].departures) == 1
                  and len(by_id[b].departures) == 1]
    if len(one_to_one) < len(pairs):
        notes.append(f"{len(pairs) - len(one_to_one)} in-seat continuations not imported as through-running: trains "
                     "that split, join or run by frequency cannot be expressed")
    return dict(one_to_one)
