"""Metro against national rail, by hand.

Mode choice: a metro line and a railway line join the same two places (each place has a metro station
and a railway station, a street walk apart), run by different operators with different fares, run
times, headways, station facilities and the railway's platform gates closing 5 min before each
departure. The generalised costs are computed by hand from the documented formula (sim/choice.py,
README "Writing a scenario"): in-vehicle time + wait_weight x expected wait + walk_weight x (walks +
mean service at the facilities passed) + fare / value of time, the railway's in-vehicle time counted
from the moment its platform gates close (sim/routing/legs.py). The model's costs must equal them,
the shares of the simulated trips must be their logit, and raising the rail fare or slowing the train
must lower the rail share by what the logit implies.

Security trust: riders changing from the railway to the metro, screened again by the metro or not
(`policy.security` of the rail-to-metro interchange): the difference in each rider's transfer time is
exactly what they spent at the metro's security lanes (service and queue), and nothing else changes
for them or for riders going the other way.

Every run is seeded; tolerances come from the sample size, never from reruns.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import toynet as T
from sim.api import run
from sim.choice import RouteCosts
from sim.fares import FareSystem
from sim.routing import Access, CandidateSearch, LegNetwork

# --------------------------------------------------------------------------------------------------
# Mode choice between a metro line (Am - Bm) and a railway line (Ar - Br)

WAIT_WEIGHT, WALK_WEIGHT, VOT_CNY_PER_H, THETA_PER_MIN = 1.5, 2.5, 36.0, 0.3
ROUTING = {"wait_weight": WAIT_WEIGHT, "walk_weight": WALK_WEIGHT, "value_of_time_cny_per_h": VOT_CNY_PER_H,
           "logit_scale_per_min": THETA_PER_MIN}
S_PER_CNY = 3600.0 / VOT_CNY_PER_H  # 100 s of in-vehicle time per CNY
METRO_KM, METRO_H, RAIL_H, CLOSES = 45.0, 300.0, 900.0, 300.0
STREET_A, STREET_B = 120.0, 150.0
BASE = {"rail_fare": 11.0, "rail_run_s": 1200.0, "metro_run_s": 3600.0}
N_CHOICE = 80_000


def choice_network(rail_fare: float, rail_run_s: float, metro_run_s: float) -> dict:
    """Metro operator M: gates of 2 s and a 60 s walk in and out, Shanghai Metro's distance fare.
    Railway operator R: security (5 s), ID gates (7.5 s) and 180 s in; 180 s and exit gates (3 s)
    out; platform gates closing 5 min before each departure; a fare by station pair; only its own
    ticket accepted (riders with a metro medium pay with it as the fallback). Facilities are
    deterministic with ample servers (no queues)."""
    metro = T.operator("M", facilities={"gates": T.gate(mean_s=2.0)}, entry=["gates", {"walk_s": 60}],
                       exit=[{"walk_s": 60}, "gates"])
    rail = T.operator("R", facilities={
        "security": {"kind": "security", "servers": 500, "service": {"dist": "deterministic", "mean_s": 5.0}},
        "id_gates": T.gate(mean_s=7.5), "exit_gates": T.gate(mean_s=3.0)},
        entry=["security", "id_gates", {"walk_s": 180}], exit=[{"walk_s": 180}, "exit_gates"])
    rail["station_defaults"]["boarding_closes_s"] = CLOSES
    rail["fare"] = {"kind": "od_table", "od_prices": [["Ar", "Br", rail_fare]]}
    rail["accepts"], rail["fallback_medium"] = ["rail_ticket"], "rail_ticket"
    stations = [T.station("Am", 120.60, "M"), T.station("Bm", 121.10, "M"),
                T.station("Ar", 120.6005, "R"), T.station("Br", 121.1005, "R")]
    ml = T.line("ML", [("Am", 0.0), ("Bm", METRO_KM)], {"forward": T.headway("05:30", "11:00", METRO_H)},
                run_s={"Am>Bm": metro_run_s}, operator="M", capacity=100000)
    rl = T.line("RL", [("Ar", 0.0), ("Br", 47.0)], {"forward": T.headway("05:30", "11:00", RAIL_H)},
                run_s={"Ar>Br": rail_run_s}, operator="R", capacity=100000)
    rl["route_type"] = 2  # rail
    # an interchange path runs platform to platform: the metro station's 60 s way out (in), the street,
    # and the railway station's 180 s way in (out); the street walk is what lies between
    streets = [{"id": k, "stations": pair, "bidirectional": True,
                "paths": [{"name": "street", "steps": [{"walk_s": 60 + w + 180}]}]}
               for k, pair, w in (("a", ["Am", "Ar"], STREET_A), ("b", ["Bm", "Br"], STREET_B))]
    net = T.network(stations, [ml, rl], operators=[metro, rail], interchanges=streets)
    net["media"]["rail_ticket"] = {"name": "Rail e-ticket"}
    return net


def choice_scenario(total: int = N_CHOICE) -> dict:
    # from the metro station at A to the metro station at B: the metro, or a street walk to the
    # railway station, the train, and a street walk to the metro station at B
    return T.scenario(total, ["Am"], ["Bm"], start="06:00", end="09:00", sim_end="12:00", routing=ROUTING)


def metro_fare() -> float:
    """3 CNY for the first 6 km, then 1 CNY per started 10 km."""
    return 3.0 + math.ceil((METRO_KM - 6.0) / 10.0)  # 45 km: 3 + 4 = 7 CNY


def hand_costs(rail_fare: float, rail_run_s: float, metro_run_s: float) -> dict[str, float]:
    """Generalised costs (s) of the two routes, from their parts. With one train every H on a regular
    timetable the random-incidence wait is H/2 in every 15-min bin (H divides 900 s)."""
    metro = (metro_run_s                                  # in-vehicle
             + WAIT_WEIGHT * METRO_H / 2                   # 150 s wait
             + WALK_WEIGHT * ((2 + 60) + (60 + 2))         # in: gates, walk; out: walk, gates
             + metro_fare() * S_PER_CNY)
    rail = (rail_run_s + CLOSES                           # the leg leaves when the platform gates close
            + WAIT_WEIGHT * RAIL_H / 2                     # 450 s wait (for the gates' closing)
            + WALK_WEIGHT * (STREET_A + (5 + 7.5 + 180) + (180 + 3) + STREET_B)
            + rail_fare * S_PER_CNY)
    return {"ML": metro, "RL": rail}


def rail_probability(costs: dict[str, float]) -> float:
    """Binary logit: exp(-theta c_R) / (exp(-theta c_R) + exp(-theta c_M))."""
    return 1.0 / (1.0 + math.exp(THETA_PER_MIN / 60.0 * (costs["RL"] - costs["ML"])))


def test_hand_costs_of_the_base_case():
    # metro 3600 + 1.5 x 150 + 2.5 x 124 + 7 x 100 = 4835; rail 1500 + 1.5 x 450 + 2.5 x 645.5 + 11 x 100
    # = 4888.75: the train is 53.75 s dearer, P(rail) = 1 / (1 + exp(0.005 x 53.75)) = 0.4332
    c = hand_costs(**BASE)
    assert c == {"ML": 4835.0, "RL": 4888.75}
    assert rail_probability(c) == pytest.approx(0.43321, abs=1e-5)


@pytest.mark.parametrize("change", [{}, {"rail_fare": 13.0}, {"rail_run_s": 1500.0}, {"metro_run_s": 3300.0}])
def test_the_model_prices_both_modes_by_the_documented_generalised_cost(tmp_path, change):
    params = {**BASE, **change}
    scn = T.write(tmp_path, choice_network(**params), choice_scenario())
    net, spec = scn.network, scn.model.routing
    legs, access = LegNetwork(net, 6 * 3600.0), Access(net)
    si = net.station_index
    routes = CandidateSearch(net, legs, access, spec).candidates(si["Am"], si["Bm"])
    assert sorted(r.label for r in routes) == ["ML", "RL"]
    costs = RouteCosts(legs, access, FareSystem(net, access.media), spec, routes)
    rows = np.arange(len(routes))
    expected = hand_costs(**params)
    for m in ("qr", "ticket"):  # a metro medium and the single ticket (neither station sells tickets)
        medium = np.full(len(routes), access.media.index(m))
        for start in 6 * 3600.0 + 900.0 * np.arange(12) + 450.0:  # the middle of every start bin
            model = costs.base[rows, medium] + costs.expected_wait_cost(rows, medium, np.full(len(routes), start))
            assert dict(zip((r.label for r in routes), model.tolist())) == pytest.approx(expected, abs=1e-9)


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    return run(T.write(tmp_path_factory.mktemp("base"), choice_network(**BASE), choice_scenario()))


def rail_riders(res) -> np.ndarray:
    trips = res.trips
    assert (trips["status"] == "arrived").all()
    return (trips["route"].astype(str) == "RL").to_numpy()


def test_mode_shares_are_the_logit_of_the_hand_computed_costs(base_run):
    trips = base_run.trips
    rail = rail_riders(base_run)
    p = rail_probability(hand_costs(**BASE))  # 0.4332
    assert abs(rail.mean() - p) < 4 * math.sqrt(p * (1 - p) / N_CHOICE)
    # the route is the mode: the train alone (walking in the street at both ends) or the metro alone
    modes = trips["modes"].astype(str).to_numpy()
    assert set(modes[rail]) == {"rail"} and set(modes[~rail]) == {"metro"}
    assert base_run.summary["mode_shares"] == {"metro": pytest.approx(1 - rail.mean()), "rail": pytest.approx(rail.mean())}
    # each pays its operator's fare: the railway's by station pair (with its fallback ticket), the metro's by distance
    fares = trips["fare_cny"].to_numpy()
    assert (fares[rail] == BASE["rail_fare"]).all() and (fares[~rail] == metro_fare()).all()


@pytest.mark.parametrize("change, expected_p", [
    ({"rail_fare": 13.0}, 0.21947),    # +2 CNY = +200 s: dc = 253.75 s, P(rail) = 1 / (1 + exp(1.26875))
    ({"rail_run_s": 1500.0}, 0.14570),  # +300 s on the train: dc = 353.75 s, P(rail) = 1 / (1 + exp(1.76875))
])
def test_a_dearer_or_slower_train_loses_the_share_the_logit_implies(tmp_path, base_run, change, expected_p):
    params = {**BASE, **change}
    p0, p1 = rail_probability(hand_costs(**BASE)), rail_probability(hand_costs(**params))
    assert p1 == pytest.approx(expected_p, abs=1e-5)
    res = run(T.write(tmp_path, choice_network(**params), choice_scenario()))
    before, after = rail_riders(base_run), rail_riders(res)
    drop = before.mean() - after.mean()
    assert abs(drop - (p0 - p1)) < 4 * math.sqrt((p0 * (1 - p0) + p1 * (1 - p1)) / N_CHOICE)
    assert res.summary["mode_shares"]["rail"] == pytest.approx(after.mean())
    # the same commuters with the same draws: nobody turns to the train because it got worse
    assert np.array_equal(res.trips["commuter_id"], base_run.trips["commuter_id"])
    assert not (after & ~before).any()


# --------------------------------------------------------------------------------------------------
# Security trust at a rail-to-metro interchange (railway station R2, metro station M1)

WALK_OUT_OF_RAIL, WALK_TO_METRO_PLATFORM = 180.0, 200.0
RAIL_EXIT_GATES, METRO_ENTRY_GATES, TICKET_MACHINE = 3.0, 2.0, 20.0


def trust_network(security: str) -> dict:
    """Railway RL R1 - R2 (trains every 10 min, gates closing 5 min before), metro ML M1 - M2 (every
    4 min), both ways. R2 -> M1 crosses the fare line: out of the railway's exit gates, a ticket for
    single-ticket holders, the metro's security check when re-screened (2 lanes, exponential 4 s: whole
    trainloads queue), the metro's entry gates. M1 -> R2 always passes the railway's screening. The metro
    screens its own entrants at M1 with the same lanes. Gates and machines: ample servers, deterministic."""
    metro = T.operator("M", facilities={
        "security": {"kind": "security", "servers": 2, "service": {"dist": "exponential", "mean_s": 4.0}},
        "entry_gates": T.gate(mean_s=METRO_ENTRY_GATES), "exit_gates": T.gate(),
        "ticket_machines": {"kind": "ticket_machine", "servers": 500,
                            "service": {"dist": "deterministic", "mean_s": TICKET_MACHINE}}},
        entry=["ticket_machines", "security", "entry_gates", {"walk_s": 90}], exit=[{"walk_s": 90}, "exit_gates"])
    rail = T.operator("R", facilities={
        "security": {"kind": "security", "servers": 4, "service": {"dist": "lognormal", "mean_s": 5.0, "cv": 0.8}},
        "entry_gates": T.gate(mean_s=7.5), "exit_gates": T.gate(mean_s=RAIL_EXIT_GATES)},
        entry=["security", "entry_gates", {"walk_s": 180}], exit=[{"walk_s": WALK_OUT_OF_RAIL}, "exit_gates"])
    rail["station_defaults"]["boarding_closes_s"] = 300
    rail["fare"] = {"kind": "od_table", "od_prices": [["R1", "R2", 20.0]]}
    rail["accepts"], rail["fallback_medium"] = ["rail_ticket"], "rail_ticket"
    stations = [T.station("R1", 120.60, "R"), T.station("R2", 121.00, "R"), T.station("M1", 121.0015, "M"),
                T.station("M2", 121.10, "M")]

    def both_ways(first: str, h: float) -> dict:
        return {"forward": T.headway(first, "11:00", h), "backward": T.headway(first, "11:00", h)}

    rl = T.line("RL", [("R1", 0.0), ("R2", 40.0)], both_ways("05:30", 600), run_s={"R1>R2": 1200, "R2>R1": 1200},
                operator="R", capacity=100000)
    rl["route_type"] = 2
    ml = T.line("ML", [("M1", 0.0), ("M2", 10.0)], both_ways("05:31", 240), run_s={"M1>M2": 900, "M2>M1": 900},
                operator="M", capacity=100000)
    interchanges = [
        {"id": "rail_to_metro", "stations": ["R2", "M1"], "bidirectional": False,
         "fare_line": {"walk_before_s": WALK_OUT_OF_RAIL, "walk_after_s": WALK_TO_METRO_PLATFORM,
                       "exit_gates": "from.exit_gates", "ticket_machines": "to.ticket_machines",
                       "security": "to.security", "entry_gates": "to.entry_gates"},
         "policy": {"security": security, "seamless_media": []}},
        {"id": "metro_to_rail", "stations": ["M1", "R2"], "bidirectional": False,
         "fare_line": {"walk_before_s": 90, "walk_after_s": 380, "exit_gates": "from.exit_gates",
                       "security": "to.security", "entry_gates": "to.entry_gates"},
         "policy": {"security": "rescreen", "seamless_media": []}}]
    net = T.network(stations, [ml, rl], operators=[metro, rail], interchanges=interchanges)
    net["media"]["rail_ticket"] = {"name": "Rail e-ticket"}
    return net


def trust_scenario() -> dict:
    scn = T.scenario(3000, ["R1"], ["M2"], start="06:00", end="09:00", sim_end="12:00",
                     payment={"qr": 0.8, "ticket": 0.2})
    seg = scn["demand"]["segments"][0]
    scn["demand"]["segments"] = [
        {**seg, "name": "rail_to_metro", "share": 0.5},
        {**seg, "name": "metro_to_rail", "share": 0.25,
         "generator": {"origins": {"stations": ["M2"]}, "destinations": {"stations": ["R1"]}}},
        {**seg, "name": "metro_entry", "share": 0.25,
         "generator": {"origins": {"stations": ["M1"]}, "destinations": {"stations": ["M2"]}}}]
    return scn


@pytest.fixture(scope="module")
def trust_runs(tmp_path_factory):
    return {policy: run(T.write(tmp_path_factory.mktemp(policy), trust_network(policy), trust_scenario()))
            for policy in ("rescreen", "trust")}


def visits(res, facility: str) -> pd.DataFrame:
    fac = res.facilities
    return fac[fac["facility_id"].astype(str) == facility].set_index("commuter_id")


def test_security_trust_from_rail_to_metro_removes_exactly_the_screening_and_its_queue(trust_runs):
    rescreen, trust = (trust_runs[k].trips.set_index("commuter_id") for k in ("rescreen", "trust"))
    assert (rescreen["status"] == "arrived").all() and (trust["status"] == "arrived").all()
    assert rescreen.index.equals(trust.index)
    segment = rescreen["segment"].astype(str)
    changers = rescreen.index[segment == "rail_to_metro"]
    assert (rescreen.loc[changers, "route"].astype(str) == "RL>ML").all()
    assert (trust.loc[changers, "route"].astype(str) == "RL>ML").all()
    assert (rescreen.loc[changers, "transfer_stations"].astype(str) == "R2~M1").all()

    # trusted: the transfer is its walks, gates and (single tickets) the ticket machine, nothing else
    expected = (WALK_OUT_OF_RAIL + RAIL_EXIT_GATES + METRO_ENTRY_GATES + WALK_TO_METRO_PLATFORM
                + np.where(trust.loc[changers, "payment"].astype(str) == "ticket", TICKET_MACHINE, 0.0))
    np.testing.assert_allclose(trust.loc[changers, "transfer_s"].to_numpy(), expected, rtol=0, atol=1e-9)  # 385 / 405 s

    # re-screened: each changer passes the metro's lanes once, whole trainloads queueing there
    screened = visits(trust_runs["rescreen"], "M1.security")
    assert changers.isin(screened.index).all() and not screened.index.duplicated().any()
    queue = (screened["t_start"] - screened["t_join"]).reindex(changers)
    service = (screened["t_end"] - screened["t_start"]).reindex(changers)
    assert (queue > 0).mean() > 0.5 and queue.mean() > 10.0
    diff = rescreen.loc[changers, "transfer_s"] - trust.loc[changers, "transfer_s"]
    np.testing.assert_allclose(diff.to_numpy(), (service + queue).to_numpy(), rtol=0, atol=1e-6)
    # and only that: the same lanes still screen the metro's own entrants, but no changer
    assert set(visits(trust_runs["trust"], "M1.security").index) == set(rescreen.index[segment == "metro_entry"])
    # later on the metro platform, never on an earlier train
    assert (rescreen.loc[changers, "travel_time_s"] >= trust.loc[changers, "travel_time_s"]).all()


def test_trust_into_the_metro_leaves_the_railways_own_screening_alone(trust_runs):
    rescreen, trust = (trust_runs[k].trips.set_index("commuter_id") for k in ("rescreen", "trust"))
    to_rail = rescreen.index[rescreen["segment"].astype(str) == "metro_to_rail"]
    assert (rescreen.loc[to_rail, "transfer_stations"].astype(str) == "M1~R2").all()
    pd.testing.assert_frame_equal(rescreen.loc[to_rail], trust.loc[to_rail], check_exact=True)
    screened = [visits(trust_runs[k], "R2.security") for k in ("rescreen", "trust")]
    assert set(screened[0].index) == set(to_rail)
    pd.testing.assert_frame_equal(screened[0], screened[1], check_exact=True)
