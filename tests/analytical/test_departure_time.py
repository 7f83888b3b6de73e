"""Departure-time choice on a single bottleneck against Vickrey's equilibrium (sim/departure_choice.py).

One line, A to B, a train every H = 60 s taking K = 20 riders (capacity s = K / H = 1/3 per s),
run time R = 600 s, no walks or gates; N = 1,200 commuters who would all leave at 08:00 and so
prefer to arrive at t* = 08:00 + R + H/2 (their expected trip with no queue). With travel time
valued 1, arriving early beta = 0.61 and late gamma = 2.38 per second (Small 1982), the deterministic
equilibrium (Vickrey 1969; Arnott, de Palma and Lindsey 1990, Journal of Urban Economics 27(1),
111-130) uses the capacity at full for N / s = 3,600 s, the trains from t* - R - gamma / (beta +
gamma) N / s to t* - R + beta / (beta + gamma) N / s; the share gamma / (beta + gamma) = 0.796
arrive early, and each commuter's cost is the trip with no queue plus delta N / s, delta = beta gamma
/ (beta + gamma), i.e. 630 + 1,748 s. Commuters choose by a logit (0.5 per min), so the pattern is
the stochastic equilibrium's, which spreads the queue's ends and raises the mean cost above the
deterministic one; the tolerances allow for that and for trains in whole minutes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import toynet as T
from sim.api import run

K, H, R, N = 20, 60.0, 600.0, 1200
BETA, GAMMA = 0.61, 2.38
S = K / H
SPAN = N / S  # 3,600 s
T_FREE = R + H / 2
T_STAR = 8 * 3600 + 30 + T_FREE  # drawn starts are uniform over 08:00:00-08:01:00


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    op = T.operator("OP", facilities={}, entry=[], exit=[])
    line = T.line("L", [("A", 0.0), ("B", 10.0)], {"forward": T.headway("05:00", "12:00", H)}, run_s={"A>B": R},
                  capacity=K, dwell_s=0.0)
    no_choices = {"when_stranded": False, "after_denial": False, "fastest_train": False}
    scn = T.scenario(N, ["A"], ["B"], start="06:00", end="10:00", sim_end="13:00",
                     profile=[["06:00", 0.0], ["07:59:59", 0.0], ["08:00", 1.0], ["08:01", 1.0], ["08:01:01", 0.0],
                              ["10:00", 0.0]],
                     routing={"decisions": no_choices, "outside_option": None})
    scn["demand"]["departure_time"] = {"window_s": 5400, "bin_s": 60, "theta_per_min": 0.5, "iterations": 100,
                                       "early_weight": BETA, "late_weight": GAMMA}
    sc = T.write(tmp_path_factory.mktemp("bottleneck"), T.network([T.station("A", 120.6), T.station("B", 120.7)],
                                                                   [line], operators=[op]), scn)
    return run(sc)


def test_the_capacity_is_used_over_the_equilibrium_span(result):
    start = T_STAR - R - GAMMA / (BETA + GAMMA) * SPAN  # 07:13:18
    board = np.sort(result.legs["t_board"].dropna().to_numpy())
    assert len(board) == N
    # boardings at the capacity rate from start to start + N / s: their percentiles at start + q N / s
    for q in (0.05, 0.5, 0.95):
        assert np.quantile(board, q) == pytest.approx(start + q * SPAN, abs=300), q
    at_a = result.trains[result.trains["station"] == "A"]
    full = at_a[(at_a["t_depart"] >= np.quantile(board, 0.05)) & (at_a["t_depart"] <= np.quantile(board, 0.95))]
    assert (full["load_after"] == K).mean() > 0.95


def test_the_early_share_and_the_cost_are_the_equilibrium_s(result):
    d = result.summary["departure_time"]
    assert d["early_share"] + d["on_time_share"] + d["late_share"] == pytest.approx(1.0)
    assert d["early_share"] == pytest.approx(GAMMA / (BETA + GAMMA), abs=0.05)
    delta = BETA * GAMMA / (BETA + GAMMA)
    equilibrium = T_FREE + delta * SPAN  # 2,378 s
    assert equilibrium == pytest.approx(2378.0, abs=1.0)
    # the stochastic equilibrium costs more than the deterministic one, less than twice the queue's cost
    assert equilibrium * 0.95 < d["cost_mean_s"] < T_FREE + 2 * delta * SPAN
    assert math.isclose(d["runs"], 100)


def test_departure_choice_with_crowding_iterations_is_refused(tmp_path):
    from sim.errors import UserError

    line = T.line("L", [("A", 0.0), ("B", 10.0)], {"forward": T.headway("05:00", "12:00", H)}, run_s={"A>B": R})
    scn = T.scenario(100, ["A"], ["B"], routing={"crowding": {"max_iterations": 3}})
    scn["demand"]["departure_time"] = {}
    with pytest.raises(UserError) as err:  # writing loads it
        T.write(tmp_path, T.network([T.station("A", 120.6), T.station("B", 120.7)], [line]), scn)
    assert "set routing.crowding: null" in str(err.value)
