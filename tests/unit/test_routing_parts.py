"""The routing parts kept between runs: the network as legs (and its access and candidate search)
built once serves runs with other demand exactly as parts built afresh for each run, and is not
changed by serving them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim import api
from sim.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml"
TABLES = ("trips", "legs", "trains", "facilities", "fares")


def test_the_legs_network_built_once_serves_two_runs_with_different_demand():
    small = load_scenario(BASELINE, {"demand.total": 2000})
    large = small.with_overrides({"demand.total": 4000})
    cache: api.RoutingCache = {}
    kept_small = api.run(small, seed=5, routing_cache=cache)
    [(legs, access, search)] = cache.values()
    found = len(search.found)
    before = {name: getattr(legs, name).copy() for name in ("wait_bins", "band_wait", "dep_all", "arr_all", "board")}
    kept_large = api.run(large, seed=5, routing_cache=cache)
    # the second run took the parts of the first: one entry, the same objects, more candidates kept
    assert len(cache) == 1 and next(iter(cache.values())) == (legs, access, search)
    assert api.prepare(large, seed=5, routing_cache=cache).legs is legs
    assert len(search.found) > found
    for name, array in before.items():
        assert np.array_equal(getattr(legs, name), array), f"serving a run changed the legs' {name}"
    # ... and gives the same tables as parts built for each run
    for kept, scenario in ((kept_small, small), (kept_large, large)):
        fresh = api.run(scenario, seed=5)
        for name in TABLES:
            pd.testing.assert_frame_equal(getattr(kept, name), getattr(fresh, name), check_exact=True, obj=name)
        assert kept.summary == fresh.summary
