"""Route choice: the generalised cost of candidate routes and a logit choice for every commuter.

Generalised cost, in seconds of in-vehicle time: in-vehicle time + wait_weight * waits +
walk_weight * (walks + mean service at facilities) + transfer_penalty per change + fare / value of
time. Waits are taken at the time the commuter is expected to reach each leg: the expected time of
the previous legs (walks, waits, rides) is added to the start time, leg by leg.

With information `expected` (today), a leg's wait is the random-incidence mean over the departures
of the WAIT_BIN_S bin in which the commuter reaches it, and commuters in the same start bin, OD
pair and medium share one cost per candidate. With `real_time` (information interconnection),
each commuter knows the actual departures: a leg's wait runs to the next train, whose actual run
time is then used. Legs of operators outside `real_time_operators` keep their expected wait.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numba
import numpy as np

from .arrays import unique_inverse
from .crowding import CrowdingField
from .errors import Problem, UserError
from .fares import FareSystem, leg_fares
from .network import Network
from .routing import WAIT_BIN_S, Access, CandidateSearch, LegNetwork, Route, RoutePool, candidate_sets, leg_matrix
from .schema import RoutingSpec


@dataclass(frozen=True)
class Assignment:
    """The chosen route of every commuter, as an index into `routes`."""

    routes: tuple[Route, ...]
    route_of: np.ndarray  # int32 per commuter


class RouteCosts:
    """Costs of routes for each medium (columns in `access.media` order), priced with `spec` on the
    legs, walks and fares."""

    def __init__(self, legs: LegNetwork, access: Access, fares: FareSystem, spec: RoutingSpec,
                 routes: list[Route] | tuple[Route, ...]) -> None:
        n_media = len(access.media)
        self.legs, self.spec = legs, spec
        self.route_legs = matrix = leg_matrix(routes)
        """Leg indices of each route [route, position], -1 padded."""
        n, width = matrix.shape
        valid = matrix >= 0
        self.valid = valid
        self.n_legs = valid.sum(axis=1)
        rows = np.arange(n)
        first = legs.board[matrix[:, 0]]
        last = legs.alight[matrix[rows, self.n_legs - 1]]
        starts = np.asarray([r.start for r in routes], dtype=np.int64)
        ends = np.asarray([r.end for r in routes], dtype=np.int64)
        street_in = np.asarray([access.street_walk.get((a, b), 0.0) for a, b in zip(starts, first)]) if n else np.zeros(0)
        street_out = np.asarray([access.street_walk.get((a, b), 0.0) for a, b in zip(last, ends)]) if n else np.zeros(0)
        # walk (with mean service) before each leg's platform, per medium: entry or change
        self.walk_before = np.zeros((n, width, n_media))
        self.walk_before[:, 0] = street_in[:, None] + access.entry_walk[first]
        for j in range(width - 1):
            has = valid[:, j + 1]
            a = legs.alight[np.where(has, matrix[:, j], 0)]
            b = legs.board[np.where(has, matrix[:, j + 1], 0)]
            same = has & (a == b)
            self.walk_before[same, j + 1] = access.transfer_walk[a[same]][:, None]
            walks = np.flatnonzero(has & (a != b))
            pairs, pair_of = np.unique(np.stack([a[walks], b[walks]], axis=1), axis=0, return_inverse=True)
            if len(pairs):  # each interchange's walks priced once
                self.walk_before[walks, j + 1] = np.asarray([access.change_walk(int(x), int(y)) for x, y in pairs])[
                    pair_of.ravel()]
        walk = self.walk_before.sum(axis=1) + (access.exit_walk[last] + street_out)[:, None]
        self.walk = walk
        """Walks and mean service times of each route [route, medium] (s)."""
        self.leg_ivt = np.where(valid, legs.ivt_s[matrix], 0.0)
        self.ivt = self.leg_ivt.sum(axis=1)
        # every route once per class of media with the same fares: route i in class c is row i * n_classes + c
        fare_class = fares.fare_classes()
        n_classes = int(fare_class.max()) + 1
        priced_as = np.asarray([int(np.flatnonzero(fare_class == c)[0]) for c in range(n_classes)])
        per_leg = leg_fares(legs, fares, np.repeat(matrix, n_classes, axis=0), np.tile(priced_as, n))
        fare = per_leg.sum(axis=1).reshape(n, n_classes)[:, fare_class]
        self.base = (self.ivt[:, None] + spec.walk_weight * walk + spec.transfer_penalty_s * (self.n_legs - 1)[:, None]
                     + fare / spec.value_of_time_cny_per_h * 3600.0)
        """Cost without waiting [route, medium]; inf where a change has no path open to the medium."""

    def extended(self, access: Access, fares: FareSystem, routes: list[Route] | tuple[Route, ...]) -> RouteCosts:
        """These costs followed by those of the routes after this one's in `routes` (whose first
        ones must be this one's routes)."""
        n = len(self.ivt)
        if len(routes) == n:
            return self
        more = RouteCosts(self.legs, access, fares, self.spec, routes[n:])
        width = max(self.route_legs.shape[1], more.route_legs.shape[1])
        out = copy.copy(self)
        for name in ("route_legs", "valid", "leg_ivt", "walk_before"):
            a, b = getattr(self, name), getattr(more, name)
            fill = -1 if name == "route_legs" else 0
            setattr(out, name, np.concatenate([_widened(a, width, fill), _widened(b, width, fill)]))
        for name in ("n_legs", "walk", "ivt", "base"):
            setattr(out, name, np.concatenate([getattr(self, name), getattr(more, name)]))
        return out

    def expected_wait_cost(self, rows: np.ndarray, medium: np.ndarray, t: np.ndarray,
                           crowd: CrowdingField | None = None) -> np.ndarray:
        """wait_weight * expected waits of routes `rows` for commuters of `medium` starting at
        clock times t, each leg's wait taken in the bin in which it is expected to be reached;
        with `crowd`, plus its extra wait and its in-vehicle time times (multiplier - 1)."""
        return self._costs(np.asarray(rows, dtype=np.int64)[:, None], medium, t, crowd, False)[:, 0]

    def expected_costs(self, options: np.ndarray, medium: np.ndarray, t: np.ndarray,
                       crowd: CrowdingField | None = None) -> np.ndarray:
        """Cost (s) of each option of each row (route indices, -1 padded; inf there) for a commuter of
        the row's `medium` starting at the row's clock time t: `base` plus expected_wait_cost."""
        return self._costs(options, medium, t, crowd, True)

    def _costs(self, options: np.ndarray, medium: np.ndarray, t: np.ndarray, crowd: CrowdingField | None,
               with_base: bool) -> np.ndarray:
        legs = self.legs
        extra, factor = (crowd.extra_wait, crowd.ivt_factor) if crowd is not None else (_NO_FIELD, _NO_FIELD)
        return _option_wait_costs(options, np.asarray(medium, dtype=np.int64), np.asarray(t, dtype=np.float64),
                                  self.route_legs, self.leg_ivt, self.walk_before, legs.wait_bins, float(legs.t_start),
                                  WAIT_BIN_S, float(self.spec.wait_weight), extra, factor, crowd is not None,
                                  self.base, with_base)

    def expected_travel_time(self, rows: np.ndarray, medium: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Expected travel time (s) of routes `rows` for commuters of `medium` starting at t, with no
        queue or full train: walks and mean services, expected waits, rides."""
        waits = self.expected_wait_cost(rows, medium, t) / self.spec.wait_weight
        return self.ivt[rows] + self.walk[rows, medium] + waits

    def real_time_cost(self, rows: np.ndarray, medium: np.ndarray, t: np.ndarray, informed: np.ndarray,
                       crowd: CrowdingField | None = None) -> np.ndarray:
        """Full cost of routes `rows` for commuters of `medium` starting at t who know the actual
        departures of legs on the `informed` operators (bool per operator index): waits to the
        next train and that train's run time; other legs at their expected wait and mean run time.
        With `crowd`, plus each leg's extra wait, and rides weighted by its multiplier."""
        legs = self.legs
        waits = np.zeros(len(rows))
        ivt = np.zeros(len(rows))
        tau = t + self.walk_before[rows, 0, medium]
        for j in range(self.route_legs.shape[1]):
            has = self.valid[rows, j]
            leg = np.where(has, self.route_legs[rows, j], 0)
            dep, arr = legs.next_train(leg, tau)
            known = informed[legs.operator[leg]]
            w = np.where(known, dep - tau, legs.expected_wait(leg, tau))
            ride = np.where(known, arr - dep, legs.ivt_s[leg])
            felt_wait, felt_ride = w, ride
            if crowd is not None:
                b = legs.wait_bin(tau)
                felt_wait = w + crowd.extra_wait[leg, b]
                felt_ride = ride * crowd.ivt_factor[leg, b]
            waits += np.where(has, felt_wait, 0.0)
            ivt += np.where(has, felt_ride, 0.0)
            if j + 1 < self.route_legs.shape[1]:
                tau = np.where(has, tau + w + ride, tau) + self.walk_before[rows, j + 1, medium]
        return (self.base[rows, medium] - self.ivt[rows] + ivt) + self.spec.wait_weight * waits


_FLOAT_MAX = float(np.finfo(np.float64).max)
_NO_FIELD = np.zeros((0, 0))
"""The crowding field's arrays when there is none."""


@numba.njit("f8[:, :](i8[:, :], i8[:], f8[:], i8[:, :], f8[:, :], f8[:, :, :], f8[:, :], f8, f8, f8, f8[:, :], f8[:, :], "
            "b1, f8[:, :], b1)", cache=True, nogil=True)
def _option_wait_costs(options, medium, t, route_legs, leg_ivt, walk_before, wait_bins, t_start, bin_s, wait_weight,
                       extra_wait, ivt_factor, crowded, base, with_base):  # pragma: no cover - compiled
    """RouteCosts.expected_wait_cost of each option (route, -1: none, inf) of each row, for the row's
    medium and start time t (s); plus the route's base cost when `with_base`. One pass per option
    where numpy would index every leg position of every option (a loop of at most four legs)."""
    n, k = options.shape
    width = route_legs.shape[1]
    last_bin = wait_bins.shape[1] - 1
    out = np.full((n, k), np.inf)
    for g in range(n):
        m = medium[g]
        for j in range(k):
            r = options[g, j]
            if r < 0:
                continue
            tau = t[g] + walk_before[r, 0, m]
            total = 0.0
            crowding = 0.0
            for p in range(width):
                leg = route_legs[r, p]
                if leg < 0:
                    break
                # LegNetwork.wait_bin: NaN counts as 0 and inf as 1e12, clipped to the tabulated bins
                x = 0.0 if np.isnan(tau) else (1e12 if tau == np.inf else max(tau, -_FLOAT_MAX))
                q = (x - t_start) // bin_s
                b = 0 if q < 0 else (last_bin if q > last_bin else int(q))
                w = wait_bins[leg, b]
                if crowded:
                    w = w + extra_wait[leg, b]
                    crowding += leg_ivt[r, p] * (ivt_factor[leg, b] - 1.0)
                total += w
                if p + 1 < width:
                    tau = tau + w + leg_ivt[r, p] + walk_before[r, p + 1, m]
            cost = wait_weight * total + crowding
            out[g, j] = base[r, m] + cost if with_base else cost
    return out


def _widened(a: np.ndarray, width: int, fill) -> np.ndarray:
    """`a` padded with `fill` along its second axis to `width`."""
    pad = [(0, 0), (0, width - a.shape[1])] + [(0, 0)] * (a.ndim - 2)
    return np.pad(a, pad, constant_values=fill)


def logit_probabilities(costs: np.ndarray, theta_per_s: float, nests: np.ndarray | None = None,
                        mu: float = 1.0) -> np.ndarray:
    """Choice probabilities of the columns of each row of `costs` (s; inf: not available): the
    multinomial logit with scale theta, or, given `nests` (a nest code per cell) and mu < 1, the
    nested logit whose nests have scale mu: P(j) = P(j | n) P(n) with P(j | n) = e_j / S_n and
    P(n) = S_n^mu / sum_m S_m^mu, where e_j = exp(-theta c_j / mu) and S_n the sum of e_j over the
    nest; hence P(j) proportional to e_j S_n^(mu - 1). A row with nothing available has
    probabilities 0."""
    finite = np.isfinite(costs)
    best = np.where(finite, costs, np.inf).min(axis=1, keepdims=True)
    nested = nests is not None and mu < 1.0
    scale = theta_per_s / (mu if nested else 1.0)
    with np.errstate(invalid="ignore"):
        e = np.where(finite, np.exp(-scale * (costs - best)), 0.0)
    if nested:
        assert nests is not None
        # S_n of each cell's nest: the sum over the row's cells of the same nest (rows have few columns)
        same = nests[:, :, None] == nests[:, None, :]
        s_n = (same * e[:, None, :]).sum(axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            e = np.where(e > 0, e * s_n ** (mu - 1.0), 0.0)
    total = e.sum(axis=1, keepdims=True)
    return e / np.where(total > 0, total, 1.0)


def logsum_cost(costs: np.ndarray, theta_per_s: float) -> np.ndarray:
    """The expected least cost of each row of `costs` (s; inf: not available) under the logit with
    scale theta: -ln(sum_j exp(-theta c_j)) / theta; the least cost when theta is 0; inf for a row
    with nothing available."""
    best = np.min(costs, axis=1) if costs.shape[1] else np.full(len(costs), np.inf)
    if theta_per_s <= 0:
        return best
    finite = np.isfinite(best)
    out = np.full(len(costs), np.inf)
    with np.errstate(invalid="ignore"):
        gap = np.where(np.isfinite(costs), costs - best[:, None], np.inf)[finite]
    out[finite] = best[finite] - np.log(np.exp(-theta_per_s * gap).sum(axis=1)) / theta_per_s
    return out


def logit_pick(costs: np.ndarray, u: np.ndarray, theta_per_s: float, rows: np.ndarray | None = None,
               nests: np.ndarray | None = None, mu: float = 1.0) -> np.ndarray:
    """Column picked for each uniform number u in its row of `costs` (inf: not available) by the
    logit of logit_probabilities (inverse of the cumulative probabilities). `rows`: the row of each
    u (default: row i for u[i]); many may share a row, whose probabilities are computed once."""
    finite = np.isfinite(costs)
    cum = np.cumsum(logit_probabilities(costs, theta_per_s, nests, mu), axis=1)
    last_feasible = costs.shape[1] - 1 - np.argmax(finite[:, ::-1], axis=1)
    if rows is None:
        return np.minimum((cum <= u[:, None]).sum(axis=1), last_feasible)
    return draw_columns(cum, last_feasible.astype(np.int64), np.asarray(rows, dtype=np.int64),
                        np.asarray(u, dtype=np.float64))


@numba.njit("i8[:](f8[:, :], i8[:], i8[:], f8[:])", cache=True, nogil=True)
def draw_columns(cum: np.ndarray, last_feasible: np.ndarray, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per u[i], drawn in row rows[i] of the cumulative probabilities `cum`: the number of the row's
    columns at or below u[i], at most the row's last feasible column (-1: none, the last column then)."""
    # compiled: commuters (millions in a city's day) share far fewer rows; as array operations each
    # commuter's row of `cum` is copied out and compared, a matrix as large as the commuters times
    # the columns
    out = np.empty(len(rows), dtype=np.int64)
    for i in range(len(rows)):
        r = rows[i]
        if last_feasible[r] < 0:
            out[i] = cum.shape[1] - 1
            continue
        n = 0
        for j in range(cum.shape[1]):
            if cum[r, j] <= u[i]:
                n += 1
        out[i] = min(n, last_feasible[r])
    return out


class Chooser:
    """Route choice for a fixed population: candidates and costs prepared once, a choice made for
    any crowding field (see assign_routes). The candidates come from `search` (which keeps them for
    later demand), priced with its routing parameters."""

    def __init__(self, network: Network, legs: LegNetwork, access: Access, search: CandidateSearch,
                 origin: np.ndarray, destination: np.ndarray, medium: np.ndarray, media: tuple[str, ...],
                 t_depart: np.ndarray, rng: np.random.Generator, file: str = "", previous: Chooser | None = None) -> None:
        """`previous`: a chooser on the same search whose routes and their costs are kept (and
        extended), not priced again."""
        assert tuple(media) == access.media, "medium codes follow the access media"
        self.net, self.legs, self.media, self.spec, self.file = network, legs, access.media, search.spec, file
        self.origin, self.destination, self.t_depart = origin, destination, t_depart
        self.medium = medium.astype(np.int64)
        self.u = rng.random(len(origin))
        n_st = len(network.stations)
        band = legs.band_of(t_depart)
        odb = (origin.astype(np.int64) * n_st + destination) * legs.n_bands + band
        self.uniq_odb, self.odb_inv = unique_inverse(odb)
        self.pool: RoutePool = previous.pool if previous is not None else RoutePool(search)
        routes, cand = candidate_sets(search, self.uniq_odb // legs.n_bands, self.uniq_odb % legs.n_bands, file,
                                      self.pool)
        self.routes = tuple(routes)
        fares = FareSystem(network, access.media)
        self.costs: RouteCosts = (previous.costs.extended(access, fares, routes) if previous is not None
                                  else RouteCosts(legs, access, fares, search.spec, routes))
        self.cand_mat = cand
        self.theta = search.spec.logit_scale_per_min / 60.0
        self.mu = search.spec.mode_nest_scale
        self.route_nest = route_modes(network, legs, self.routes) if self.mu < 1.0 else None

    def choose(self, crowd: CrowdingField | None = None) -> Assignment:
        """Every commuter's route, by logit on the costs at its medium and start time (with the
        crowding field, when given). The same uniform number per commuter in every call."""
        legs, costs, medium, t_depart = self.legs, self.costs, self.medium, self.t_depart
        n_st = len(self.net.stations)
        if self.spec.information == "real_time":
            names = self.spec.real_time_operators
            informed = np.asarray([names is None or op.id in names for op in self.net.operators])
            options = self.cand_mat[self.odb_inv]
            cost = _option_costs(options, lambda rows, c: costs.real_time_cost(
                rows, medium[c], t_depart[c], informed, crowd))
            _check_feasible(cost, self.origin, self.destination, medium, self.media, self.net, self.file)
            pick = logit_pick(cost, self.u, self.theta, nests=self._nests(options), mu=self.mu)
            return Assignment(self.routes, options[np.arange(len(self.u)), pick].astype(np.int32))
        options, cost, key_inv, g_odb, g_m = self._expected_costs(crowd)
        g_od = self.uniq_odb[g_odb] // legs.n_bands
        _check_feasible(cost, g_od // n_st, g_od % n_st, g_m, self.media, self.net, self.file)
        pick = logit_pick(cost, self.u, self.theta, key_inv, self._nests(options), self.mu)
        return Assignment(self.routes, options[key_inv, pick].astype(np.int32))

    def composite_costs(self) -> np.ndarray:
        """Per commuter, the expected generalised cost (s) of travelling between its stations: the
        logsum of its candidates' costs with expected waits at its start time, -ln(sum exp(-theta
        c)) / theta (the least cost with theta 0); inf where no candidate is open to its medium."""
        _, cost, key_inv, _, _ = self._expected_costs(None)
        return logsum_cost(cost, self.theta)[key_inv]

    def cheapest_routes(self) -> np.ndarray:
        """Per commuter, the candidate (route index) of least generalised cost with expected waits
        at its start time and medium (the first candidate where none is open to the medium)."""
        options, cost, key_inv, _, _ = self._expected_costs(None)
        return options[np.arange(len(options)), np.argmin(cost, axis=1)][key_inv]

    def _expected_costs(self, crowd: CrowdingField | None):
        """With expected waits, one cost row per distinct (OD pair and band, medium, start bin):
        the rows' candidates (route indices, -1 padded), their costs (s; inf: none or not open to
        the medium), each commuter's row, and each row's OD-and-band and medium index."""
        legs, costs, medium = self.legs, self.costs, self.medium
        start_bin = ((self.t_depart - legs.t_start) // WAIT_BIN_S).astype(np.int64)
        n_media, n_bins = len(self.media), int(start_bin.max()) + 1 if len(start_bin) else 1
        key = (self.odb_inv * n_media + medium) * n_bins + start_bin
        uniq_key, key_inv = unique_inverse(key)
        g_odb, g_m, g_bin = uniq_key // (n_media * n_bins), (uniq_key // n_bins) % n_media, uniq_key % n_bins
        g_t = legs.t_start + (g_bin + 0.5) * WAIT_BIN_S
        options = self.cand_mat[g_odb]
        return options, costs.expected_costs(options, g_m, g_t, crowd), key_inv, g_odb, g_m

    def _nests(self, options: np.ndarray) -> np.ndarray | None:
        """The mode nest of each candidate of `options` (route indices, -1 padded; -1 where none), or
        None for the multinomial logit."""
        if self.route_nest is None:
            return None
        return np.where(options >= 0, self.route_nest[np.maximum(options, 0)], -1)


def route_modes(network: Network, legs: LegNetwork, routes: tuple[Route, ...]) -> np.ndarray:
    """Per route: a code of the set of modes of the lines whose track its legs ride (bit m set for
    the m-th of the network's modes in alphabetical order), as trips `modes` names them."""
    _, bit = network.mode_bits()
    leg_bits = bit[legs.line] if len(legs.options) else np.zeros(0, dtype=np.int64)
    piece_leg = np.repeat(np.arange(len(legs.options)), legs.n_pieces)
    np.bitwise_or.at(leg_bits, piece_leg, bit[legs.piece_line])  # a through leg: every line it rides
    out = np.zeros(len(routes), dtype=np.int64)
    for r, route in enumerate(routes):
        for k in route.legs:
            out[r] |= leg_bits[k]
    return out


def assign_routes(network: Network, legs: LegNetwork, access: Access, search: CandidateSearch, origin: np.ndarray,
                  destination: np.ndarray, medium: np.ndarray, media: tuple[str, ...], t_depart: np.ndarray,
                  rng: np.random.Generator, file: str = "") -> Assignment:
    """Pick a route for every commuter: logit over the candidates of its OD pair and start band,
    at its medium and start time (see the module docstring).

    One uniform number is drawn per commuter (in commuter order), used or not, so that the draws do
    not depend on how many candidates each OD pair has. `media` must be `access.media`.
    """
    return Chooser(network, legs, access, search, origin, destination, medium, media, t_depart, rng, file).choose()


def _option_costs(options: np.ndarray, cost_of) -> np.ndarray:
    """Cost of every option (route index, -1 for none) of every row: cost_of(route rows, row
    numbers) evaluated on the options present; inf elsewhere."""
    out = np.full(options.shape, np.inf)
    present = options >= 0
    row, col = np.nonzero(present)
    if len(row):
        out[row, col] = cost_of(options[row, col], row)
    return out


def _check_feasible(cost: np.ndarray, origin: np.ndarray, destination: np.ndarray,
                    medium: np.ndarray, media: tuple[str, ...], network: Network, file: str) -> None:
    """UserError for rows where no candidate is open to the medium (a change without a path)."""
    bad = np.flatnonzero(~np.isfinite(cost).any(axis=1))
    problems = []
    for g in bad[:20]:
        o, d = network.stations[int(origin[g])].id, network.stations[int(destination[g])].id
        problems.append(Problem(file, "demand", f"no transfer path open to medium '{media[int(medium[g])]}' on any "
                                                f"route from '{o}' to '{d}'"))
    if problems:
        raise UserError(problems)
