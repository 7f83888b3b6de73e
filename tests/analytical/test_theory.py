"""Simulated values against theory: exact sums, random incidence, Erlang C, capacity, Little's law.

Every test is seeded; tolerances come from the sample size (standard errors), never from reruns.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import toynet as T
from batch_means import batch_mean_se
from sim.api import run


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean queueing delay (s) of M/M/c with arrival rate lam and service rate mu (per s)."""
    a = lam / mu
    rho = a / c
    tail = a**c / math.factorial(c) / (1 - rho)
    p_wait = tail / (sum(a**k / math.factorial(k) for k in range(c)) + tail)
    return p_wait / (c * mu - lam)


def test_single_commuter_travel_time_is_the_exact_sum_of_its_parts(tmp_path):
    gate = {"kind": "gate", "servers": 2, "service": {"dist": "deterministic", "mean_s": 2.5}}
    sec = {"kind": "security", "servers": 1, "service": {"dist": "deterministic", "mean_s": 6.0}}
    tvm = {"kind": "ticket_machine", "servers": 1, "service": {"dist": "deterministic", "mean_s": 31.0}}
    op = T.operator(facilities={"entry_gates": gate, "exit_gates": gate, "security": sec, "ticket_machines": tvm},
                    entry=["ticket_machines", "security", "entry_gates", {"walk_s": 70}],
                    exit=[{"walk_s": 45}, "exit_gates", {"walk_s": 5}])
    stops = [("A", 0.0), ("B", 2.0), ("C", 5.0)]
    deps = ["06:00", "06:10", "06:20", "06:30", "06:40", "06:50", "07:00"]
    net = T.network([T.station("A", 121.0), T.station("B", 121.02), T.station("C", 121.05)],
                    [T.line("L1", stops, {"forward": {"departures": deps}}, run_s={"A>B": 150, "B>C": 210},
                            dwell_s=40)], operators=[op])
    for medium, ticket_s in (("qr", 0.0), ("ticket", 31.0)):
        scn = T.write(tmp_path / medium, net, T.scenario(1, ["A"], ["C"], start="06:00", end="06:30",
                                                         payment={medium: 1.0}))
        res = run(scn)
        trip = res.trips.iloc[0]
        t0 = trip.t_depart
        t_platform = t0 + ticket_s + 6.0 + 2.5 + 70
        departures = np.arange(6 * 3600, 7 * 3600 + 1, 600.0)
        board = departures[np.searchsorted(departures, t_platform, side="left")]
        alight = board + 150 + 40 + 210
        t_arrive = alight + 45 + 2.5 + 5
        assert trip.status == "arrived"
        assert trip.access_s == pytest.approx(ticket_s + 6.0 + 2.5 + 70, abs=1e-9)
        assert trip.wait_s == pytest.approx(board - t_platform, abs=1e-9)
        assert trip.in_vehicle_s == pytest.approx(400.0, abs=1e-9)
        assert trip.egress_s == pytest.approx(52.5, abs=1e-9)
        assert trip.transfer_s == 0.0
        assert trip.t_arrive == pytest.approx(t_arrive, abs=1e-9)
        assert trip.travel_time_s == pytest.approx(t_arrive - t0, abs=1e-9)


def _incidence_network(departures: list[str] | None = None, headway_s: float | None = None) -> dict:
    stops = [("A", 0.0), ("B", 3.0)]
    if departures is not None:
        tt = {"forward": {"departures": departures}}
    else:
        tt = {"forward": T.headway("05:30", "11:00", headway_s)}
    return T.network([T.station("A", 121.0), T.station("B", 121.03)],
                     [T.line("L1", stops, tt, capacity=100000)])


def test_random_incidence_regular_headway_gives_half_the_headway(tmp_path):
    h = 300.0
    scn = T.write(tmp_path, _incidence_network(headway_s=h), T.scenario(20000, ["A"], ["B"]))
    wait = run(scn).trips["wait_s"].to_numpy()
    se = wait.std(ddof=1) / math.sqrt(len(wait))
    assert se < 2.0
    assert abs(wait.mean() - h / 2) < 4 * se
    assert wait.min() >= 0 and wait.max() <= h


def test_random_incidence_irregular_headways_follow_h_over_2_times_1_plus_cv2(tmp_path):
    gaps = [120, 480] * 30  # mean headway 300 s, coefficient of variation 0.6
    times = 5.5 * 3600 + np.concatenate([[0], np.cumsum(gaps)])
    deps = [f"{int(t // 3600):02d}:{int(t % 3600 // 60):02d}:{int(t % 60):02d}" for t in times]
    scn = T.write(tmp_path, _incidence_network(departures=deps), T.scenario(20000, ["A"], ["B"]))
    wait = run(scn).trips["wait_s"].to_numpy()
    g = np.asarray(gaps, dtype=float)
    h, cv = g.mean(), g.std() / g.mean()
    expected = h / 2 * (1 + cv**2)
    assert expected == pytest.approx(204.0)
    se = wait.std(ddof=1) / math.sqrt(len(wait))
    assert abs(wait.mean() - expected) < 4 * se
    assert abs(wait.mean() - h / 2) > 20 * se  # clearly not the regular-headway value


@pytest.mark.parametrize("servers, rho", [(1, 0.7), (3, 0.75)])
def test_security_lanes_match_erlang_c(tmp_path, servers, rho):
    mean_s = 5.0
    mu = 1 / mean_s
    lam = rho * servers * mu
    hours = 10
    total = int(lam * hours * 3600)
    sec = {"kind": "security", "servers": servers, "service": {"dist": "exponential", "mean_s": mean_s}}
    op = T.operator(facilities={"security": sec}, entry=["security", {"walk_s": 30}])
    stops = [("A", 0.0), ("B", 3.0)]
    net = T.network([T.station("A", 121.0), T.station("B", 121.03)],
                    [T.line("L1", stops, {"forward": T.headway("00:00", "23:00", 300)}, capacity=100000)],
                    operators=[op])
    scn = T.write(tmp_path, net, T.scenario(total, ["A"], ["B"], start="01:00", end=f"{1 + hours:02d}:00"))
    fac = run(scn).facilities.sort_values("t_join")
    wq = (fac["t_start"] - fac["t_join"]).to_numpy()
    expected = erlang_c_wait(lam, mu, servers)
    se = batch_mean_se(wq)
    assert abs(wq.mean() - expected) < 4 * se, (wq.mean(), expected, se)
    assert se < 0.15 * expected
    service = (fac["t_end"] - fac["t_start"]).to_numpy()
    assert abs(service.mean() - mean_s) < 4 * service.std() / math.sqrt(len(service))


def _capacity_case(tmp_path, capacity: int, q_per_h: float, h: float = 300.0, hours: float = 1.0,
                   choices: bool = False):
    """One line A - B; with `choices` off nobody leaves the queue (the queueing theory's assumption),
    with them on riders left behind may leave by the outside option."""
    stops = [("A", 0.0), ("B", 3.0)]
    net = T.network([T.station("A", 121.0), T.station("B", 121.03)],
                    [T.line("L1", stops, {"forward": T.headway("05:30", "12:00", h)}, capacity=capacity)])
    total = int(q_per_h * hours)
    routing = {} if choices else {"decisions": {"when_stranded": False, "after_denial": False}}
    scn = T.write(tmp_path, net, T.scenario(total, ["A"], ["B"], start="06:00", end=f"{6 + hours:02.0f}:00",
                                           routing=routing))
    return run(scn)


def test_no_denied_boardings_when_demand_per_headway_fits(tmp_path):
    q, h = 1200.0, 300.0  # q*H = 100 per train
    res = _capacity_case(tmp_path, capacity=200, q_per_h=q, h=h)
    assert res.trips["denied_boardings"].sum() == 0
    assert (res.trains["load_after"] <= res.trains["capacity"]).all()


def test_backlog_grows_by_qh_minus_c_per_train_when_demand_exceeds_capacity(tmp_path):
    q, h, cap = 1800.0, 300.0, 100  # q*H = 150 > C = 100: 50 more left behind after every train
    res = _capacity_case(tmp_path, capacity=cap, q_per_h=q, h=h)
    at_a = res.trains[(res.trains["station"] == "A")].sort_values("t_depart")
    arrivals = np.sort(res.legs["t_platform"].to_numpy())
    window = (at_a["t_depart"] > 6 * 3600) & (at_a["t_depart"] <= 7 * 3600)
    deps = at_a.loc[window, "t_depart"].to_numpy()
    boarded_cum = np.cumsum(at_a["boarded"].to_numpy())[window.to_numpy()]
    arrived_cum = np.searchsorted(arrivals, deps, side="right")
    backlog = arrived_cum - boarded_cum
    k = np.arange(1, len(deps) + 1)
    expected = k * (q * h / 3600 - cap)
    # arrivals are a Poisson process: the backlog after k trains has standard deviation sqrt(q*H*k)
    assert np.all(np.abs(backlog - expected) <= 4 * np.sqrt(q * h / 3600 * k) + 1)
    assert (at_a.loc[window, "boarded"] == cap).all()
    assert (res.trains["load_after"] <= res.trains["capacity"]).all()
    # everyone left on the platform at a departure was denied once by it (all trains serve B)
    all_deps = at_a["t_depart"].to_numpy()
    left = np.searchsorted(arrivals, all_deps, side="right") - np.cumsum(at_a["boarded"].to_numpy())
    assert res.trips["denied_boardings"].sum() == left.sum()


def test_littles_law_on_platform_occupancy(tmp_path):
    res = _capacity_case(tmp_path, capacity=200, q_per_h=1500.0, h=300.0, hours=2.0)
    legs = res.legs
    t0, t1 = 6 * 3600 + 1800.0, 7.5 * 3600
    # time-average number waiting on the platform, from a fine time grid
    grid = np.linspace(t0, t1, 20001)[:-1] + (t1 - t0) / 40000
    starts, ends = np.sort(legs["t_platform"].to_numpy()), np.sort(legs["t_board"].to_numpy())
    occupancy = np.searchsorted(starts, grid, side="right") - np.searchsorted(ends, grid, side="right")
    L = occupancy.mean()
    # arrival rate and mean wait of those who arrived in the window
    inside = (legs["t_platform"] >= t0) & (legs["t_platform"] < t1)
    lam = inside.sum() / (t1 - t0)
    W = (legs.loc[inside, "t_board"] - legs.loc[inside, "t_platform"]).mean()
    assert L == pytest.approx(lam * W, rel=0.05)


def test_commuters_are_conserved(tmp_path):
    # riders left behind may leave the network by the outside option: every commuter arrived, is in the
    # network or left it
    res = _capacity_case(tmp_path, capacity=100, q_per_h=1500.0, h=300.0, hours=2.0, choices=True)
    trips, trains = res.trips, res.trains
    assert trips["commuter_id"].is_unique and len(trips) == 3000
    status = trips["status"].astype(str)
    assert status.isin(["arrived", "in_system", "left"]).all() and (status == "left").sum() > 0
    assert trips.loc[status == "left", "t_left"].notna().all() and trips.loc[status != "left", "t_left"].isna().all()
    per_train = trains.groupby("train_id", observed=True)[["boarded", "alighted"]].sum()
    assert (per_train["boarded"] == per_train["alighted"]).all()
    assert trains["boarded"].sum() == len(res.legs[res.legs["t_board"].notna()])
