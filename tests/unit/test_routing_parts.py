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


def test_a_route_the_lower_bounds_undercut_is_still_found(tmp_path):
    # line L: A - B - C; trains north from C to A every 5 min pass B, one all-stops train north leaves C at
    # 08:55. From B to A the lower bounds count riding south to C and back north on an express (a reversal on
    # one line, which the search forbids): the only route, waiting at B for the 08:55 train, must not fall
    # outside the band they set
    import toynet as T
    from sim.api import run

    stops = [("A", 0.0), ("B", 2.0), ("C", 4.0)]
    patterns = [{"id": "south", "stops": ["A", "C"], "timetable": {"forward": T.headway("06:00", "10:00", 300)}},
                {"id": "north_express", "stops": ["A", "C"], "skip": ["B"],
                 "timetable": {"backward": T.headway("06:00", "10:00", 300)}},
                {"id": "north_all", "stops": ["A", "C"], "timetable": {"backward": {"departures": ["08:55"]}}}]
    ln = T.line("L", stops, {}, run_s={"A>B": 120, "B>C": 120}, dwell_s=30, patterns=patterns)
    net = T.network([T.station(s, 121.0 + 0.02 * i) for i, (s, _) in enumerate(stops)], [ln])
    scn = T.scenario(50, ["B"], ["A"], start="07:00", end="07:30", sim_end="10:30", routing={"outside_option": None})
    res = run(T.write(tmp_path, net, scn))
    assert (res.trips["route"].astype(str) == "L").all() and (res.trips["status"] == "arrived").all()
    assert (res.legs["t_board"] == 8 * 3600 + 55 * 60 + 150).all()  # the 08:55 from C calls at B 150 s later


def test_a_local_trains_rider_changes_to_the_express_where_the_local_ends(tmp_path):
    # line L: A - B - C - D - E; all-stops trains A-D every 10 min, expresses A-D-E (passing B and C) every
    # 10 min. No train goes from B to E: riders change at D from the local to the express, on one line and
    # direction. D is the one transfer point (a local train's riders reach a station only the express serves);
    # B and C are not (no train there goes anywhere the others do not)
    import toynet as T
    from sim.api import run
    from sim.routing import transfer_points

    stops = [("A", 0.0), ("B", 2.0), ("C", 4.0), ("D", 6.0), ("E", 8.0)]
    patterns = [{"id": "local", "stops": ["A", "D"], "timetable": {"forward": T.headway("06:00", "10:00", 600)}},
                {"id": "express", "stops": ["A", "E"], "skip": ["B", "C"],
                 "timetable": {"forward": T.headway("06:05", "10:00", 600)}}]
    ln = T.line("L", stops, {}, run_s={"A>B": 120, "B>C": 120, "C>D": 120, "D>E": 120}, dwell_s=30,
                patterns=patterns)
    net = T.network([T.station(s, 121.0 + 0.02 * i) for i, (s, _) in enumerate(stops)], [ln])
    scn = T.scenario(50, ["B"], ["E"], start="07:00", end="07:30", sim_end="10:30", routing={"outside_option": None})
    scenario = T.write(tmp_path, net, scn)
    res = run(scenario)
    tp = {scenario.network.stations[s].id for s in transfer_points(scenario.network)}
    assert "D" in tp and not tp & {"B", "C"}
    assert (res.trips["route"].astype(str) == "L>L").all() and (res.trips["status"] == "arrived").all()
    assert (res.trips["transfer_stations"].astype(str) == "D").all()
