"""Platform gates that close before each departure (China's railways): a rider who reaches the
platform after they close takes the next train, one who arrives before boards."""

from __future__ import annotations

import numpy as np

import toynet as T
from sim.api import run


def test_a_rider_after_the_gates_close_takes_the_next_train_with_the_exact_extra_wait(tmp_path):
    # line L: A - B; trains from A every 10 min from 07:00; A's gates close 5 min before each departure.
    # Riders reach A's platform (no entry steps) uniformly 07:20-08:00: each boards the first train
    # leaving at least 300 s after they arrive, in both engines
    stops = [("A", 0.0), ("B", 4.0)]
    ln = T.line("L", stops, {"forward": T.headway("07:00", "09:00", 600)}, run_s={"A>B": 300})
    net = T.network([T.station("A", 121.0, boarding_closes_s=300), T.station("B", 121.04)], [ln])
    scn = T.scenario(400, ["A"], ["B"], start="07:20", end="08:00", sim_end="10:00")
    scenario = T.write(tmp_path, net, scn)
    results = [run(scenario, engine=e) for e in ("bulk", "reference")]
    assert results[0].trips.equals(results[1].trips) and results[0].legs.equals(results[1].legs)
    legs = results[0].legs
    departures = 7 * 3600 + 600 * np.arange(13)
    t = legs["t_platform"].to_numpy()
    first = departures[np.searchsorted(departures, t + 300 - 1e-9)]  # the first train whose gates are still open
    np.testing.assert_array_equal(legs["t_board"].to_numpy(), first)
    late = (first - t) > 600 - 1e-9  # arrived in the 5 min before a departure: a whole headway more
    assert late.sum() > 50 and (~late).sum() > 50
    assert (results[0].trips["denied_boardings"] == 0).all()
    # without the gates closing, the same riders take the first train after they arrive
    open_net = T.network([T.station("A", 121.0), T.station("B", 121.04)], [ln])
    legs_open = run(T.write(tmp_path / "open", open_net, scn)).legs
    np.testing.assert_array_equal(legs_open["t_board"].to_numpy(), departures[np.searchsorted(departures, t - 1e-9)])
    extra = legs["t_board"].to_numpy() - legs_open["t_board"].to_numpy()
    assert set(np.unique(extra).tolist()) == {0.0, 600.0}
    np.testing.assert_array_equal(extra == 600.0, late)


def test_route_choice_counts_the_closing_gates(tmp_path):
    # two lines from A to B: R (gates close 20 min before, trains at 08:30) and M (no gates, 08:40):
    # riders at 08:15 cannot catch R's 08:30 (gates closed at 08:10) and take M
    r = T.line("R", [("A", 0.0), ("B", 4.0)], {"forward": {"departures": ["08:30", "09:30"]}}, run_s={"A>B": 300})
    m = T.line("M", [("A2", 0.0), ("B2", 4.0)], {"forward": {"departures": ["08:40"]}}, run_s={"A2>B2": 300})
    net = T.network([T.station("A", 121.0, boarding_closes_s=1200), T.station("B", 121.04),
                     T.station("A2", 121.0001), T.station("B2", 121.0401)], [r, m],
                    interchanges=[{"id": k, "stations": pair, "bidirectional": True,
                                   "paths": [{"name": "walk", "steps": [{"walk_s": 30}]}]}
                                  for k, pair in (("a", ["A", "A2"]), ("b", ["B", "B2"]))])
    scn = T.scenario(50, ["A"], ["B"], start="08:14", end="08:15", sim_end="11:00")
    res = run(T.write(tmp_path, net, scn))
    assert (res.trips["route"].astype(str) == "M").all()
