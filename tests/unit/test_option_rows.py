"""The rows of rail options that decisions on the way price, built from arrays many at a time
(sim.option_rows), against their definitions applied route by route and leg by leg, on the whole
Shanghai Metro: candidate routes between random stations, asked from the platform of their first
leg, from another platform of its station and from the platforms of stations whose interchanges
lead there, for their last station and for stations a walk in the street reaches from it, with
every payment medium."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim import api
from sim.fares import leg_fares
from sim.option_rows import OptionRows, RouteIds
from sim.routing import candidate_sets
from sim.scenario import load_scenario

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "shanghai_day.yaml"


@pytest.fixture(scope="module")
def hook():
    """The decision hook of the Shanghai day (its network, legs, access, departure board, fares)."""
    way = api.prepare(load_scenario(SCENARIO, {"demand.total": 50})).way
    assert way is not None
    return way.hook


def plain_row(hook, legs: tuple[int, ...], platform: int, dest: int, medium: int):
    """One row from the definitions (OptionRows' docstring), leg by leg."""
    opts, access = hook.legs.options, hook.access
    station = hook.net.platforms[platform].station
    walks, at, where = [], station, platform
    for k in legs:
        leg = opts[k]
        if where == leg.platform:
            walks.append(0.0)
        elif at == leg.board:
            walks.append(float(access.transfer_walk[at]))
        else:
            walks.append(float(access.change_walk(at, leg.board)[medium]))
        at, where = leg.alight, -1
    keys = [int(hook.board.key_index(np.asarray([opts[k].platform]), np.asarray([opts[k].alight]))[0]) for k in legs]
    last = opts[legs[-1]].alight
    fare = float(leg_fares(hook.legs, hook.fares, np.asarray([legs]), np.asarray([medium])).sum())
    return (keys, walks, float(access.exit_walk[last] + access.street_walk.get((last, dest), 0.0)),
            float(len(legs) - 1 + (opts[legs[0]].platform != platform)), fare, opts[legs[0]].platform == platform)


def asked(hook, rng: np.random.Generator) -> list[tuple[tuple[int, ...], int, int, int]]:
    """(legs, platform, destination, medium) of options as decisions ask for them (see the module)."""
    net, n_st = hook.net, len(hook.net.stations)
    od = rng.choice(n_st * n_st, size=150, replace=False)
    od = od[od // n_st != od % n_st]
    routes, cand = candidate_sets(hook.search, od, np.zeros(len(od), dtype=np.int64), unrouted_ok=True)
    platforms_at: dict[int, list[int]] = {}
    for p, pl in enumerate(net.platforms):
        platforms_at.setdefault(pl.station, []).append(p)
    out = []
    for row in cand.tolist():
        for r in row:
            if r < 0:
                continue
            legs = tuple(routes[r].legs)
            first = hook.legs.options[legs[0]]
            last = hook.legs.options[legs[-1]].alight
            stations = [first.board] + [a for (a, b) in net.transfers if b == first.board]
            dests = [last] + [b for (a, b) in hook.access.street_walk if a == last]
            for station in stations:
                for platform in platforms_at[station]:
                    out.append((legs, platform, int(rng.choice(dests)), int(rng.integers(len(hook.access.media)))))
    return out


def test_rows_are_those_of_their_definitions(hook):
    rng = np.random.default_rng(20261207)
    options = asked(hook, rng)
    assert len(options) > 1000
    # every kind of first walk occurs: on the platform, across the station, through an interchange
    kinds = {(hook.legs.options[legs[0]].platform == p, hook.net.platforms[p].station == hook.legs.options[legs[0]].board)
             for legs, p, _, _ in options}
    assert kinds == {(True, True), (False, True), (False, False)}
    routes = RouteIds(hook.spec.max_transfers + 1)
    book = OptionRows(hook.net, hook.legs, hook.access, hook.board, routes, hook.fares)

    def rows_of(batch):
        columns = [np.asarray(x, dtype=np.int64) for x in zip(*[(routes.id_of(legs), p, d, m) for legs, p, d, m in batch])]
        return book.rows(*columns)

    # in two batches that overlap: the second finds the first's rows again and builds its new ones
    half = len(options) // 2
    first, second = rows_of(options[: half + 300]), rows_of(options[half:])
    assert np.array_equal(first[half:], second[:300])
    row_of = dict(zip(options[: half + 300], first.tolist())) | dict(zip(options[half:], second.tolist()))
    assert len(set(row_of.values())) == len(row_of)  # one row per distinct option
    got = book.take(np.asarray(list(row_of.values()), dtype=np.int64))
    for i, option in enumerate(row_of):
        keys, walks, after, boardings, fare, same = plain_row(hook, *option)
        n = len(keys)
        assert got.keys[i, :n].tolist() == keys and (got.keys[i, n:] == -1).all(), option
        assert got.walk_before[i, :n].tolist() == walks and (got.walk_before[i, n:] == 0).all(), option
        assert (got.walk_after[i], got.boardings[i], got.fare[i], bool(got.same_platform[i])) == \
            (after, boardings, fare, same), option
