"""The itinerary templates of StepCompiler.templates, laid out for all routes at once, against the
steps of each route built one at a time from the same pieces: the entry of the first boarding
station (after any street walk), each ride with the change before it, the exit and END (after any
street walk), a piece without steps passing its walk on to the next step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.api import prepare
from sim.plan import StepCompiler, Templates
from sim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def one_by_one(compiler: StepCompiler, route, medium: str) -> list[tuple]:
    """The steps of one route paid with `medium`, piece by piece."""
    first = compiler.legs.options[route.legs[0]].board
    out: list[tuple] = []
    walk = compiler._add(out, compiler.entry(first, medium), compiler.access.street_walk.get((route.start, first), 0.0))
    return compiler._rides(out, walk, route.legs, route.end, medium)


def rows(templates: Templates, t: int) -> list[tuple]:
    lo, hi = templates.start[t], templates.start[t + 1]
    return list(zip(templates.kind[lo:hi].tolist(), templates.target[lo:hi].tolist(),
                    templates.alight[lo:hi].tolist(), templates.walk[lo:hi].tolist(), templates.leg[lo:hi].tolist()))


@pytest.mark.parametrize("name", ["baseline.yaml", "regional_baseline.yaml", "shanghai_day.yaml",
                                  "cross_border_zones.yaml"])
def test_templates_are_the_routes_steps_one_by_one(name):
    scn = load_scenario(SCENARIOS / name, {"demand.total": 500})
    prep = prepare(scn)
    compiler = StepCompiler(scn.network, prep.legs, prep.access)
    media = list(prep.access.media)
    routes = list(prep.assignment.routes)
    # every route with every medium, in a shuffled order (the pieces are numbered as they come)
    pairs = np.random.default_rng(0).permutation(len(routes) * len(media))
    route_of, medium_of = pairs // len(media), pairs % len(media)
    got = compiler.templates([routes[r] for r in route_of.tolist()], media, medium_of)
    assert got.start[0] == 0 and len(got.start) == len(pairs) + 1
    assert got.kind.dtype == np.int8 and got.target.dtype == got.alight.dtype == got.leg.dtype == np.int32
    fresh = StepCompiler(scn.network, prep.legs, prep.access)
    walked_in_street = 0
    for t, (r, m) in enumerate(zip(route_of.tolist(), medium_of.tolist())):
        want = one_by_one(fresh, routes[r], media[m])
        assert rows(got, t) == [(int(k), int(a), int(b), float(w), int(g)) for k, a, b, w, g in want]
        walked_in_street += routes[r].start != prep.legs.options[routes[r].legs[0]].board
    if name == "shanghai_day.yaml":
        assert walked_in_street  # the street walks into another station are covered


def test_no_templates():
    scn = load_scenario(SCENARIOS / "baseline.yaml", {"demand.total": 50})
    prep = prepare(scn)
    got = StepCompiler(scn.network, prep.legs, prep.access).templates([], list(prep.access.media),
                                                                      np.zeros(0, dtype=np.int64))
    assert got.start.tolist() == [0] and len(got.kind) == 0
