"""The Demonstration Zone Line (networks/demo_zone_line.yaml, networks/yrd_2028.yaml) and its scenario
(scenarios/demo_zone_line_2028.yaml): the files validate, the line is what the sources say (10 stations,
52.4 km), its suburban fares match hand computations on both sides of the 4 CNY minimum and of a
rounding threshold, and a small seeded run of the scenario carries corridor commuters on the new line,
on its timetable, with every commuter accounted for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.fares import operator_fares
from sim.scenario import load_network, load_scenario

ROOT = Path(__file__).resolve().parents[2]
LINE_FILE = ROOT / "networks" / "demo_zone_line.yaml"
NETWORK_FILE = ROOT / "networks" / "yrd_2028.yaml"
SCENARIO = ROOT / "scenarios" / "demo_zone_line_2028.yaml"
SMALL_TOTAL = 8000
NEW_SEGMENTS = ("dz_qingpu_corridor", "dz_demo_zone_to_shanghai", "dz_shanghai_to_demo_zone")


def run_cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run_sim.py"), *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def network():
    net, _ = load_network(NETWORK_FILE)
    return net


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("dz") / "run"
    done = run_cli("run", SCENARIO.relative_to(ROOT), "--out", out, "--set", f"demand.total={SMALL_TOTAL}",
                   "--no-plots", "--quiet")
    assert done.returncode == 0, done.stdout + done.stderr
    return {name: pd.read_parquet(out / f"{name}.parquet") for name in ("trips", "legs", "trains")}


def test_the_files_validate():
    done = run_cli("validate", SCENARIO.relative_to(ROOT), NETWORK_FILE.relative_to(ROOT), LINE_FILE.relative_to(ROOT))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("ok: ") == 3


def test_the_line_has_ten_stations_over_52_4_km(network):
    line = next(ln for ln in network.lines if ln.id == "DZ")
    (branch,) = line.branches
    ids = [network.stations[s].id for s in branch]
    assert len(ids) == 10 and len(set(ids)) == 10
    assert (ids[0], ids[-1]) == ("dz_hongqiao", "dz_water_town_living_room")
    km = [line.km[s] for s in branch]
    assert km[0] == 0.0 and km[-1] == pytest.approx(52.4)
    assert all(b > a for a, b in zip(km, km[1:]))
    assert {network.stations[s].operator for s in branch} == {network.operator_index["SHSR"]}


def test_suburban_fares_by_hand(network):
    fare = network.operators[network.operator_index["SHSR"]].fare
    # 0.45 CNY/km, at least 4 CNY, whole CNY with 0.5 and below rounded down:
    #   8 km -> 3.60 -> 4 (minimum); 8.9 km -> 4.005 -> 4; 10 km -> 4.50 -> 4 (0.5 rounds down);
    #   10.02 km -> 4.509 -> 5; 13.3 km -> 5.985 -> 6; 52.4 km (end to end) -> 23.58 -> 24
    km = np.array([8.0, 8.9, 10.0, 10.02, 13.3, 52.4])
    expected = [4.0, 4.0, 4.0, 5.0, 6.0, 24.0]
    for medium in ("sh_app_qr", "transport_card", "single_ticket", "sz_app_qr"):
        assert operator_fares(fare, km, medium).tolist() == expected, medium
    # the shortest hop is below the minimum: Hongqiao -> Panxiang Road 4.074 km -> 1.83 -> 4 CNY;
    # Qingpu Xincheng -> Hongqiao 24.651 km -> 11.09 -> 11 CNY
    assert operator_fares(fare, np.array([4.074, 24.651]), "sh_app_qr").tolist() == [4.0, 11.0]


def test_interchanges_with_line_17(network):
    by_id = {ic.id: ic for ic in network.interchanges}
    joined = {ic_id: tuple(network.stations[s].id for s in by_id[ic_id].stations)
              for ic_id in ("hongqiao", "qingpu_xincheng", "zhujiajiao", "xicen")}
    assert joined == {"hongqiao": ("dz_hongqiao", "sh_hongqiao_railway_station"),
                      "qingpu_xincheng": ("dz_qingpu_xincheng", "sh_qingpu_xincheng"),
                      "zhujiajiao": ("dz_zhujiajiao", "sh_zhujiajiao"),
                      "xicen": ("dz_xicen", "sh_xicen")}
    assert by_id["qingpu_xincheng"].security == "trust" and by_id["zhujiajiao"].security == "rescreen"
    assert by_id["huaqiao"].security == "trust"   # today's interchange is kept as it is


def test_the_restated_baseline_segments_match_the_baseline():
    def segments(path: Path) -> list:
        return yaml.safe_load(path.read_text(encoding="utf-8"))["demand"]["segments"]

    base, dz = segments(ROOT / "scenarios" / "baseline.yaml"), segments(SCENARIO)
    assert dz[:len(base)] == base
    assert [s["name"] for s in dz[len(base):]] == list(NEW_SEGMENTS)
    total = load_scenario(SCENARIO).model.demand.total
    assert total == round(1000 * sum(s["share"] for s in dz))   # shares are thousands of commuters


def test_small_run_carries_the_corridor_on_the_new_line(small_run):
    trips, legs = small_run["trips"], small_run["legs"]
    assert len(trips) == SMALL_TOTAL
    assert set(trips["status"]) <= {"arrived", "in_system"}
    assert trips["status"].eq("arrived").sum() + trips["status"].eq("in_system").sum() == SMALL_TOTAL
    corridor = trips[trips["group_demo_zone_corridor"]]
    assert set(corridor["segment"]) == set(NEW_SEGMENTS)
    assert len(corridor) == trips["segment"].isin(NEW_SEGMENTS).sum() > 200
    assert corridor["status"].eq("arrived").all()
    # the new line carries the corridor; riders between two of its stations that interchange with Line 17
    # (Hongqiao, Qingpu Xincheng, Zhujiajiao, Xicen) may walk across and ride Line 17 instead
    on_dz = corridor["route"].astype(str).str.contains("DZ")
    assert on_dz.mean() > 0.9
    others = corridor[~on_dz]
    with_l17 = {"dz_hongqiao", "dz_qingpu_xincheng", "dz_zhujiajiao", "dz_xicen"}
    assert (others["route"].astype(str) == "SH17").all()
    assert others["origin"].isin(with_l17).all() and others["destination"].isin(with_l17).all()
    dz_legs = legs[legs["line"] == "DZ"]
    assert set(dz_legs["operator"]) == {"SHSR"}
    assert (dz_legs["fare_cny"] >= 4.0).all()


def test_corridor_rides_keep_to_the_timetable(small_run, network):
    legs, trains = small_run["legs"], small_run["trains"]
    dz_legs = legs[legs["line"] == "DZ"]
    # Pattern offsets (s after the train leaves its first stop), as built from the network file.
    offsets = {}
    for p in network.patterns:
        if p.id.startswith("DZ."):
            for s, arr, dep in zip(p.stops, p.arr_offset, p.dep_offset):
                offsets[(p.id, network.stations[s].id)] = (arr, dep)
    service = dz_legs["train_id"].str.split("@").str[0]
    first_dep = pd.to_timedelta(dz_legs["train_id"].str.split("@").str[1]).dt.total_seconds()
    dep = [offsets[(sv, st)][1] for sv, st in zip(service, dz_legs["board_station"])]
    arr = [offsets[(sv, st)][0] for sv, st in zip(service, dz_legs["alight_station"])]
    # At this demand no dwell exceeds the scheduled 45 s, so every train runs exactly on time (a train
    # still running when the simulation ends has no departure, hence no delay, at its last call).
    delays = trains.loc[trains["line"] == "DZ", "delay_s"]
    assert delays.notna().sum() > 600 and (delays.dropna() == 0).all()
    np.testing.assert_array_equal(dz_legs["t_board"].to_numpy(), first_dep.to_numpy() + np.asarray(dep))
    np.testing.assert_array_equal(dz_legs["t_alight"].to_numpy(), first_dep.to_numpy() + np.asarray(arr))
    # Qingpu Xincheng -> Hongqiao takes 21 min 34 s (as stated in demo_zone_line.yaml): runs of 4.074,
    # 6.127, 4.971, 5.943 and 3.536 km at 160 km/h, 0.6 / 0.8 m/s2, margin 0.268, and four 45 s stops.
    qp = dz_legs[(dz_legs["board_station"] == "dz_qingpu_xincheng") & (dz_legs["alight_station"] == "dz_hongqiao")]
    assert len(qp) > 10
    assert ((qp["t_alight"] - qp["t_board"]) == 21 * 60 + 34).all()


def test_with_zones_the_line_wins_riders_from_line_17_the_car_the_bus_and_new_trips():
    """demo_zone_line_2028_zones against qingpu_zones_today at a tenth of their demand, scaled so that
    both draw the same 7,090 potential zone commuters: the same people, with the same random numbers,
    choose again once the line runs."""
    from sim.api import run

    today = run(load_scenario(ROOT / "scenarios" / "qingpu_zones_today.yaml", {"demand.total": 37590}))
    line = run(load_scenario(ROOT / "scenarios" / "demo_zone_line_2028_zones.yaml", {"demand.total": 37990}))
    a, b = today.tables.zone_trips, line.tables.zone_trips
    assert len(a) == len(b) == 7090
    assert (a["origin_zone"] == b["origin_zone"]).all() and np.array_equal(a["t_home"], b["t_home"])
    rail = b[b["mode"] == "rail"]
    routes = line.trips.set_index("commuter_id").loc[rail["commuter_id"], "route"].astype(str)
    on_line = rail.index[routes.str.contains("DZ").to_numpy()]
    before = a.loc[on_line, "mode"].astype(str)
    assert (before == "rail").sum() > 0  # from Line 17
    assert before.isin(["car", "bus"]).sum() > 0  # from the car and the bus
    assert (before == "no_trip").sum() > 0  # new trips
    assert today.summary["mode_choice"]["trips"] < line.summary["mode_choice"]["trips"]
    assert (b["mode"] == "rail").sum() > (a["mode"] == "rail").sum()
    assert line.summary["mode_choice"]["door_to_door_mean_s"]["rail"] < today.summary["mode_choice"]["door_to_door_mean_s"]["rail"]
