"""Walking speeds that differ between commuters, against theory.

A train's alighting riders reach the exit gates spread over their walk: the gate arrival times
have the mean and variance the speed distribution implies (mean walk = the network's walk, variance
walk² Var(factor)). Poisson arrivals delayed by independent walks are still Poisson (the
displacement theorem), so a single deterministic gate behind a walk is an M/D/1 queue whose mean
wait is Pollaczek-Khinchine's rho D / (2 (1 - rho)). Each commuter keeps one speed all trip.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import toynet as T
from batch_means import batch_mean_se
from sim.api import run
from sim.schema import WalkingSpec
from sim.walking import factor_moments, walk_factors

WALKING = {"speed_mean_m_s": 1.34, "speed_sd_m_s": 0.26, "speed_min_m_s": 0.6, "speed_max_m_s": 2.4}


def with_walking(scn: dict, walking: dict | None = WALKING) -> dict:
    scn["demand"]["walking"] = walking
    return scn


def test_the_factor_keeps_the_mean_walk_and_has_the_distributions_spread():
    spec = WalkingSpec.model_validate(WALKING)
    mean, var = factor_moments(spec)
    f = walk_factors(spec, 400_000, np.random.default_rng(3))
    assert mean == 1.0 and abs(f.mean() - 1.0) < 4 * math.sqrt(var / len(f))
    assert abs(f.var() - var) < 0.02 * var
    assert 0.19 < math.sqrt(var) < 0.23  # walks differ by about a fifth (sd of 1/v over its mean)
    assert (walk_factors(None, 5, np.random.default_rng(0)) == 1.0).all()


@pytest.mark.parametrize("walking", [WALKING, {"speed_mean_m_s": 0.8, "speed_sd_m_s": 0.4, "speed_min_m_s": 0.3,
                                                  "speed_max_m_s": 1.1}])
def test_speeds_and_moments_are_scipys_truncated_normal(walking):
    # sim.walking computes the truncated normal with scipy.special (scipy.stats is slow to import):
    # the same draws from the same generator, and the same moments, as scipy.stats.truncnorm
    from scipy import stats

    spec = WalkingSpec.model_validate(walking)
    sd = spec.speed_sd_m_s
    dist = stats.truncnorm((spec.speed_min_m_s - spec.speed_mean_m_s) / sd,
                           (spec.speed_max_m_s - spec.speed_mean_m_s) / sd, loc=spec.speed_mean_m_s, scale=sd)
    pace = float(dist.expect(lambda v: 1.0 / v))
    expected = (1.0 / dist.rvs(size=50_000, random_state=np.random.default_rng(11))) / pace
    assert np.array_equal(walk_factors(spec, 50_000, np.random.default_rng(11)), expected)
    assert factor_moments(spec) == (1.0, float(dist.expect(lambda v: 1.0 / v**2)) / pace**2 - 1.0)


def test_a_trains_riders_reach_the_gates_spread_as_their_speeds_imply(tmp_path):
    walk = 120.0
    gates = {"kind": "gate", "servers": 1000, "service": {"dist": "deterministic", "mean_s": 1.0}}
    op = T.operator(facilities={"gates": gates}, entry=[{"walk_s": 10}], exit=[{"walk_s": walk}, "gates"])
    stops = [("A", 0.0), ("B", 3.0)]
    net = T.network([T.station("A", 121.0), T.station("B", 121.03)],
                    [T.line("L1", stops, {"forward": {"departures": ["06:30"]}}, capacity=100_000)], operators=[op])
    n = 4000
    scn = T.write(tmp_path, net, with_walking(T.scenario(n, ["A"], ["B"], start="06:00", end="06:20")))
    res = run(scn)
    legs = res.legs.set_index("commuter_id")
    fac = res.facilities[res.facilities["station"] == "B"].set_index("commuter_id")
    delay = (fac["t_join"] - legs.loc[fac.index, "t_alight"]).to_numpy()  # every rider off the one train
    assert len(delay) == n and np.ptp(legs["t_alight"].to_numpy()) == 0.0
    _, var = factor_moments(WalkingSpec.model_validate(WALKING))
    sd = walk * math.sqrt(var)
    assert abs(delay.mean() - walk) < 4 * sd / math.sqrt(n)
    se_var = sd**2 * math.sqrt(2 / (n - 1)) * 1.5  # the factor is skewed: a wider band than a normal's
    assert abs(delay.var(ddof=1) - sd**2) < 4 * se_var
    assert np.ptp(delay) > 60  # the platoon is spread over a minute and more, not one second
    # the same commuter keeps the same speed: their entry walk (10 s) is scaled by the same factor
    entry = (res.trips.set_index("commuter_id")["access_s"]).loc[fac.index].to_numpy()
    assert np.allclose(entry / 10.0, delay / walk)


@pytest.mark.parametrize("rho", [0.6, 0.85])
def test_a_gate_behind_a_spread_walk_is_an_m_d_1_queue(tmp_path, rho):
    service = 2.0
    lam = rho / service
    hours = 8
    gate = {"kind": "gate", "servers": 1, "service": {"dist": "deterministic", "mean_s": service}}
    op = T.operator(facilities={"gates": gate}, entry=[{"walk_s": 90}, "gates", {"walk_s": 10}])
    stops = [("A", 0.0), ("B", 3.0)]
    net = T.network([T.station("A", 121.0), T.station("B", 121.03)],
                    [T.line("L1", stops, {"forward": T.headway("00:00", "23:00", 300)}, capacity=100_000)],
                    operators=[op])
    total = int(lam * hours * 3600)
    scn = T.write(tmp_path, net, with_walking(T.scenario(total, ["A"], ["B"], start="01:00", end=f"{1 + hours:02d}:00")))
    fac = run(scn).facilities.sort_values("t_join")
    wq = (fac["t_start"] - fac["t_join"]).to_numpy()
    expected = rho * service / (2 * (1 - rho))  # Pollaczek-Khinchine, deterministic service
    se = batch_mean_se(wq)
    assert abs(wq.mean() - expected) < 4 * se, (wq.mean(), expected, se)
    assert se < 0.15 * expected


def test_without_walking_spread_every_walk_is_the_networks(tmp_path):
    op = T.operator(entry=[{"walk_s": 37}], exit=[{"walk_s": 23}])
    stops = [("A", 0.0), ("B", 3.0)]
    net = T.network([T.station("A", 121.0), T.station("B", 121.03)],
                    [T.line("L1", stops, {"forward": T.headway("06:00", "08:00", 300)})], operators=[op])
    trips = run(T.write(tmp_path, net, with_walking(T.scenario(50, ["A"], ["B"]), None))).trips
    assert (trips["access_s"] == 37.0).all() and (trips["egress_s"] == 23.0).all()
