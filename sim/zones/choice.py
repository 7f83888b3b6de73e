"""Mode and station choice of the commuters drawn between zones (see schema.ZonesSpec).

One nested logit per commuter over: rail from each pair of a station near the origin zone and one
near the destination zone (a nest), and the road modes offered (car, bus), each alone. A station
pair's rail cost is the cost of reaching its origin station (the logsum of the ways there:
sim.zones.access), the logsum of its candidate routes with expected waits at the hour the commuter
leaves home (route choice's scale), and the cost from the destination station. The ways a rail
chooser takes to and from the stations are drawn by the same logit. Who chooses rail becomes a commuter of the simulation,
from the chosen stations, reaching the origin station's entrance at their departure plus the
access time; route choice then picks their route as for everyone. The others travel by road,
door to door in the modelled time, outside the simulation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..choice import Chooser, logit_pick, logsum_cost
from ..demand import Demand, routable_pairs
from ..network import Network, km_between
from ..routing import Access, CandidateSearch, LegNetwork
from ..schema import RoadModeSpec, RoutingSpec, TripMakingSpec, ZonesSpec
from .access import StationAccess, station_access
from .data import Zones

MODES = ("rail", "car", "bus", "no_trip")
"""Codes of the modes chosen between zones (index = code); no_trip: does not travel
(schema.TripMakingSpec)."""
RAIL, CAR, BUS, NO_TRIP = range(4)


@dataclass(frozen=True)
class ModeChoice:
    """The choice of every commuter drawn between zones (row i of these arrays), and the demand
    the simulation carries: the station segments' commuters and those who chose rail."""

    demand: Demand
    """Station-level commuters, numbered in order of their time at the origin station."""
    zones: Zones
    segment: np.ndarray  # int16 per zone commuter
    origin_zone: np.ndarray  # int32
    destination_zone: np.ndarray  # int32
    t_home: np.ndarray  # float64: departure from home (s since midnight)
    mode: np.ndarray  # int8 code into MODES; -1: no mode available
    road_time_s: np.ndarray  # door to door by car or bus (s); NaN for rail
    access_s: np.ndarray  # rail: zone centre to the origin station's entrance (s); NaN otherwise
    egress_s: np.ndarray  # rail: destination station's exit to the zone centre (s); NaN otherwise
    access_mode: np.ndarray  # int8 code into access.ACCESS_MODES (rail), -1 otherwise
    egress_mode: np.ndarray
    commuter: np.ndarray  # int64: the commuter id in `demand` of those by rail, -1 otherwise


def road_cost(spec: RoadModeSpec, km: np.ndarray, routing: RoutingSpec) -> tuple[np.ndarray, np.ndarray]:
    """Door-to-door time (s) and generalised cost (s) of a road mode over straight-line `km`; the
    cost is inf beyond its max_km."""
    ride = km * spec.detour_factor / spec.speed_kmh * 3600.0
    money = spec.fixed_cny + spec.per_km_cny * km * spec.detour_factor
    cost = (ride + routing.walk_weight * spec.walk_s + routing.wait_weight * spec.wait_s
            + money / routing.value_of_time_cny_per_h * 3600.0 + spec.constant_s)
    return ride + spec.walk_s + spec.wait_s, np.where(km <= spec.max_km, cost, np.inf)


def choose_modes(demand: Demand, zones: Zones, spec: ZonesSpec, network: Network, legs: LegNetwork, access: Access,
                 search: CandidateSearch, rng: np.random.Generator, file: str = "") -> ModeChoice:
    """Every zone commuter's mode (and, by rail, stations) by the nested logit of the module
    docstring; four uniform numbers per zone commuter, in commuter order (car availability, choice,
    the way to the station, the way from it), and with trip making a fifth (travelling or not)."""
    assert demand.origin_zone is not None and demand.destination_zone is not None  # the caller's condition
    routing = search.spec
    rows = np.flatnonzero(demand.origin_zone >= 0)
    oz, dz = demand.origin_zone[rows].astype(np.int64), demand.destination_zone[rows].astype(np.int64)
    medium, t_home = demand.payment[rows].astype(np.int64), demand.t_depart[rows]
    u_car, u = rng.random(len(rows)), rng.random(len(rows))
    has_car = u_car < (spec.car.available_share if spec.car is not None else 0.0)
    band = legs.band_of(t_home)
    reach = station_access(zones, network, spec.access, routing)
    # one choice situation per (zone pair, medium, band, car in the household)
    n_z, n_m = len(zones), len(demand.media)
    key = (((oz * n_z + dz) * n_m + medium) * legs.n_bands + band) * 2 + has_car
    uniq, unit = np.unique(key, return_inverse=True)
    u_car_ok, rest = uniq % 2 == 1, uniq // 2
    u_band, rest = rest % legs.n_bands, rest // legs.n_bands
    u_m, u_od = rest % n_m, rest // n_m
    u_o, u_d = u_od // n_z, u_od % n_z
    pair_cost, pair_o, pair_d = _rail_pairs(reach, u_o, u_d, u_m, u_band, network, legs, access, search, file)
    zone_km = km_between(zones.lat, zones.lon, zones.lat, zones.lon)[u_o, u_d]
    # the columns: every station pair (the rail nest), then car and bus (a nest each)
    road = [(spec.car, u_car_ok), (spec.bus, np.ones(len(uniq), dtype=bool))]
    road_time = np.full((len(uniq), 2), np.nan)
    cost = np.concatenate([pair_cost, np.full((len(uniq), 2), np.inf)], axis=1)
    parking = zones.parking_cny[u_d] / routing.value_of_time_cny_per_h * 3600.0  # the car's alone
    for j, (mode_spec, allowed) in enumerate(road):
        if mode_spec is not None:
            road_time[:, j], c = road_cost(mode_spec, zone_km, routing)
            cost[:, pair_cost.shape[1] + j] = np.where(allowed, c + (parking if j == 0 else 0.0), np.inf)
    nests = np.concatenate([np.full(pair_cost.shape, RAIL, dtype=np.int64),
                            np.tile(np.asarray([CAR, BUS]), (len(uniq), 1))], axis=1)
    offered = np.isfinite(cost).any(axis=1)
    theta = spec.theta_per_min / 60.0
    pick = np.full(len(rows), -1, dtype=np.int64)
    ok = offered[unit]
    if ok.any():
        pick[ok] = logit_pick(cost[offered], u[ok], theta, np.cumsum(offered)[unit[ok]] - 1,
                              nests[offered], spec.rail_nest_scale)
    u_ways = (rng.random(len(rows)), rng.random(len(rows)))
    if spec.trip_making is not None and ok.any():
        travel = travel_probability(cost, nests, theta, spec.rail_nest_scale, spec.trip_making)
        pick[ok & (rng.random(len(rows)) >= travel[unit])] = NO_TRIP_PICK
    return _resolve(demand, rows, unit, pick, pair_cost.shape[1], pair_o, pair_d, reach, road_time, zones, u_ways)


NO_TRIP_PICK = -2
"""The pick of a commuter who does not travel (-1: no mode offered)."""


def travel_probability(cost: np.ndarray, nests: np.ndarray, theta_per_s: float, mu: float,
                       trip: TripMakingSpec) -> np.ndarray:
    """Per choice situation (row of `cost`, s), the probability of travelling: the binary logit of
    schema.TripMakingSpec on the composite cost of the nested mode choice (its logsum: each nest's
    logsum at scale theta / mu, then theirs at theta); 0 where nothing is offered."""
    by_nest = [logsum_cost(np.where(nests == n, cost, np.inf), theta_per_s / mu) for n in (RAIL, CAR, BUS)]
    composite = logsum_cost(np.column_stack(by_nest), theta_per_s)
    with np.errstate(over="ignore"):
        return np.where(np.isfinite(composite),
                        1.0 / (1.0 + np.exp(trip.theta_per_min * (composite / 60.0 - trip.threshold_min))), 0.0)


def _rail_pairs(reach: StationAccess, u_o: np.ndarray, u_d: np.ndarray, u_m: np.ndarray, u_band: np.ndarray,
                network: Network, legs: LegNetwork, access: Access, search: CandidateSearch,
                file: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rail cost (s) of every station pair of every choice situation [situation, pair], inf where
    there is no pair or no route, and the pairs' origin and destination columns (into the zones'
    reachable stations)."""
    k = reach.station.shape[1]
    pair_o = np.repeat(np.arange(k), k)  # pair p joins origin column p // k and destination column p % k
    pair_d = np.tile(np.arange(k), k)
    s_o = reach.station[u_o][:, pair_o]
    s_d = reach.station[u_d][:, pair_d]
    routable = routable_pairs(network)
    valid = (s_o >= 0) & (s_d >= 0) & routable[np.maximum(s_o, 0), np.maximum(s_d, 0)]
    n_st, n_m = len(network.stations), int(u_m.max()) + 1 if len(u_m) else 1
    # one probe per distinct (station pair, medium, band): its routes' logsum at the band's middle
    sit, col = np.nonzero(valid)
    probe_key = ((s_o[sit, col] * n_st + s_d[sit, col]) * n_m + u_m[sit]) * legs.n_bands + u_band[sit]
    probes, probe_of = np.unique(probe_key, return_inverse=True)
    p_band, p_rest = probes % legs.n_bands, probes // legs.n_bands
    p_m, p_od = p_rest % n_m, p_rest // n_m
    rail = np.zeros(0)
    if len(probes):
        t_probe = legs.t_start + (p_band + 0.5) * legs.band_s
        chooser = Chooser(network, legs, access, search, (p_od // n_st).astype(np.int32),
                          (p_od % n_st).astype(np.int32), p_m, access.media, t_probe,
                          np.random.default_rng(0), file)  # its uniform numbers are not used
        rail = chooser.composite_costs()
    cost = np.full(valid.shape, np.inf)
    cost[sit, col] = (reach.cost_s[u_o[sit], pair_o[col]] + rail[probe_of.ravel()]
                      + reach.cost_s[u_d[sit], pair_d[col]])
    return cost, pair_o, pair_d


def _resolve(demand: Demand, rows: np.ndarray, unit: np.ndarray, pick: np.ndarray, n_pairs: int,
             pair_o: np.ndarray, pair_d: np.ndarray, reach: StationAccess, road_time: np.ndarray,
             zones: Zones, u_ways: tuple[np.ndarray, np.ndarray]) -> ModeChoice:
    """The choice record, and the demand with the rail choosers at their stations and the others
    gone; the rail choosers' ways to and from the stations drawn with `u_ways`."""
    oz, dz = demand.origin_zone[rows], demand.destination_zone[rows]  # type: ignore[index]
    by_rail = (pick >= 0) & (pick < n_pairs)
    p = np.where(by_rail, pick, 0)
    col_o, col_d = pair_o[p], pair_d[p]
    mode = np.where(pick == NO_TRIP_PICK, NO_TRIP, np.where(pick < 0, -1, np.where(
        by_rail, RAIL, np.where(pick == n_pairs, CAR, BUS)))).astype(np.int8)
    road = np.where(mode == CAR, road_time[unit, 0], np.where(mode == BUS, road_time[unit, 1], np.nan))
    access_mode = np.full(len(rows), -1, dtype=np.int8)
    egress_mode = np.full(len(rows), -1, dtype=np.int8)
    access_s, egress_s = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
    r = np.flatnonzero(by_rail)
    access_mode[r], access_s[r] = reach.draw(oz[r], col_o[r], u_ways[0][r])
    egress_mode[r], egress_s[r] = reach.draw(dz[r], col_d[r], u_ways[1][r])
    origin = demand.origin.copy()
    destination = demand.destination.copy()
    t_depart = demand.t_depart.copy()
    origin[rows] = np.where(by_rail, reach.station[oz, col_o], -1)
    destination[rows] = np.where(by_rail, reach.station[dz, col_d], -1)
    t_depart[rows] = demand.t_depart[rows] + np.where(by_rail, access_s, 0.0)
    keep = origin >= 0  # station segments, and zone commuters by rail
    order = np.flatnonzero(keep)[np.argsort(t_depart[keep], kind="stable")]
    station_demand = Demand(origin[order], destination[order], t_depart[order], demand.segment[order],
                            demand.payment[order], demand.segment_names, demand.media)
    commuter = np.full(len(demand.t_depart), -1, dtype=np.int64)
    commuter[order] = np.arange(len(order))
    return ModeChoice(station_demand, zones, demand.segment[rows], oz, dz, demand.t_depart[rows], mode, road,
                      access_s, egress_s, access_mode, egress_mode, commuter[rows])
