"""The stations a zone's commuters can start from (or end at), and how they get there.

A way between a zone's centre and a station entrance takes its mode's speed over the straight-line
km times the mode's detour factor, after the mode's wait, for its fare. Of the modes within their
reach the cheapest in generalised cost is taken (no choice among them: they differ little next to
the rail trip), and of the stations the `stations_per_zone` cheapest. The time ends at the station
entrance: the walk inside the station is the route's (entry and exit walks), counted once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..network import Network
from ..schema import AccessModeSpec, RoutingSpec, ZoneAccessSpec
from .data import Zones, km_between

ACCESS_MODES = ("walk", "bike", "feeder_bus")
"""Codes of the ways to and from a station (index = code)."""


@dataclass(frozen=True)
class StationAccess:
    """Per zone (rows) its reachable stations, cheapest first (columns, -1 padded): the station
    index, the time from the zone's centre to its entrance (s), the generalised cost (s) and the
    fare (CNY) of getting there, and the way (code into ACCESS_MODES)."""

    station: np.ndarray
    time_s: np.ndarray
    cost_s: np.ndarray
    fare_cny: np.ndarray
    mode: np.ndarray


def station_access(zones: Zones, network: Network, spec: ZoneAccessSpec, routing: RoutingSpec) -> StationAccess:
    """The `spec.stations_per_zone` cheapest stations of each zone and the cheapest way to each."""
    lat = np.asarray([s.lat for s in network.stations])
    lon = np.asarray([s.lon for s in network.stations])
    km = km_between(zones.lat, zones.lon, lat, lon)
    shape = km.shape
    best = (np.full(shape, np.inf), np.full(shape, np.inf), np.zeros(shape), np.zeros(shape, dtype=np.int8))
    cost, time, fare, mode = best
    for code, name in enumerate(ACCESS_MODES):
        m: AccessModeSpec | None = getattr(spec, name)
        if m is None:
            continue
        moving = km * m.detour_factor / m.speed_kmh * 3600.0
        weight = routing.walk_weight if m.time_weight is None else m.time_weight
        c = weight * moving + routing.wait_weight * m.wait_s + m.fare_cny / routing.value_of_time_cny_per_h * 3600.0
        c = np.where(km <= m.max_km, c, np.inf)
        better = c < cost
        cost[better], time[better], fare[better], mode[better] = c[better], (moving + m.wait_s)[better], m.fare_cny, code
    k = min(spec.stations_per_zone, shape[1])
    # the k cheapest stations of each zone, in order of cost (stable: ties by station index)
    order = np.argsort(cost, axis=1, kind="stable")[:, :k]
    rows = np.arange(shape[0])[:, None]
    reach = np.isfinite(cost[rows, order])
    return StationAccess(np.where(reach, order, -1), np.where(reach, time[rows, order], np.inf),
                         np.where(reach, cost[rows, order], np.inf), np.where(reach, fare[rows, order], 0.0),
                         np.where(reach, mode[rows, order], -1).astype(np.int8))
