"""The candidate search on the whole Shanghai Metro against a plain enumeration: every sequence of
legs the search rules allow within the cost band, found by recursion leg by leg (pruned only by the
cost so far). The search finds the same routes in the band at the same costs to the last bit, and
its candidates are the first max_routes of them, cheapest first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.routing import Access, CandidateSearch, LegNetwork
from sim.scenario import load_network
from sim.schema import RoutingSpec

NETWORK = Path(__file__).resolve().parents[2] / "networks" / "shanghai_metro.yaml"


@pytest.fixture(scope="module")
def search():
    net, _ = load_network(NETWORK)
    legs = LegNetwork(net, 6 * 3600.0, 24 * 3600.0)
    # the most candidates a pair may keep: the comparison reaches far into the band
    return CandidateSearch(net, legs, Access(net), RoutingSpec(max_routes=20))


def may_follow(legs: LegNetwork, prev: int, k: int) -> bool:
    """The search's rule for a leg after another, leg by leg (see sim.routing.bounded)."""
    same_line = legs.line[prev] == legs.line[k] and not legs.through[k]
    same_dir = legs.up[prev] == legs.up[k]
    retrace = legs.alight[prev] == legs.board[k] and legs.last_hop[prev] == legs.first_hop[k]
    covered = bool(legs.direct(np.asarray([legs.platform[prev]]), np.asarray([legs.alight[k]]))[0])
    return not same_line or (not same_dir and not retrace) or (same_dir and not covered)


def enumerate_routes(search: CandidateSearch, origin: int, dest: int, h_b: np.ndarray, regime: int, widen: bool):
    """Every allowed leg sequence from origin to dest within the band: [(cost, legs)]."""
    spec, legs, cost_of = search.spec, search.legs, search.search_costs[regime]
    max_legs = spec.max_transfers + 1
    near = {dest: 0.0, **{a: spec.walk_weight * w for (a, b), w in search.street_walk.items() if b == dest}}
    tp = search.transfer_points
    changes: dict[int, list[tuple[int, float]]] = {}
    for a, b, c in zip(search.tr_from.tolist(), search.tr_to.tolist(), search.tr_cost.tolist()):
        changes.setdefault(a, []).append((b, c))
    boarding: dict[int, list[int]] = {}
    for k, s in enumerate(legs.board.tolist()):
        boarding.setdefault(s, []).append(k)
    starts = [(origin, 0.0)] + [(b, spec.walk_weight * w) for (a, b), w in search.street_walk.items() if a == origin]
    best = min(g + h_b[s] for s, g in starts)
    bound = np.inf if widen else best * (1 + spec.cost_band_rel) + spec.cost_band_abs_s + 1e-6
    found: list[tuple[float, tuple[int, ...]]] = []

    def walk(station: int, g: float, chosen: tuple[int, ...], visited: tuple[int, ...]) -> None:
        for k in boarding.get(station, []):
            a = int(legs.alight[k])
            if chosen and not may_follow(legs, chosen[-1], k):
                continue
            if a in near and g + cost_of[k] + near[a] <= bound:
                found.append((g + cost_of[k] + near[a], (*chosen, k)))
            g2 = g + cost_of[k]
            if len(chosen) + 1 >= max_legs or a not in tp or a == dest or a in visited or g2 > bound:
                continue
            for b, c in changes.get(a, []):
                if g2 + c <= bound and (b == a or b not in visited):
                    walk(b, g2 + c, (*chosen, k), (*visited, a, b))

    for s, g in starts:
        walk(s, g, (), (origin, s))
    if widen and found:
        cheapest = min(c for c, _ in found)
        found = [(c, r) for c, r in found if c <= cheapest * (1 + spec.cost_band_rel) + spec.cost_band_abs_s + 1e-6]
    return found


def ranked(found, max_legs: int, max_routes: int):
    """Cheapest first (ties: by legs, padded with -1), a repeat of the route just before dropped."""
    rows = sorted((c, r + (-1,) * (max_legs - len(r))) for c, r in found)
    out: list[tuple[float, tuple[int, ...]]] = []
    for i, (c, r) in enumerate(rows):
        if i == 0 or r != rows[i - 1][1]:
            out.append((c, tuple(k for k in r if k >= 0)))
    return out[:max_routes]


@pytest.mark.parametrize("regime, widen, n_pairs", [(0, False, 6), (3, False, 4), pytest.param(0, True, 1, marks=pytest.mark.slow)])
def test_candidates_are_the_cheapest_allowed_routes_within_the_band(search, regime, widen, n_pairs):
    """Random pairs, and pairs from and to stations with walks in the street to others (the
    enumeration takes about a second a pair; without a band, more)."""
    n = len(search.net.stations)
    rng = np.random.default_rng(7 + regime)
    walks = sorted(search.street_walk)
    pairs = [(int(o), int(d)) for o, d in rng.integers(0, n, size=(n_pairs, 2)) if o != d]
    pairs += [(a, int(rng.integers(n))) for a, _ in walks[:1]]
    pairs += [(int(rng.integers(n)), b) for _, b in walks[-1:]]
    pairs = [(o, d) for o, d in pairs if o != d]
    spec = search.spec
    for o, d in pairs:
        h_a, h_b = search.lower_bounds(np.asarray([d]), regime)
        everything = enumerate_routes(search, o, d, h_b[0], regime, widen)
        _, cost, legs = search.within_band(d, np.asarray([o]), h_a[0], h_b[0], regime, widen)
        assert sorted(zip(cost.tolist(), (tuple(k for k in row if k >= 0) for row in legs.tolist()))) == \
            sorted(everything), (o, d)
        found = search.candidates_many(d, np.asarray([o]), h_a[0], h_b[0], regime, widen=widen)[0]
        expected = ranked(everything, spec.max_transfers + 1, spec.max_routes)
        assert [r.legs for r in found.routes] == [r for _, r in expected], (o, d)
        assert found.search_cost.tolist() == [c for c, _ in expected], (o, d)
        assert all(r.start == o and r.end == d for r in found.routes)
