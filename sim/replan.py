"""Choices on the way: the decision hook through which the engines ask for a new choice.

A commuter standing on a platform re-chooses when no train still to come can carry them on their
planned leg (`stranded`) or after a full train left them behind (`denied`); see
schema.DecisionsSpec. The options are the rest of the planned route (not when stranded), the
candidate routes from the station where they stand (boarding there or at a station its interchanges
reach) and the outside option (schema.OutsideOptionSpec), each priced by the generalised cost of
route choice at the time of the decision: wait_weight * waits to the next train on the departure
board (sim.departures) + rides + walk_weight * walks (with mean service) + transfer_penalty per
boarding after the first (and for a first boarding on another platform) + fare / value of time. The
fare is that of the rest of the trip alone. One option is drawn by the logit of route choice with a
uniform number fixed by (seed, replication, commuter, decision number), so that both engines, taking
decisions in whatever batches, draw the same.

`Choice` says what was chosen: the rest of the plan (`keep`), other legs (`legs`, with the steps
to get there from the platform), or leaving the network (`legs` empty, steps out of the station).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import rng as rngmod
from .departures import Departures
from .errors import UserError
from .fares import FareSystem, leg_fares
from .network import Network
from .plan import Step, StepCompiler
from .routing import Access, CandidateSearch, LegNetwork, candidate_sets
from .schema import OutsideOptionSpec, RoutingSpec

STRANDED = "stranded"
DENIED = "denied"
PUT_OFF = "put_off"
"""Put off a train whose run was cut short, with trains still to come for the leg."""


@dataclass(frozen=True)
class Choice:
    keep: bool
    """The rest of the planned route: nothing changes."""
    legs: tuple[int, ...] = ()
    """The legs chosen from here (leg options); empty when leaving the network."""
    steps: tuple[Step, ...] = ()
    """Steps from the platform: to and along the legs and out, or out of the station."""
    option: str = ""
    """What was chosen: 'wait', 'reroute' or 'leave'."""


KEEP = Choice(True, option="wait")


class Replanner:
    """The decision hook: a pure function of (commuter, place, time, reason, decision number)
    given the network, its departure board and the routing parameters."""

    def __init__(self, network: Network, legs: LegNetwork, access: Access, search: CandidateSearch,
                 departures: Departures, compiler: StepCompiler, spec: RoutingSpec, destination: np.ndarray,
                 payment: np.ndarray, seed: int, replication: int) -> None:
        self.net, self.legs, self.access, self.search, self.board = network, legs, access, search, departures
        self.compiler, self.spec = compiler, spec
        self.destination, self.payment = destination, payment
        self.fares = FareSystem(network, access.media)
        self.theta = spec.logit_scale_per_min / 60.0
        self.key = rngmod.stream_key(seed, replication, "decisions")
        self.km = network.station_km_matrix()
        self._candidates: dict[tuple[int, int, int], list[tuple[int, ...]]] = {}
        self._steps: dict[tuple | int, tuple[Step, ...]] = {}

    def uniform(self, commuters: np.ndarray, n: np.ndarray) -> np.ndarray:
        """The uniform number of each commuter's n-th decision."""
        return rngmod.keyed_uniforms(self.key, commuters, n)

    def decide(self, reason: str, commuters: np.ndarray, station: np.ndarray, platform: np.ndarray,
               t: np.ndarray, planned: list[tuple[int, ...]], n: np.ndarray) -> list[Choice]:
        """A choice per commuter standing on `platform` of `station` at time t (s), whose planned
        legs from here are `planned` (the leg waited for first), deciding for the n-th time."""
        u = self.uniform(commuters, n)
        out: list[Choice] = []
        memo: dict[tuple, tuple[list[tuple[int, ...]], np.ndarray]] = {}
        for i, c in enumerate(commuters.tolist()):
            key = (int(station[i]), int(platform[i]), int(self.destination[c]), int(self.payment[c]),
                   planned[i], float(t[i]))
            if key not in memo:
                memo[key] = self._options(reason, *key)
            options, cost = memo[key]
            pick = _logit_pick(cost, float(u[i]), self.theta)
            out.append(self._choice(options[pick], planned[i], key))
        return out

    def _choice(self, legs: tuple[int, ...] | None, planned: tuple[int, ...], key: tuple) -> Choice:
        station, platform, dest, medium = key[:4]
        if legs is None:
            return self.leave_choice(station)
        if legs == planned:
            return KEEP
        name = self.access.media[medium]
        memo_key = (station, platform, legs, dest, name)
        if memo_key not in self._steps:
            self._steps[memo_key] = tuple(self.compiler.continuation(station, platform, legs, dest, name))
        return Choice(False, legs, self._steps[memo_key], "reroute")

    def leave_choice(self, station: int) -> Choice:
        """Leaving the rail network through the exit of `station`."""
        if station not in self._steps:
            self._steps[station] = tuple(self.compiler.leave(station))
        return Choice(False, (), self._steps[station], "leave")

    def _options(self, reason: str, station: int, platform: int, dest: int, medium: int, planned: tuple[int, ...],
                 t: float) -> tuple[list, np.ndarray]:
        """The options (leg tuples; None for leaving) and their generalised costs (s, inf when no
        train can carry the commuter on them)."""
        options: list[tuple[int, ...] | None] = [] if reason == STRANDED else [planned]
        for legs in self._from_here(station, dest, t):
            if legs not in options:
                options.append(legs)
        rail = [legs for legs in options if legs is not None]
        cost = [self._rail_cost(legs, station, platform, dest, medium, t, strictly=reason == DENIED)
                for legs in rail]
        options.append(None)
        cost.append(self._outside_cost(station, dest))
        return options, np.asarray(cost)

    def _from_here(self, station: int, dest: int, t: float) -> list[tuple[int, ...]]:
        """Legs of the candidate routes from `station` to `dest` that board at the station or at one
        its interchanges reach from inside (no walk in the street)."""
        band = int(self.legs.band_of(np.asarray([t]))[0])
        key = (station, dest, band)
        if key not in self._candidates:
            n_st = len(self.net.stations)
            try:
                routes, cand = candidate_sets(self.search, np.asarray([station * n_st + dest]), np.asarray([band]))
                found = [routes[i] for i in cand[0]]
            except UserError:  # no route from here at all
                found = []
            options = self.legs.options
            self._candidates[key] = [
                r.legs for r in found
                if options[r.legs[0]].board == station or (station, options[r.legs[0]].board) in self.net.transfers]
        return self._candidates[key]

    def _rail_cost(self, legs: tuple[int, ...], station: int, platform: int, dest: int, medium: int, t: float,
                   strictly: bool) -> float:
        """Generalised cost (s) of riding `legs` to `dest` from `platform` at time t, waits to the
        next trains on the board (after t for the first leg when `strictly`: a full train has just
        left)."""
        spec, access, opts = self.spec, self.access, self.legs.options
        first = opts[legs[0]]
        walks, waits, rides, boardings = 0.0, 0.0, 0.0, len(legs) - 1
        if first.platform != platform:
            boardings += 1
            walks += access.transfer_walk[station] if first.board == station else access.change_walk(station, first.board)[medium]
        tau = t + walks
        for pos, k in enumerate(legs):
            leg = opts[k]
            if pos:
                prev = opts[legs[pos - 1]]
                w = access.transfer_walk[leg.board] if prev.alight == leg.board else access.change_walk(prev.alight, leg.board)[medium]
                walks += w
                tau += w
            key = self.board.key_index(np.asarray([leg.platform]), np.asarray([leg.alight]))
            dep, arr = self.board.next_after(key, np.asarray([tau]), strictly=strictly and pos == 0 and first.platform == platform)
            if not np.isfinite(dep[0]) or not np.isfinite(arr[0]):
                return np.inf
            waits += dep[0] - tau
            rides += arr[0] - dep[0]
            tau = arr[0]
        last = opts[legs[-1]].alight
        walks += access.exit_walk[last] + access.street_walk.get((last, dest), 0.0)
        matrix = np.asarray([legs], dtype=np.int64)
        fare = float(leg_fares(self.legs, self.fares, matrix, np.asarray([medium])).sum())
        return (spec.wait_weight * waits + rides + spec.walk_weight * walks + spec.transfer_penalty_s * boardings
                + fare / spec.value_of_time_cny_per_h * 3600.0)

    def _outside_cost(self, station: int, dest: int) -> float:
        """Generalised cost (s) of leaving here by the outside option (inf without one)."""
        o = self.spec.outside_option
        if o is None:
            return np.inf
        time_s, fare = outside_trip(o, float(self.km[station, dest]))
        spec = self.spec
        return (spec.wait_weight * o.wait_s + time_s + spec.walk_weight * self.access.exit_walk[station]
                + fare / spec.value_of_time_cny_per_h * 3600.0)


def outside_trip(option: OutsideOptionSpec, straight_km: float) -> tuple[float, float]:
    """Ride time (s, without the wait) and fare (CNY) of the outside option over `straight_km`."""
    km = straight_km * option.detour_factor
    return km / option.speed_kmh * 3600.0, option.fare_base_cny + max(0.0, km - option.base_km) * option.fare_per_km_cny


def _logit_pick(cost: np.ndarray, u: float, theta_per_s: float) -> int:
    """Index drawn by multinomial logit on `cost` (inf: not available) with the uniform u; the last
    option (leaving) when none is available."""
    finite = np.isfinite(cost)
    if not finite.any():
        return len(cost) - 1
    best = cost[finite].min()
    p = np.where(finite, np.exp(-theta_per_s * (np.where(finite, cost, best) - best)), 0.0)
    cum = np.cumsum(p / p.sum())
    pick = int((cum <= u).sum())
    return min(pick, int(np.flatnonzero(finite)[-1]))
