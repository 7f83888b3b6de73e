"""Mode and station choice of commuters drawn between zones, by hand.

A home zone lies between two stations of different lines, A1 (line L1) and A2 (line L2), both to a
station B beside the work zone. Walking to a station takes the straight-line km (haversine) times
the detour factor at the walking speed; a station pair's rail cost is that walk times the walk
weight, the route's generalised cost (in-vehicle time + wait weight x half the headway + walk
weight x the station's ways in and out + fare over the value of time: sim/choice.py), and the walk
from B. The car's cost is its ride, its walk and its money over the value of time. The nested logit
(sim/choice.py logit_probabilities) then gives the split between the stations (scale theta / mu
within the rail nest) and between rail and car (theta between nests). The shares the model draws
must be these, within the sampling error of the seeded draw, and raising the rail fare must move
commuters to the car by what the logit implies.

The stations' ways in and out are inside the route's cost; the walk from the zone ends at the
entrance: a station within walking distance costs its street walk once (no interchange walk on
top), which the split between A1 and A2 shows.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

import toynet as T
from sim.api import prepare, run

R_KM = 6371.0088
WALK_KMH, DETOUR, WALK_WEIGHT, WAIT_WEIGHT, VOT = 4.8, 1.3, 2.0, 2.0, 40.0
THETA_PER_S, MU = 0.1 / 60.0, 0.5
ENTRY_S, EXIT_S = 60.0, 45.0
L1_RUN, L1_H, L2_RUN, L2_H = 900.0, 300.0, 700.0, 450.0
CAR = {"speed_kmh": 30.0, "per_km_cny": 0.6, "fixed_cny": 20.0, "walk_s": 300.0, "available_share": 0.5}
N = 40_000
HOME, WORK = 120.61, 120.705  # longitudes at latitude 31


def km(lon_a: float, lon_b: float, lat: float = 31.0) -> float:
    """Haversine km between two points on one parallel."""
    phi, dl = math.radians(lat), math.radians(lon_b - lon_a)
    return 2 * R_KM * math.asin(math.sqrt(math.cos(phi) ** 2 * math.sin(dl / 2) ** 2))


def walk_s(a: float, b: float) -> float:
    return km(a, b) * DETOUR / WALK_KMH * 3600.0


def fare(km_ridden: float, base: float) -> float:
    """The toy operator's fare: base for 6 km, 1 more per started 10 km."""
    return base + math.ceil(max(0.0, km_ridden - 6.0) / 10.0)


def case(tmp_path, base_fare: float = 3.0, car: bool = True, total: int = N, access: dict | None = None,
         trip_making: dict | None = None):
    op = T.operator("OP", facilities={}, entry=[{"walk_s": ENTRY_S}], exit=[{"walk_s": EXIT_S}])
    op["fare"]["base_cny"] = base_fare
    stations = [T.station("A1", 120.60), T.station("A2", 120.625), T.station("B", 120.70)]
    l1 = T.line("L1", [("A1", 0.0), ("B", 10.0)], {"forward": T.headway("05:30", "11:00", L1_H)},
                run_s={"A1>B": L1_RUN}, capacity=100000)
    l2 = T.line("L2", [("A2", 0.0), ("B", 8.0)], {"forward": T.headway("05:30", "11:00", L2_H)},
                run_s={"A2>B": L2_RUN}, capacity=100000)
    scn = T.scenario(total, ["A1"], ["B"], start="07:00", end="08:00", sim_end="11:00",
                     routing={"wait_weight": WAIT_WEIGHT, "walk_weight": WALK_WEIGHT, "value_of_time_cny_per_h": VOT})
    seg = scn["demand"]["segments"][0]
    del seg["generator"]
    seg["zones"] = {"origins": {"zones": ["home"]}, "destinations": {"zones": ["work"]}}
    scn["demand"]["zones"] = {
        "file": "zones.yaml", "theta_per_min": THETA_PER_S * 60, "rail_nest_scale": MU,
        "access": access or {"walk": {"speed_kmh": WALK_KMH, "detour_factor": DETOUR, "max_km": 2.0}, "bike": None,
                             "feeder_bus": None, "stations_per_zone": 2},
        **({"car": CAR} if car else {}), **({"trip_making": trip_making} if trip_making else {})}
    sc = T.write(tmp_path, T.network(stations, [l1, l2], operators=[op]), scn)
    zones = [{"id": "home", "name": "Home", "lat": 31.0, "lon": HOME, "population": 1000, "jobs": 0},
             {"id": "work", "name": "Work", "lat": 31.0, "lon": WORK, "population": 0, "jobs": 1000}]
    (tmp_path / "zones.yaml").write_text(yaml.safe_dump({"zones": zones}), encoding="utf-8")
    return sc


def hand(base_fare: float = 3.0) -> dict[str, float]:
    """Generalised costs (s) of the two station pairs and of the car."""
    egress = WALK_WEIGHT * walk_s(120.70, WORK)
    inside = WALK_WEIGHT * (ENTRY_S + EXIT_S)
    money = 3600.0 / VOT
    a1 = WALK_WEIGHT * walk_s(HOME, 120.60) + L1_RUN + WAIT_WEIGHT * L1_H / 2 + inside + fare(10, base_fare) * money + egress
    a2 = WALK_WEIGHT * walk_s(HOME, 120.625) + L2_RUN + WAIT_WEIGHT * L2_H / 2 + inside + fare(8, base_fare) * money + egress
    road_km = km(HOME, WORK) * 1.3  # the car's default detour factor
    car = road_km / CAR["speed_kmh"] * 3600 + WALK_WEIGHT * CAR["walk_s"] + (CAR["fixed_cny"] + CAR["per_km_cny"] * road_km) * money
    return {"A1": a1, "A2": a2, "car": car}


def shares_by_hand(c: dict[str, float]) -> tuple[float, float]:
    """P(A1 | rail) = 1 / (1 + exp(-theta/mu (c_A2 - c_A1))); P(car | a car) = e_car / (e_car + S^mu)
    with S = sum over the pairs of exp(-theta c / mu) (sim.choice.logit_probabilities)."""
    p_a1 = 1.0 / (1.0 + math.exp(-THETA_PER_S / MU * (c["A2"] - c["A1"])))
    log_s = math.log(math.exp(-THETA_PER_S / MU * c["A1"]) + math.exp(-THETA_PER_S / MU * c["A2"]))
    p_car = 1.0 / (1.0 + math.exp(MU * log_s + THETA_PER_S * c["car"]))
    return p_a1, p_car


def drawn(sc) -> tuple[float, float, float]:
    """The model's shares: A1 among rail riders, car among all, and the car-owning share."""
    prep = prepare(sc)
    m = prep.modes
    rail = m.mode == 0
    a1 = int(sc.network.station_index["A1"])
    p_a1 = float((prep.demand.origin[m.commuter[rail]] == a1).mean())
    return p_a1, float((m.mode == 1).mean()), float(rail.mean())


def test_hand_costs():
    c = hand()
    # walks of 0.953 km and 1.430 km to A1 and A2 (929.3 s and 1393.9 s), 0.477 km from B (464.6 s)
    assert walk_s(HOME, 120.60) == pytest.approx(929.30, abs=0.01)
    assert c["A1"] == pytest.approx(1858.60 + 900 + 300 + 210 + 360 + 929.30, abs=0.05)
    assert c["A2"] == pytest.approx(2787.90 + 700 + 450 + 210 + 360 + 929.30, abs=0.05)
    p_a1, p_car = shares_by_hand(c)
    assert p_a1 == pytest.approx(0.9494, abs=1e-4)
    assert p_car == pytest.approx(0.5391, abs=1e-4)


def test_a_zone_between_two_lines_splits_between_their_stations_as_the_costs_imply(tmp_path):
    p_a1, p_car = shares_by_hand(hand())
    got_a1, got_car, _ = drawn(case(tmp_path / "rail_only", car=False))
    tol = 4 * math.sqrt(p_a1 * (1 - p_a1) / N)
    assert abs(got_a1 - p_a1) < tol, (got_a1, p_a1)
    assert got_car == 0.0
    # with the car offered to half the commuters, rail's split between the stations stays
    got_a1, got_car, _ = drawn(case(tmp_path / "car", car=True))
    share = 0.5 * p_car
    assert abs(got_a1 - p_a1) < 4 * math.sqrt(p_a1 * (1 - p_a1) / (N * (1 - share)))
    assert abs(got_car - share) < 4 * math.sqrt(share * (1 - share) / N), (got_car, share)


def test_a_dearer_rail_fare_moves_commuters_to_the_car_by_what_the_logit_implies(tmp_path):
    _, p_car = shares_by_hand(hand(3.0))
    _, p_car_dear = shares_by_hand(hand(5.0))
    # 2 CNY more = 180 s more on every pair, so on the rail nest's logsum: P(car) = 1 / (1 + exp(-0.1568
    # - 180 / 600)) = 0.6122 against 0.5391
    assert p_car_dear - p_car == pytest.approx(0.0731, abs=1e-4)
    _, car, _ = drawn(case(tmp_path / "cheap", 3.0))
    _, car_dear, _ = drawn(case(tmp_path / "dear", 5.0))
    # one uniform number per commuter in both runs: the difference has the error of the movers alone
    moved = 0.5 * (p_car_dear - p_car)
    assert abs((car_dear - car) - moved) < 4 * math.sqrt(moved * (1 - moved) / N), (car_dear - car, moved)


def test_the_trip_door_to_door_is_the_walk_to_the_station_the_simulated_trip_and_the_walk_from_it(tmp_path):
    res = run(case(tmp_path, total=2_000))
    z = res.tables.zone_trips
    rail = z[z["mode"] == "rail"]
    trips = res.trips.set_index("commuter_id").loc[rail["commuter_id"]]
    a1 = (trips["origin"] == "A1").to_numpy()
    assert np.allclose(rail["access_s"].to_numpy()[a1], walk_s(HOME, 120.60))
    assert np.allclose(rail["access_s"].to_numpy()[~a1], walk_s(HOME, 120.625))
    assert np.allclose(rail["egress_s"], walk_s(120.70, WORK))
    # the trip starts at the station entrance when the walk from home ends
    assert np.allclose(trips["t_depart"].to_numpy(), rail["t_home"].to_numpy() + rail["access_s"].to_numpy())
    assert np.allclose(rail["door_to_door_s"].to_numpy(),
                       rail["access_s"].to_numpy() + trips["travel_time_s"].to_numpy() + rail["egress_s"].to_numpy())
    car = z[z["mode"] == "car"]
    assert np.allclose(car["door_to_door_s"], km(HOME, WORK) * 1.3 / 30 * 3600 + 300)
    mc = res.summary["mode_choice"]
    assert mc["commuters"] == 2_000
    assert mc["mode_shares"]["rail"] + mc["mode_shares"]["car"] == pytest.approx(1.0)
    assert set(mc["rail_access_shares"]) == {"walk"}


def test_the_ways_to_a_station_split_by_the_logit_of_route_choice(tmp_path):
    """Walking or cycling to A1 (the only station kept): the route-choice logit (0.3 per min) between
    their costs; the station's cost is their logsum."""
    bike = {"speed_kmh": 12.0, "detour_factor": DETOUR, "max_km": 5.0, "wait_s": 120.0, "fare_cny": 1.5}
    access = {"walk": {"speed_kmh": WALK_KMH, "detour_factor": DETOUR, "max_km": 2.0}, "bike": bike,
              "feeder_bus": None, "stations_per_zone": 1}
    walk_cost = WALK_WEIGHT * walk_s(HOME, 120.60)
    ride = km(HOME, 120.60) * DETOUR / 12.0 * 3600
    bike_cost = WALK_WEIGHT * ride + WAIT_WEIGHT * 120.0 + 1.5 * 3600.0 / VOT
    p_walk = 1.0 / (1.0 + math.exp(0.3 / 60 * (walk_cost - bike_cost)))
    assert p_walk == pytest.approx(0.0241, abs=1e-4)  # 1,858.6 s on foot against 1,118.4 s by bicycle
    res = run(case(tmp_path, car=False, total=4_000, access=access))
    z = res.tables.zone_trips
    ways = z["access_mode"].value_counts()
    assert ways.sum() == 4_000
    assert abs(ways.get("walk", 0) / 4_000 - p_walk) < 4 * math.sqrt(p_walk * (1 - p_walk) / 4_000)
    assert np.allclose(z.loc[z["access_mode"] == "bike", "access_s"], ride + 120.0)


TRIP_MAKING = {"threshold_min": 80.0, "theta_per_min": 0.05}


def travel_share_by_hand(base_fare: float) -> float:
    """Rail alone: the composite cost S = -(mu / theta) ln(sum over the pairs of exp(-theta c / mu)),
    and P(travel) = 1 / (1 + exp(theta_t (S - threshold))) (Sheffi 1985, ch. 6)."""
    c = hand(base_fare)
    s = -MU / THETA_PER_S * math.log(math.exp(-THETA_PER_S / MU * c["A1"]) + math.exp(-THETA_PER_S / MU * c["A2"]))
    return 1.0 / (1.0 + math.exp(TRIP_MAKING["theta_per_min"] * (s / 60.0 - TRIP_MAKING["threshold_min"])))


def test_trips_made_follow_the_composite_cost_and_fall_with_a_dearer_fare_as_the_logit_implies(tmp_path):
    p, p_dear = travel_share_by_hand(3.0), travel_share_by_hand(5.0)
    # S = 75.70 min at 3 CNY, 2 CNY (180 s) more at 5 CNY
    assert p == pytest.approx(0.5535, abs=1e-4) and p_dear == pytest.approx(0.5162, abs=1e-4)
    got = {}
    for fare_cny in (3.0, 5.0):
        prep = prepare(case(tmp_path / f"f{fare_cny:g}", fare_cny, car=False, trip_making=TRIP_MAKING))
        mode = prep.modes.mode
        got[fare_cny] = float((mode == 0).mean())
        assert set(np.unique(mode).tolist()) == {0, 3}  # rail or no trip
        assert prep.demand.size == int((mode == 0).sum())  # only those travelling are simulated
    assert abs(got[3.0] - p) < 4 * math.sqrt(p * (1 - p) / N), (got[3.0], p)
    # one uniform number per commuter for travelling in both runs: the difference is the movers' alone
    moved = p - p_dear
    assert abs((got[3.0] - got[5.0]) - moved) < 4 * math.sqrt(moved * (1 - moved) / N), (got[3.0] - got[5.0], moved)
