"""The stations a zone's commuters can start from (or end at), and how they get there.

A way between a zone's centre and a station entrance takes its mode's speed over the straight-line
km times the mode's detour factor, after the mode's wait, for its fare; each mode within its reach
is offered. The commuters of a zone pick among them by the logit of route choice (its scale), so
the cost of reaching a station is the logsum of the ways there, and of the stations a zone keeps
the `stations_per_zone` cheapest. The time ends at the station entrance: the walk inside the
station is the route's (entry and exit walks), counted once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..choice import logit_pick, logsum_cost
from ..network import Network, km_between
from ..schema import AccessModeSpec, RoutingSpec, ZoneAccessSpec
from .data import Zones

ACCESS_MODES = ("walk", "bike", "feeder_bus")
"""Codes of the ways to and from a station (index = code)."""


@dataclass(frozen=True)
class StationAccess:
    """Per zone (rows) its reachable stations, cheapest first (columns, -1 padded): the station
    index and the cost (s) of reaching it (the logsum of the ways); per way (last axis, in
    ACCESS_MODES order) its time from the zone's centre to the entrance (s) and its generalised cost
    (s; inf where the way is not offered)."""

    station: np.ndarray
    cost_s: np.ndarray
    way_time_s: np.ndarray
    way_cost_s: np.ndarray
    theta_per_s: float

    def draw(self, zone: np.ndarray, column: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The way (code) and its time (s) for commuters reaching station `column` of `zone`, one
        uniform number each, by the logit the costs were summed with."""
        if not len(zone):
            return np.zeros(0, dtype=np.int8), np.zeros(0)
        way = logit_pick(self.way_cost_s[zone, column], u, self.theta_per_s)
        return way.astype(np.int8), self.way_time_s[zone, column, way]


def station_access(zones: Zones, network: Network, spec: ZoneAccessSpec, routing: RoutingSpec) -> StationAccess:
    """The `spec.stations_per_zone` cheapest stations of each zone and the ways to each."""
    lat = np.asarray([s.lat for s in network.stations])
    lon = np.asarray([s.lon for s in network.stations])
    km = km_between(zones.lat, zones.lon, lat, lon)
    times = np.full((*km.shape, len(ACCESS_MODES)), np.nan)
    costs = np.full(times.shape, np.inf)
    for code, name in enumerate(ACCESS_MODES):
        m: AccessModeSpec | None = getattr(spec, name)
        if m is None:
            continue
        moving = km * m.detour_factor / m.speed_kmh * 3600.0
        weight = routing.walk_weight if m.time_weight is None else m.time_weight
        c = weight * moving + routing.wait_weight * m.wait_s + m.fare_cny / routing.value_of_time_cny_per_h * 3600.0
        reach = km <= m.max_km
        costs[..., code] = np.where(reach, c, np.inf)
        times[..., code] = np.where(reach, moving + m.wait_s, np.nan)
    theta = routing.logit_scale_per_min / 60.0
    cost = logsum_cost(costs.reshape(-1, len(ACCESS_MODES)), theta).reshape(km.shape)
    k = min(spec.stations_per_zone, km.shape[1])
    # the k cheapest stations of each zone, in order of cost (stable: ties by station index)
    order = np.argsort(cost, axis=1, kind="stable")[:, :k]
    rows = np.arange(km.shape[0])[:, None]
    reach = np.isfinite(cost[rows, order])
    return StationAccess(np.where(reach, order, -1), np.where(reach, cost[rows, order], np.inf), times[rows, order],
                         costs[rows, order], theta)
