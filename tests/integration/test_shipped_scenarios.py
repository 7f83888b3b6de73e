"""Every shipped scenario runs (small), and each integration scenario switches what it says it
switches, with the effect on cross-border commuters going the way its mechanism implies."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sim.api import run
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p for p in (ROOT / "scenarios").glob("*.yaml")
                   if "scenario" not in yaml.safe_load(p.read_text(encoding="utf-8")))  # not the sweep files


@pytest.fixture(scope="module")
def results() -> dict:
    return {p.stem: run(load_scenario(p, {"demand.total": 4000})) for p in SCENARIOS}


def test_every_shipped_scenario_runs(results):
    assert {"baseline", "huaqiao_no_integration", "huaqiao_full_integration", "line11_coordinated_timetable",
            "real_time_information"} <= set(results)
    for name, res in results.items():
        warm_up = res.summary.get("warm_up", {"all_commuters": res.summary, "commuters_excluded": 0})  # none: all
        everyone = warm_up["all_commuters"]
        # less the commuters drawn between zones who chose the car or the bus, plus the returns of tours
        on_rail = 4000 - off_rail(res) + res.summary.get("tours", {}).get("tours", 0)
        assert everyone["commuters"] == on_rail, name
        assert everyone["arrived"] + everyone["in_system"] + everyone["left"] == on_rail, name
        assert res.summary["commuters"] + warm_up["commuters_excluded"] == on_rail, name
        assert res.summary["groups"]["cross_border"]["commuters"] > 0, name


def off_rail(res) -> int:
    z = res.tables.zone_trips
    return 0 if z is None else int((z["mode"] != "rail").sum())


def test_zone_commuters_choose_and_a_through_fare_wins_some_for_rail(results):
    before, after = (results[k].tables.zone_trips for k in ("cross_border_zones", "cross_border_zones_through_fare"))
    assert off_rail(results["cross_border_zones"]) > 0 and len(before) == len(after)
    # the same commuters with the same draws: a cheaper rail trip keeps every rail rider, and wins some
    assert ((before["mode"] == "rail").to_numpy() <= (after["mode"] == "rail").to_numpy()).all()
    assert (after["mode"] == "rail").sum() > (before["mode"] == "rail").sum()


def cross(res) -> dict:
    return res.summary["groups"]["cross_border"]


def huaqiao(res) -> dict:
    return cross(res)["interchanges"]["huaqiao"]


def test_baseline_is_today(results):
    p = results["baseline"].summary["policies"]
    assert p["interchanges"]["huaqiao"] == {"security": "trust", "seamless_media": ["sh_app_qr", "sz_app_qr"]}
    assert p["fare_integration"]["shm_szm"]["policy"] == "separate"
    assert p["coordination"]["huaqiao_to_shanghai"]["offset_s"] == 0.0


def test_no_integration_adds_gates_and_screening_to_every_transfer(results):
    base, none = results["baseline"], results["huaqiao_no_integration"]
    assert none.summary["policies"]["interchanges"]["huaqiao"] == {"security": "rescreen", "seamless_media": []}
    for medium, stats in huaqiao(none)["by_medium"].items():
        assert stats["transfer_mean_s"] > huaqiao(base)["by_medium"][medium]["transfer_mean_s"], medium
    assert cross(none)["travel_time_mean_s"] > cross(base)["travel_time_mean_s"]


def test_full_integration_makes_every_medium_seamless_and_charges_a_through_fare(results):
    base, full = results["baseline"], results["huaqiao_full_integration"]
    # every medium takes the seamless channel: 240 s of walking for the mean walker, no gate or check
    t = full.trips
    changed = t[t["group_cross_border"] & (t["n_transfers"] == 1) & (t["status"] == "arrived")]
    for medium, x in changed.groupby("payment")["transfer_s"]:
        assert abs(x.mean() - 240.0) < 4 * x.std(ddof=1) / len(x) ** 0.5 + 1e-9, medium
    assert cross(full)["fare_mean_cny"] < cross(base)["fare_mean_cny"]
    revenue = full.summary["fare_revenue_cny"]
    counted = full.trips[full.trips["t_depart"] >= full.summary["warm_up"]["until_s"]]
    assert sum(revenue.values()) == pytest.approx(counted["fare_cny"].sum(), abs=1e-6)


def test_coordinated_timetable_shifts_the_city_bound_trains(results):
    c = results["line11_coordinated_timetable"].summary["policies"]["coordination"]["huaqiao_to_shanghai"]
    assert c["mode"] == "coordinated" and c["method"] == "simulation"  # every whole minute below the 9-min headway
    assert [r["offset_s"] for r in c["candidates"]] == [60.0 * k for k in range(len(c["candidates"]))]
    assert c["offset_s"] == c["chosen_offset_s"] == min(c["candidates"], key=lambda r: r["objective_s"])["offset_s"]
    m = results["line11_coordinated_matched_headways"].summary["policies"]["coordination"]["huaqiao_to_shanghai"]
    assert m["offset_s"] == min(m["candidates"], key=lambda r: r["objective_s"])["offset_s"]
    # with matched headways one of the offsets aligns the transfer: its onward wait is below the baseline's
    base = huaqiao(results["baseline"])["by_direction"]["sz_huaqiao>sh_huaqiao"]["onward_wait_mean_s"]
    assert min(r["onward_wait_mean_s"] for r in m["candidates"]) < base


def test_through_running_carries_riders_across_huaqiao_without_a_change(results):
    base, thr = results["baseline"], results["line11_through_running"]
    trips = thr.trips[thr.trips["status"] == "arrived"]
    direct = trips[trips["route"].astype(str) == "SZ11+SH11"]
    assert len(direct) > 0 and (direct["n_transfers"] == 0).all()
    legs = thr.legs[thr.legs["commuter_id"].isin(direct["commuter_id"])]
    assert legs["train_id"].astype(str).str.startswith("SH11.through_kunshan").all()
    fares = thr.fares[thr.fares["commuter_id"].isin(direct["commuter_id"])]
    assert set(fares["operator"].astype(str)) == {"SZM", "SHM"}  # each operator charges its section
    paid = fares.groupby("commuter_id")["fare_cny"].sum()
    assert paid.to_numpy() == pytest.approx(direct.set_index("commuter_id").loc[paid.index, "fare_cny"].to_numpy())
    assert cross(thr)["transfer_mean_s"] < cross(base)["transfer_mean_s"]


def test_the_sh11_closure_puts_riders_off_and_makes_others_wait(results):
    res = results["sh11_disruption"]
    d = res.summary["disruptions"]
    assert d["closures"]["caoyang_fengqiao"]["trains_cut"] > 0
    assert d["put_off"] > 0 and d["waited"] > 0
    kind = res.trips["disruption"].astype(str)
    assert (kind == "put_off").sum() == d["put_off"]
    assert res.summary["travel_time_mean_s"] > results["baseline"].summary["travel_time_mean_s"]


def test_the_readme_variant_example_loads_and_does_what_it_says(tmp_path):
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(schema_version: 1\nextends: baseline.yaml .*?)```", text, re.S).group(1)
    path = tmp_path / "example.yaml"
    path.write_text(block.replace("extends: baseline.yaml", f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}"),
                    encoding="utf-8")
    scn = load_scenario(path)
    net = scn.network
    assert scn.model.demand.total == 200000
    assert {ic.id: ic.security for ic in net.interchanges} == {"huaqiao": "rescreen"}
    sz11 = [p for p in net.patterns if p.id.startswith("SZ11.")]
    assert {p.id for p in sz11} == {"SZ11.all_stops.forward", "SZ11.all_stops.backward", "SZ11.peak_extra.forward"}
    assert {p.capacity for p in sz11} == {2062}
    assert net.operators[net.operator_index["SZM"]].fare.base_cny == 3
