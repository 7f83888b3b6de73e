"""Demand generation (counts, times, media, OD pairs) and route choice (waits, transfers, common lines,
logit shares)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from scipy import stats

from sim import rng as rngmod
from sim.choice import RouteCosts, assign_routes
from sim.demand import generate_demand, routable_pairs, sample_profile, split_total
from sim.errors import UserError
from sim.fares import FareSystem
from sim.network import Network
from sim.routing import Access, CandidateSearch, LegNetwork, build_leg_options, mean_wait_s
from sim.scenario import load_network
from sim.schema import DemandSpec, PeriodSpec, ProfileSpec, RoutingSpec
from toy_text import EXTRA_STATIONS, FIXTURES, LINE_2, NET

T6, T9 = 6 * 3600.0, 9 * 3600.0
PERIOD = PeriodSpec(start="06:00", end="09:00")

# A second line G-H, not connected to L1 (no interchange): a separate component.
DISCONNECTED = NET.replace("lines:\n", EXTRA_STATIONS + "lines:\n") + LINE_2


class Routing(NamedTuple):
    """The routing parts of one network, period and routing spec."""

    net: Network
    legs: LegNetwork
    access: Access
    search: CandidateSearch

    def assign(self, *args):
        """assign_routes on these parts (args: origin, destination, medium, media, t_depart, rng)."""
        return assign_routes(self.net, self.legs, self.access, self.search, *args)

    def costs(self, routes) -> RouteCosts:
        return RouteCosts(self.legs, self.access, FareSystem(self.net, self.access.media), self.search.spec, routes)


def routing(net: Network, spec: RoutingSpec | None = None, t_start: float = T6, t_end: float | None = None) -> Routing:
    legs, access = LegNetwork(net, t_start, t_end), Access(net)
    return Routing(net, legs, access, CandidateSearch(net, legs, access, spec or RoutingSpec()))


def candidates(rt: Routing, origin, dest):
    """Candidate routes from origin to dest (station indices), for commuters starting in the
    first hour."""
    return rt.search.candidates(origin, dest)


def route_costs(rt: Routing, routes):
    """Base costs [route, medium] and wait costs at the start of the period [route]."""
    c = rt.costs(routes)
    rows = np.arange(len(routes))
    return c.base, c.expected_wait_cost(rows, np.zeros(len(routes), dtype=np.int64), np.full(len(routes), rt.legs.t_start))


def build(tmp_path: Path, text: str = NET, name: str = "net.yaml"):
    (tmp_path / name).write_text(text, encoding="utf-8")
    return load_network(tmp_path / name)[0]


def demand_spec(total=1000, segments=None, profile=(("06:00", 1), ("09:00", 1)), **extra) -> DemandSpec:
    segs = segments or [{"name": "all", "share": 1, "generator": {}, "profile": "p",
                         "payment": {"qr": 0.8, "ticket": 0.2}}]
    return DemandSpec.model_validate({"total": total, "profiles": {"p": {"points": [list(x) for x in profile]}},
                                      "segments": segs, **extra})


# --------------------------------------------------------------------------------------------------
# Demand: counts


@pytest.mark.parametrize("total, shares, expected", [
    (7, [0.5, 0.25, 0.25], [3, 2, 2]),       # remainders .5/.75/.75: the two largest get the extra ones
    (10, [1, 1, 1], [4, 3, 3]),              # equal remainders: the first ones first
    (1000, [0.72, 0.13, 0.09, 0.035, 0.0175, 0.0075], [720, 130, 90, 35, 18, 7]),
    (0, [1, 2], [0, 0]),
    (5, [3], [5]),
])
def test_split_total_largest_remainder(total, shares, expected):
    out = split_total(total, shares)
    assert out == expected
    assert sum(out) == total


def test_demand_exact_total_and_segment_split(tmp_path):
    net = build(tmp_path)
    segs = [{"name": n, "share": s, "generator": {}, "profile": "p", "payment": {"qr": 1}}
            for n, s in (("a", 0.5), ("b", 0.25), ("c", 0.25))]
    d = generate_demand(demand_spec(total=1003, segments=segs), PERIOD, net, tmp_path, seed=3, replication=0)
    assert d.size == 1003
    assert d.segment_names == ("a", "b", "c")
    # exact 501.5 / 250.75 / 250.75 -> floors 501/250/250, the two largest remainders (b, c) get one more
    assert np.bincount(d.segment, minlength=3).tolist() == [501, 251, 251]
    assert len(d.origin) == len(d.destination) == len(d.payment) == 1003


def test_demand_no_trip_within_one_station(tmp_path):
    net = build(tmp_path)
    d = generate_demand(demand_spec(total=2000), PERIOD, net, tmp_path, seed=1, replication=0)
    assert (d.origin != d.destination).all()
    assert len(set(zip(d.origin.tolist(), d.destination.tolist()))) == 30  # every ordered pair of 6 stations


# --------------------------------------------------------------------------------------------------
# Demand: departure times


def test_departure_times_within_period_and_sorted(tmp_path):
    net = build(tmp_path)
    d = generate_demand(demand_spec(total=3000), PERIOD, net, tmp_path, seed=5, replication=0)
    assert ((d.t_depart >= T6) & (d.t_depart < T9)).all()
    assert (np.diff(d.t_depart) >= 0).all()  # commuters numbered by departure time


def test_linear_profile_mean_matches_analytical(tmp_path):
    # density rising linearly from 0 at 06:00 to 1 at 09:00: pdf ~ (t - t0), mean t0 + 2/3 span,
    # standard deviation span * sqrt(1/18)
    net = build(tmp_path)
    n = 3000
    d = generate_demand(demand_spec(total=n, profile=(("06:00", 0), ("09:00", 1))), PERIOD, net, tmp_path,
                        seed=11, replication=0)
    span = T9 - T6
    se = span * math.sqrt(1 / 18) / math.sqrt(n)
    assert abs(d.t_depart.mean() - (T6 + 2 / 3 * span)) < 4 * se
    # and the whole distribution: F(t) = ((t - t0) / span)^2
    ks = stats.kstest((d.t_depart - T6) / span, lambda x: np.clip(x, 0, 1) ** 2)
    assert ks.pvalue > 1e-3


def test_sample_profile_is_the_inverse_cdf():
    prof = ProfileSpec(points=[("06:00", 0), ("09:00", 1)])
    u = np.linspace(0, 1, 101)
    assert np.allclose(sample_profile(prof, u), T6 + (T9 - T6) * np.sqrt(u), atol=1e-6)
    flat = ProfileSpec(points=[("06:00", 2), ("09:00", 2)])
    assert np.allclose(sample_profile(flat, u), T6 + (T9 - T6) * u, atol=1e-6)


def test_piecewise_profile_follows_shape(tmp_path):
    # tent 06:00 (0) - 07:00 (1) - 09:00 (0): CDF 1/3 at 07:00; nothing before a zero-density stretch ends
    net = build(tmp_path)
    d = generate_demand(demand_spec(total=3000, profile=(("06:00", 0), ("07:00", 1), ("09:00", 0))), PERIOD, net,
                        tmp_path, seed=2, replication=0)
    frac = (d.t_depart < 7 * 3600).mean()
    assert abs(frac - 1 / 3) < 4 * math.sqrt(1 / 3 * 2 / 3 / 3000)
    d2 = generate_demand(demand_spec(total=1000, profile=(("06:00", 0), ("07:00", 0), ("09:00", 1))), PERIOD, net,
                         tmp_path, seed=2, replication=0)
    assert d2.t_depart.min() >= 7 * 3600


# --------------------------------------------------------------------------------------------------
# Demand: payment, OD pairs, seeds


def test_payment_shares(tmp_path):
    net = build(tmp_path)
    n = 3000
    d = generate_demand(demand_spec(total=n), PERIOD, net, tmp_path, seed=4, replication=0)
    assert d.media == ("qr", "ticket")
    share = (d.payment == d.media.index("ticket")).mean()
    assert abs(share - 0.2) < 4 * math.sqrt(0.2 * 0.8 / n)
    segs = [{"name": "all", "share": 1, "generator": {}, "profile": "p", "payment": {"qr": 1, "ticket": 0}}]
    d2 = generate_demand(demand_spec(total=500, segments=segs), PERIOD, net, tmp_path, seed=4, replication=0)
    assert (d2.payment == 0).all()  # a zero share is never drawn


def test_no_od_pair_across_disconnected_components(tmp_path):
    net = build(tmp_path, DISCONNECTED)
    si = net.station_index
    comp = np.asarray([0 if net.stations[i].id in "ABCDEF" else 1 for i in range(len(net.stations))])
    ok = routable_pairs(net)
    assert ok[si["A"], si["F"]] and ok[si["D"], si["F"]] and ok[si["G"], si["H"]]
    assert not ok[si["A"], si["H"]] and not ok[si["H"], si["A"]]
    d = generate_demand(demand_spec(total=3000), PERIOD, net, tmp_path, seed=8, replication=0)
    assert (comp[d.origin] == comp[d.destination]).all()
    assert (comp[d.origin] == 1).any()  # the small component gets trips too
    assert ok[d.origin, d.destination].all()


def test_od_table_across_components_is_a_user_error(tmp_path):
    net = build(tmp_path, DISCONNECTED)
    (tmp_path / "od.csv").write_text("origin,destination,weight\nA,D,1\nA,H,1\n", encoding="utf-8")
    segs = [{"name": "t", "share": 1, "od_table": "od.csv", "profile": "p", "payment": {"qr": 1}}]
    with pytest.raises(UserError) as info:
        generate_demand(demand_spec(total=100, segments=segs), PERIOD, net, tmp_path, seed=1, replication=0)
    [p] = info.value.problems
    assert p.file == str(tmp_path / "od.csv") and "'A' to 'H'" in p.message


def test_od_table_weights(tmp_path):
    net = build(tmp_path)
    (tmp_path / "od.csv").write_text("origin,destination,weight\nA,D,3\nF,B,1\nC,E,0\n", encoding="utf-8")
    segs = [{"name": "t", "share": 1, "od_table": "od.csv", "profile": "p", "payment": {"qr": 1}}]
    n = 2000
    d = generate_demand(demand_spec(total=n, segments=segs), PERIOD, net, tmp_path, seed=1, replication=0)
    pairs = {(net.stations[o].id, net.stations[t].id) for o, t in zip(d.origin, d.destination)}
    assert pairs == {("A", "D"), ("F", "B")}
    share = (d.origin == net.station_index["A"]).mean()
    assert abs(share - 0.75) < 4 * math.sqrt(0.75 * 0.25 / n)


def test_same_seed_same_demand_other_seed_other_demand(tmp_path):
    net = build(tmp_path)
    spec = demand_spec(total=1500)
    a = generate_demand(spec, PERIOD, net, tmp_path, seed=9, replication=2)
    b = generate_demand(spec, PERIOD, net, tmp_path, seed=9, replication=2)
    for f in ("origin", "destination", "t_depart", "segment", "payment"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    c = generate_demand(spec, PERIOD, net, tmp_path, seed=10, replication=2)
    r = generate_demand(spec, PERIOD, net, tmp_path, seed=9, replication=3)
    assert not np.array_equal(a.t_depart, c.t_depart)
    assert not np.array_equal(a.t_depart, r.t_depart)
    assert not np.array_equal(a.origin, c.origin)


def test_generator_selectors_and_min_km(tmp_path):
    net = build(tmp_path)
    gen = {"origins": {"stations": ["A", "B"], "weights": {"B": 0}}, "destinations": {"stations": ["C", "D", "F"]},
           "min_km": 5.0}
    segs = [{"name": "s", "share": 1, "generator": gen, "profile": "p", "payment": {"qr": 1}}]
    d = generate_demand(demand_spec(total=500, segments=segs), PERIOD, net, tmp_path, seed=1, replication=0)
    km = net.station_km_matrix()
    assert set(d.origin.tolist()) == {net.station_index["A"]}
    assert (km[d.origin, d.destination] >= 5.0).all()
    assert {net.stations[x].id for x in d.destination} <= {"C", "D", "F"}


# --------------------------------------------------------------------------------------------------
# Routing: expected waits


def test_mean_wait_regular_headway():
    h = 300.0
    deps = np.arange(0.0, 4 * 3600.0 + 1, h)
    out = mean_wait_s(deps, np.asarray([0.0, 3600.0, 7200.0]))
    assert np.allclose(out, [h / 2, h / 2])


def test_mean_wait_irregular_headways():
    deps = np.asarray([0.0, 100.0, 400.0, 600.0, 1200.0])
    gaps = np.diff(deps)
    span = 1200.0
    out = mean_wait_s(deps, np.asarray([0.0, span]))
    assert out[0] == pytest.approx((gaps**2).sum() / (2 * span))  # 500000 / 2400 = 208.33 s
    assert out[0] == pytest.approx(208.3333333)


def test_mean_wait_interval_not_aligned_with_departures():
    deps = np.asarray([0.0, 200.0, 1200.0])
    # arrivals uniform in [100, 700]: 100 s of them wait a mean of 50 s (100..200 -> 200), 500 s of them
    # a mean of 750 s (200..700 -> 1200): (100 * 50 + 500 * 750) / 600
    assert mean_wait_s(deps, np.asarray([100.0, 700.0]))[0] == pytest.approx((100 * 50 + 500 * 750) / 600)
    # regular headway: H / 2 whatever the phase of the interval
    assert mean_wait_s(np.arange(0.0, 3001, 600), np.asarray([300.0, 900.0]))[0] == pytest.approx(300.0)


def test_mean_wait_after_last_departure_runs_to_notional_train():
    deps = np.asarray([0.0, 600.0])
    # (600 s gap: 300 s mean) then 600..1200 waits until 1200 + 7200 = 8400
    expected = (600**2 / 2 + (7800**2 - 7200**2) / 2) / 1200
    assert mean_wait_s(deps, np.asarray([0.0, 1200.0]))[0] == pytest.approx(expected)


# --------------------------------------------------------------------------------------------------
# Routing on the Y-shaped line


@pytest.fixture
def y_routing(tmp_path):
    net = build(tmp_path)
    return net, routing(net)


def legs_of(net, rt, route):
    return [(net.stations[rt.legs.options[k].board].id, net.stations[rt.legs.options[k].alight].id) for k in route.legs]


def test_trunk_to_branch_terminus_transfers_once_at_junction(y_routing):
    net, rt = y_routing
    si = net.station_index
    routes = candidates(rt, si["D"], si["F"])
    assert routes, "no route from D to F"
    best = routes[0]
    assert legs_of(net, rt, best) == [("D", "C"), ("C", "F")]
    assert best.label == "L1>L1"
    assert si["C"] in rt.search.transfer_points
    # the two legs ride in opposite directions of the line (down to the junction, then up the branch)
    dirs = [net.platforms[rt.legs.options[k].platform].direction for k in best.legs]
    assert dirs == ["down", "up"]
    # every candidate that changes trains does so at the junction C
    for r in routes:
        assert all(b == "C" for (_, b) in legs_of(net, rt, r)[:-1])


def test_base_cost_by_hand(y_routing):
    # A -> C, medium qr: in-vehicle 2 runs of 2 km + one 30 s dwell = 112 + 30 + 112 = 254 s;
    # walk_weight 2 x (entry: security 5 + gates 2 + walk 60; exit: walk 60 + gates 2) = 258 s;
    # fare 3 CNY at 40 CNY/h = 270 s.  Single ticket: + 2 x 30 s ticket machine.
    net, rt = y_routing
    si = net.station_index
    [route] = candidates(rt, si["A"], si["C"])
    # D -> C -> F: + transfer penalty 300 + 2 x 60 s same-station walk; 7 km costs 4 CNY
    [route2] = [r for r in candidates(rt, si["D"], si["F"]) if len(r.legs) == 2][:1]
    base, wait = route_costs(rt, [route, route2])
    qr, ticket = rt.access.media.index("qr"), rt.access.media.index("ticket")
    assert base[0, qr] == pytest.approx(254 + 258 + 270)
    assert base[0, ticket] == pytest.approx(254 + 258 + 270 + 60)
    ivt = sum(rt.legs.options[k].ivt_s for k in route2.legs)
    assert base[1, qr] == pytest.approx(ivt + 2 * (67 + 62 + 60) + 300 + 4 * 90)
    # waits at the start of the period: the first leg's bin, then the bin in which the second is reached
    k1, k2 = route2.legs
    w1 = rt.legs.wait_bins[k1, 0]
    reach2 = T6 + (67 + 60) + w1 + rt.legs.options[k1].ivt_s + 60
    w2 = rt.legs.wait_bins[k2, int((reach2 - T6) // 900)]
    assert wait[1] == pytest.approx(rt.search.spec.wait_weight * (w1 + w2))


def test_common_lines_on_shared_section(y_routing):
    # A -> C: trunk and branch trains both stop; one leg option accepts both (departures merged)
    net, rt = y_routing
    si = net.station_index
    options = [lg for lg in build_leg_options(net) if lg.board == si["A"] and lg.alight == si["C"]]
    assert len(options) == 1
    deps = options[0].departures
    trunk = np.asarray(next(p for p in net.patterns if p.id == "L1.trunk.forward").departures)
    branch = np.asarray(next(p for p in net.patterns if p.id == "L1.branch.forward").departures)
    assert np.array_equal(deps, np.sort(np.concatenate([trunk, branch])))
    assert list(deps[:4] - T6) == [0.0, 120.0, 300.0, 420.0]
    # the expected wait uses the merged departures (gaps 2 and 3 min), not one pattern's 5 min
    k = next(i for i, lg in enumerate(rt.legs.options) if lg.board == si["A"] and lg.alight == si["C"])
    assert rt.legs.wait_bins[k][0] == pytest.approx((120**2 + 180**2) / (2 * 300))
    # A -> F is served only by the branch
    [only_branch] = [lg for lg in build_leg_options(net) if lg.board == si["A"] and lg.alight == si["F"]]
    assert np.array_equal(only_branch.departures, branch)


# --------------------------------------------------------------------------------------------------
# Logit shares between two parallel lines


PARALLEL = """\
schema_version: 1
name: parallel
media:
  qr: {name: QR}
operators:
  - id: OP
    name: Op
    fare: {kind: distance_bands, base_cny: 3, base_km: 6, bands: [{km_per_cny: 10}]}
    station_defaults:
      facilities:
        gates: {kind: gate, servers: 4, service: {dist: deterministic, mean_s: 2}}
      entry: [gates, {walk_s: 30}]
      exit: [{walk_s: 30}, gates]
stations:
  - {id: X, operator: OP, name_zh: X, name_en: X, lat: 31.0, lon: 121.0}
  - {id: Y, operator: OP, name_zh: Y, name_en: Y, lat: 31.0, lon: 121.05}
lines:
  - id: P
    operator: OP
    name: Fast
    branches: {main: [[X, 0], [Y, 5]]}
    speed_profile: {max_kmh: 80, accel_ms2: 1.0, decel_ms2: 1.0}
    run_s: {X>Y: 600}
    capacity: 1000
    patterns:
      - id: all
        stops: [X, Y]
        timetable:
          forward: {first: "06:00", last: "10:00", headways: [{from: "06:00", headway_s: 300}]}
  - id: Q
    operator: OP
    name: Slow
    branches: {main: [[X, 0], [Y, 5]]}
    speed_profile: {max_kmh: 80, accel_ms2: 1.0, decel_ms2: 1.0}
    run_s: {X>Y: RUN_Q}
    capacity: 1000
    patterns:
      - id: all
        stops: [X, Y]
        timetable:
          forward: {first: "06:00", last: "10:00", headways: [{from: "06:00", headway_s: 300}]}
"""


@pytest.mark.parametrize("run_q, theta_per_min", [(720, 0.3), (660, 0.6), (600, 0.3)])
def test_logit_shares_between_parallel_lines(tmp_path, run_q, theta_per_min):
    net = build(tmp_path, PARALLEL.replace("RUN_Q", str(run_q)))
    rt = routing(net, RoutingSpec(logit_scale_per_min=theta_per_min))
    si = net.station_index
    routes = candidates(rt, si["X"], si["Y"])
    assert sorted(r.label for r in routes) == ["P", "Q"]
    base, wait = route_costs(rt, routes)
    qr = rt.access.media.index("qr")
    cost = {r.label: base[i, qr] + wait[i] for i, r in enumerate(routes)}
    dc = run_q - 600.0
    assert np.allclose(cost["Q"] - cost["P"], dc)  # same waits, fares and walks: only the run time differs

    n = 4000
    origin = np.full(n, si["X"], dtype=np.int32)
    dest = np.full(n, si["Y"], dtype=np.int32)
    t = np.sort(rngmod.stream(1, 0, "test/t").uniform(T6, T9, n))
    asg = rt.assign(origin, dest, np.zeros(n, dtype=np.int16), ("qr",), t,
                        rngmod.stream(1, 0, "routing"))
    labels = np.asarray([asg.routes[i].label for i in asg.route_of])
    share_q = (labels == "Q").mean()
    p_q = 1 / (1 + math.exp(theta_per_min / 60 * dc))  # exp(-theta dc) / (1 + exp(-theta dc))
    assert abs(share_q - p_q) < 4 * math.sqrt(p_q * (1 - p_q) / n)


def test_assignment_is_reproducible(tmp_path):
    net = build(tmp_path, PARALLEL.replace("RUN_Q", "700"))
    rt = routing(net)
    n = 500
    args = (np.zeros(n, dtype=np.int32), np.ones(n, dtype=np.int32), np.zeros(n, dtype=np.int16), ("qr",),
            np.linspace(T6, T9, n))
    a = rt.assign(*args, rngmod.stream(3, 0, "routing"))
    b = rt.assign(*args, rngmod.stream(3, 0, "routing"))
    assert np.array_equal(a.route_of, b.route_of)
    assert [r.legs for r in a.routes] == [r.legs for r in b.routes]


def test_unroutable_pair_is_a_user_error(tmp_path):
    net = build(tmp_path, DISCONNECTED)
    rt = routing(net)
    si = net.station_index
    with pytest.raises(UserError) as info:
        rt.assign(np.asarray([si["A"]]), np.asarray([si["H"]]), np.zeros(1, dtype=np.int16),
                      ("qr", "ticket"), np.asarray([T6]), rngmod.stream(1, 0, "routing"))
    assert "no route from 'A' to 'H'" in str(info.value)


# --------------------------------------------------------------------------------------------------
# Interchange between two stations (B on L1, G on L2)

INTERCHANGE = DISCONNECTED + """\
interchanges:
  - id: b_g
    stations: [B, G]
    paths:
      - name: corridor
        steps: [{walk_s: 120}]
"""


def test_interchange_connects_the_lines(tmp_path):
    net = build(tmp_path, INTERCHANGE)
    rt = routing(net)
    si = net.station_index
    [best, *_] = candidates(rt, si["A"], si["H"])
    assert best.label == "L1>L2"
    assert (rt.legs.options[best.legs[0]].alight, rt.legs.options[best.legs[1]].board) == (si["B"], si["G"])
    ok = routable_pairs(net)
    assert ok[si["A"], si["H"]] and ok[si["H"], si["A"]]


@pytest.mark.parametrize("o, d", [("B", "H"), ("G", "A"), ("A", "G"), ("H", "B")])
def test_trip_starting_or_ending_at_an_interchange_station_is_routed(tmp_path, o, d):
    # the trip rides one line only and walks in the street between B and G at one end
    net = build(tmp_path, INTERCHANGE)
    rt = routing(net)
    si = net.station_index
    routes = candidates(rt, si[o], si[d])
    assert routes and len(routes[0].legs) == 1
    assert routable_pairs(net)[si[o], si[d]]


# --------------------------------------------------------------------------------------------------
# The same choices in a simulated run (small, in-process)


def _od_run(tmp_path: Path, rows: str, total: int = 300):
    import shutil

    import sim

    for name in ("toy_net.yaml", "toy_scn.yaml"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    (tmp_path / "od.csv").write_text("origin,destination,weight\n" + rows, encoding="utf-8")
    scn_path = tmp_path / "toy_scn.yaml"
    scn_path.write_text(scn_path.read_text(encoding="utf-8").replace("generator: {}", "od_table: od.csv"),
                        encoding="utf-8")
    return sim.run(sim.load_scenario(scn_path, {"demand.total": total}), seed=3)


def test_run_trunk_to_branch_changes_at_junction(tmp_path):
    res = _od_run(tmp_path, "D,F,1\n")
    trips, legs = res.trips, res.legs
    arrived = trips[trips["status"] == "arrived"]
    assert len(arrived) == 300
    assert set(arrived["route"].astype(str)) == {"L1>L1"}
    assert (arrived["n_transfers"] == 1).all()
    first = legs[legs["leg"] == 0]
    second = legs[legs["leg"] == 1]
    assert set(first["board_station"].astype(str)) == {"D"} and set(first["alight_station"].astype(str)) == {"C"}
    assert set(second["board_station"].astype(str)) == {"C"} and set(second["alight_station"].astype(str)) == {"F"}
    assert second["train_id"].astype(str).str.startswith("L1.branch.forward@").all()
    assert (arrived["transfer_s"] >= 60 - 1e-9).all()  # at least the same-station transfer walk


def test_run_common_lines_board_trunk_and_branch_trains(tmp_path):
    res = _od_run(tmp_path, "A,C,1\n")
    trains = set(res.legs["train_id"].astype(str).str.split("@").str[0])
    assert trains == {"L1.trunk.forward", "L1.branch.forward"}
    # commuters take the first train that comes: no wait longer than the 3-min largest gap
    # (plus queueing-free boarding: capacity is far above the demand)
    assert (res.trips["wait_s"] <= 180 + 1e-6).all()


def test_expected_wait_of_each_leg_is_taken_when_it_is_reached(tmp_path):
    # LA: A1 -> A2 takes 50 min; LB leaves B1 at 06:00, 06:20, 06:40, then every 2 min. A commuter
    # starting at 06:00 reaches LB at about 06:55: its expected wait is that of the 06:45-07:00 bin
    # (departures 06:46, 06:48, ..., 07:00: (60^2/2 + 7 x 120^2/2) / 900 = 58 s), not the 600 s of 06:00.
    import toynet as T

    net = T.boundary_network(policy={"security": "trust", "seamless_media": "all"},
                             a_timetable={"forward": T.headway("06:00", "10:00", 600)},
                             b_timetable={"forward": {"first": "06:00", "last": "10:00", "headways": [
                                 {"from": "06:00", "headway_s": 1200}, {"from": "06:40", "headway_s": 120}]}})
    net["lines"][0]["run_s"] = {"A1>A2": 3000}
    scn = T.write(tmp_path, net, T.scenario(10, ["A1"], ["B2"]))
    rt = routing(scn.network, t_end=T9)
    [route] = rt.search.candidates(scn.network.station_index["A1"], scn.network.station_index["B2"])
    costs = rt.costs([route])
    k1, k2 = route.legs
    at_b1 = T6 + 32 + rt.legs.wait_bins[k1, 0] + 3000 + 100  # entry, wait, ride, transfer walk
    assert 6 * 3600 + 50 * 60 < at_b1 < 7 * 3600
    assert rt.legs.expected_wait(np.asarray([k2]), np.asarray([at_b1]))[0] == pytest.approx(58.0)
    expected = RoutingSpec().wait_weight * (rt.legs.wait_bins[k1, 0] + 58.0)
    assert costs.expected_wait_cost(np.asarray([0]), np.asarray([rt.access.media.index("qr")]),
                                    np.asarray([T6]))[0] == pytest.approx(expected)


# a third line, of mode rail, beside P and Q: Q's block as rail line R
RAIL_R = (PARALLEL[PARALLEL.index("  - id: Q"):].replace("id: Q", "id: R")
          .replace("name: Slow", "name: Rail\n    route_type: 2").replace("RUN_Q", "RUN_R"))


def nested_shares(dc: dict[str, float], nest: dict[str, str], theta_per_s: float, mu: float) -> dict[str, float]:
    """The nested logit by hand: P(j) = P(j | n) P(n), P(j | n) = exp(-theta c_j / mu) / sum over n,
    P(n) = exp(mu I_n) / sum_m exp(mu I_m), I_n = ln sum_{k in n} exp(-theta c_k / mu)."""
    inclusive = {n: math.log(sum(math.exp(-theta_per_s * c / mu) for j, c in dc.items() if nest[j] == n))
                 for n in set(nest.values())}
    p_nest = {n: math.exp(mu * i) / sum(math.exp(mu * x) for x in inclusive.values()) for n, i in inclusive.items()}
    return {j: math.exp(-theta_per_s * c / mu - inclusive[nest[j]]) * p_nest[nest[j]] for j, c in dc.items()}


def test_nested_logit_probabilities_by_hand():
    from sim.choice import logit_probabilities

    theta = 0.3 / 60
    costs = np.asarray([[1000.0, 1120.0, 1060.0, np.inf]])
    nests = np.asarray([[1, 1, 2, -1]])
    for mu in (0.3, 0.6, 1.0):
        hand = nested_shares({"P": 0.0, "Q": 120.0, "R": 60.0}, {"P": "metro", "Q": "metro", "R": "rail"}, theta, mu)
        got = logit_probabilities(costs, theta, nests, mu)[0]
        np.testing.assert_allclose(got, [hand["P"], hand["Q"], hand["R"], 0.0], rtol=1e-12)
    mnl = np.exp(-theta * np.asarray([0.0, 120.0, 60.0]))
    np.testing.assert_allclose(logit_probabilities(costs, theta, nests, 1.0)[0, :3], mnl / mnl.sum(), rtol=1e-12)
    np.testing.assert_allclose(logit_probabilities(costs, theta)[0, :3], mnl / mnl.sum(), rtol=1e-12)


@pytest.mark.parametrize("mu", [0.4, 1.0])
def test_route_shares_nested_by_mode_equal_the_nested_logit(tmp_path, mu):
    # two metro lines P (600 s) and Q (720 s) and a rail line R (660 s) between X and Y, the same headways,
    # fares and walks: the rail route competes with the metro nest as a whole, the metro routes with each other
    net = build(tmp_path, PARALLEL.replace("RUN_Q", "720") + RAIL_R.replace("RUN_R", "660"))
    theta = 0.3
    rt = routing(net, RoutingSpec(logit_scale_per_min=theta, mode_nest_scale=mu))
    si = net.station_index
    routes = candidates(rt, si["X"], si["Y"])
    assert sorted(r.label for r in routes) == ["P", "Q", "R"]
    base, wait = route_costs(rt, routes)
    qr = rt.access.media.index("qr")
    cost = {r.label: base[i, qr] + wait[i] for i, r in enumerate(routes)}
    dc = {k: v - cost["P"] for k, v in cost.items()}
    assert dc == pytest.approx({"P": 0.0, "Q": 120.0, "R": 60.0})
    n = 20000
    t = np.sort(rngmod.stream(1, 0, "test/t").uniform(T6, T9, n))
    asg = rt.assign(np.full(n, si["X"], dtype=np.int32), np.full(n, si["Y"], dtype=np.int32),
                    np.zeros(n, dtype=np.int16), ("qr",), t, rngmod.stream(1, 0, "routing"))
    labels = np.asarray([asg.routes[i].label for i in asg.route_of])
    hand = nested_shares(dc, {"P": "metro", "Q": "metro", "R": "rail"}, theta / 60, mu)
    for j, p in hand.items():
        assert abs((labels == j).mean() - p) < 4 * math.sqrt(p * (1 - p) / n), (j, p)
    if mu < 1:  # the nest takes rail's share from the metro routes in proportion less than the MNL would
        mnl = nested_shares(dc, {"P": "metro", "Q": "metro", "R": "rail"}, theta / 60, 1.0)
        assert hand["R"] > mnl["R"]


def _waits_leg_by_leg(costs: RouteCosts, legs: LegNetwork, rows, medium, t, crowd) -> np.ndarray:
    """RouteCosts.expected_wait_cost computed leg position by leg position over all rows at once
    (the rule the compiled loop follows)."""
    total, crowding = np.zeros(len(rows)), np.zeros(len(rows))
    tau = t + costs.walk_before[rows, 0, medium]
    for j in range(costs.route_legs.shape[1]):
        has = costs.valid[rows, j]
        leg = np.where(has, costs.route_legs[rows, j], 0)
        b = legs.wait_bin(tau)
        w = legs.wait_bins[leg, b]
        if crowd is not None:
            w = w + crowd.extra_wait[leg, b]
            crowding += np.where(has, costs.leg_ivt[rows, j] * (crowd.ivt_factor[leg, b] - 1.0), 0.0)
        w = np.where(has, w, 0.0)
        total += w
        if j + 1 < costs.route_legs.shape[1]:
            tau = tau + w + costs.leg_ivt[rows, j] + costs.walk_before[rows, j + 1, medium]
    return RoutingSpec().wait_weight * total + crowding


@pytest.mark.parametrize("crowded", [False, True])
def test_expected_costs_equal_the_leg_by_leg_rule(crowded):
    # the routes of 60 OD pairs of the shipped baseline (changes between operators, walks between
    # stations), start times over and beyond the period, NaN and inf among them
    from sim.crowding import CrowdingField
    from sim.scenario import load_scenario

    net = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml").network
    rt = routing(net, t_end=T9)
    gen = np.random.default_rng(5)
    routes = [r for o, d in gen.integers(0, len(net.stations), (60, 2)).tolist() if o != d
              for r in rt.search.candidates(o, d)]
    costs = rt.costs(routes)
    assert costs.route_legs.shape[1] >= 3
    options = gen.integers(-1, len(routes), (400, 5))
    medium = gen.integers(0, len(rt.access.media), 400)
    t = gen.uniform(T6 - 3600, T9 + 3600, 400)
    t[:2] = [np.nan, np.inf]
    crowd = CrowdingField(gen.uniform(1.0, 1.6, rt.legs.wait_bins.shape),
                          gen.uniform(0.0, 300.0, rt.legs.wait_bins.shape)) if crowded else None
    got = costs.expected_costs(options, medium, t, crowd)
    row, col = np.nonzero(options >= 0)
    rows = options[row, col]
    want = np.full(options.shape, np.inf)
    want[row, col] = costs.base[rows, medium[row]] + _waits_leg_by_leg(costs, rt.legs, rows, medium[row], t[row], crowd)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(costs.expected_wait_cost(rows, medium[row], t[row], crowd),
                                  _waits_leg_by_leg(costs, rt.legs, rows, medium[row], t[row], crowd))


def test_logit_probabilities_of_a_row_with_nothing_available_are_zero_without_a_warning():
    import warnings

    from sim.choice import logit_probabilities
    costs = np.asarray([[np.inf, np.inf, np.inf], [30.0, np.inf, 90.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0 / 0
        p = logit_probabilities(costs, 0.01)
    assert p[0].tolist() == [0.0, 0.0, 0.0]
    e = np.exp(-0.01 * np.asarray([0.0, 60.0]))
    assert p[1].tolist() == [e[0] / e.sum(), 0.0, e[1] / e.sum()]
