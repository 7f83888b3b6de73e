"""Crowding in route choice against a hand-computed logit equilibrium: two parallel lines, the
faster one more crowded; route choice and simulation alternate until the loads settle."""

from __future__ import annotations

import math

import numpy as np
import pytest

import toynet as T
from sim.api import run
from sim.crowding import multiplier
from sim.schema import CrowdingSpec

SEATS, AREA, H, PER_HOUR = 50, 50.0, 300.0, 3000
RUN_P, RUN_Q, THETA = 600.0, 780.0, 0.3


def network() -> dict:
    stops = [("X", 0.0), ("Y", 5.0)]
    ops = {"door_channels": 1, "door_time_s": 0, "boarding_s": 0, "alighting_s": 0, "seats": SEATS,
           "standing_area_m2": AREA}
    lines = []
    for lid, run_s in (("P", RUN_P), ("Q", RUN_Q)):
        ln = T.line(lid, stops, {"forward": T.headway("05:30", "08:00", H)}, run_s={"X>Y": run_s}, capacity=10000)
        ln["operations"] = ops
        lines.append(ln)
    return T.network([T.station("X", 121.0), T.station("Y", 121.05)], lines)


def equilibrium() -> float:
    """Share of P where the logit on crowded in-vehicle times reproduces itself (bisection)."""
    spec = CrowdingSpec()
    per_train = PER_HOUR * H / 3600

    def excess(p: float) -> float:
        mp, mq = multiplier(np.asarray([p * per_train, (1 - p) * per_train]), np.asarray([SEATS, SEATS]), spec)
        diff = RUN_Q * mq - RUN_P * mp  # cost of Q minus cost of P (s); waits, walks and fares are equal
        return 1 / (1 + math.exp(-THETA / 60 * diff)) - p

    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if excess(mid) > 0 else (lo, mid)
    return (lo + hi) / 2


def share_on_p(res) -> float:
    return float((res.trips["route"].astype(str) == "P").mean())


def test_loads_converge_to_the_logit_equilibrium_and_the_gap_shrinks(tmp_path):
    p_star = equilibrium()
    p_free = 1 / (1 + math.exp(-THETA / 60 * (RUN_Q - RUN_P)))  # without crowding: P is 3 min faster
    assert p_star < p_free - 0.03  # crowding matters here
    shares, gaps = [], None
    for iterations in (1, 12):
        scn = T.scenario(PER_HOUR, ["X"], ["Y"], start="06:00", end="07:00", sim_end="09:00",
                         routing={"logit_scale_per_min": THETA, "crowding": {"max_iterations": iterations,
                                                                              "tolerance": 0.0}})
        res = run(T.write(tmp_path / str(iterations), network(), scn))
        shares.append(share_on_p(res))
        gaps = res.summary.get("crowding", {}).get("route_change_share", gaps)
    n = PER_HOUR
    se = math.sqrt(p_star * (1 - p_star) / n)
    assert abs(shares[0] - p_free) < 4 * math.sqrt(p_free * (1 - p_free) / n)
    assert abs(shares[1] - p_star) < 4 * se + 0.01, (shares, p_star)
    assert 2 <= len(gaps) <= 11 and gaps[-1] < gaps[0] / 3


def test_multiplier_by_hand():
    spec = CrowdingSpec()
    m = multiplier(np.asarray([0.0, 25.0, 50.0, 100.0]), np.asarray([50.0] * 4), spec)
    assert m == pytest.approx([1.0, 1.095, 1.19, (50 * 1.19 + 50 * 2.32) / 100])
    assert multiplier(np.asarray([500.0]), np.asarray([0.0]), spec)[0] == 1.0  # no seat count: no crowding
