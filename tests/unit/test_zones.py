"""Zones files and zone segments: mistakes get a clear message; a zone with no way gets no mode."""

from __future__ import annotations

import pytest
import yaml

import toynet as T
from sim.api import check_scenario, run
from sim.errors import UserError
from sim.scenario import load_scenario

ZONES = [{"id": "home", "name": "Home", "lat": 31.0, "lon": 120.61, "population": 1000, "jobs": 0},
         {"id": "work", "name": "Work", "lat": 31.0, "lon": 120.705, "population": 0, "jobs": 1000},
         {"id": "far", "name": "Far away", "lat": 31.5, "lon": 121.5, "population": 500, "jobs": 0}]


def write_case(tmp_path, zones=None, segment_zones=None, demand_zones=True, total=500):
    stations = [T.station("A", 120.60), T.station("B", 120.70)]
    line = T.line("L", [("A", 0.0), ("B", 10.0)], {"forward": T.headway("05:30", "11:00", 300)}, run_s={"A>B": 900})
    scn = T.scenario(total, ["A"], ["B"], start="07:00", end="08:00", sim_end="10:00")
    seg = scn["demand"]["segments"][0]
    del seg["generator"]
    seg["zones"] = segment_zones or {"destinations": {"zones": ["work"]}}
    if demand_zones:
        scn["demand"]["zones"] = {"file": "zones.yaml"}
    T.write(tmp_path, T.network(stations, [line]), scn)
    (tmp_path / "zones.yaml").write_text(yaml.safe_dump({"zones": zones if zones is not None else ZONES}),
                                         encoding="utf-8")
    return tmp_path / "scn.yaml"


def problems_of(path) -> str:
    with pytest.raises(UserError) as err:
        check_scenario(load_scenario(path))
    return str(err.value)


def test_an_unknown_zone_is_named_with_its_field(tmp_path):
    text = problems_of(write_case(tmp_path, segment_zones={"origins": {"zones": ["hme"]}}))
    assert "demand.segments[0].zones.origins.zones[0]" in text and "hme" in text and "home" in text


def test_zone_ids_must_be_unique_and_the_zones_file_exist(tmp_path):
    text = problems_of(write_case(tmp_path / "twice", zones=ZONES + [ZONES[0]]))
    assert "zones.yaml" in text and "home given more than once" in text
    path = write_case(tmp_path / "gone")
    (tmp_path / "gone" / "zones.yaml").unlink()
    assert "zones.yaml" in problems_of(path) and "not found" in problems_of(path)


def test_a_zone_segment_needs_demand_zones(tmp_path):
    with pytest.raises(UserError) as err:
        load_scenario(write_case(tmp_path, demand_zones=False))
    assert "demand.zones" in str(err.value)


def test_a_population_or_jobs_figure_must_be_a_number(tmp_path):
    bad = [dict(ZONES[0], population="many")] + ZONES[1:]
    text = problems_of(write_case(tmp_path, zones=bad))
    assert "zones[0].population" in text


def test_commuters_from_a_zone_without_a_station_in_reach_or_a_road_mode_have_no_mode(tmp_path):
    res = run(load_scenario(write_case(tmp_path, segment_zones={"origins": {"zones": ["home", "far"]},
                                                                "destinations": {"zones": ["work"]}})))
    z = res.tables.zone_trips
    assert set(z.loc[z["origin_zone"] == "far", "mode"]) == {"none"}
    assert (z.loc[z["origin_zone"] == "far", "commuter_id"] == -1).all()
    assert set(z.loc[z["origin_zone"] == "home", "mode"]) == {"rail"}
    # the trips table holds the rail riders alone, each once
    assert sorted(z.loc[z["mode"] == "rail", "commuter_id"]) == sorted(res.trips["commuter_id"])
    far = 500 / 1500
    assert res.summary["mode_choice"]["mode_shares"]["none"] == pytest.approx(far, abs=0.08)


def test_weighting_by_a_figure_a_zone_lacks_is_refused(tmp_path):
    no_jobs = [ZONES[0], {k: v for k, v in ZONES[1].items() if k != "jobs"}, ZONES[2]]
    text = problems_of(write_case(tmp_path, zones=no_jobs))
    assert "zone 'work' has no jobs figure" in text and "by: equal" in text


def test_several_zones_files_and_a_variant_in_another_folder(tmp_path):
    path = write_case(tmp_path, segment_zones={"origins": {"zones": ["home"]}, "destinations": {"zones": ["work"]}})
    (tmp_path / "zones_a.yaml").write_text(yaml.safe_dump({"zones": [ZONES[0]]}), encoding="utf-8")
    (tmp_path / "zones_b.yaml").write_text(yaml.safe_dump({"zones": ZONES[1:]}), encoding="utf-8")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["demand"]["zones"]["file"] = ["zones_a.yaml", "zones_b.yaml"]
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    (tmp_path / "sub").mkdir()
    variant = tmp_path / "sub" / "variant.yaml"
    variant.write_text(yaml.safe_dump({"extends": "../scn.yaml", "name": "variant"}), encoding="utf-8")
    res = run(load_scenario(variant))  # the zones files' paths are the parent's, rebased
    assert set(res.tables.zone_trips["mode"]) == {"rail"}
    (tmp_path / "zones_b.yaml").write_text(yaml.safe_dump({"zones": ZONES}), encoding="utf-8")
    text = problems_of(path)
    assert "zone 'home' is given in" in text and "zones_a.yaml" in text and "zones_b.yaml" in text


def test_zone_groups_report_their_choices_and_unknown_zones_are_named(tmp_path):
    path = write_case(tmp_path, segment_zones={"origins": {"zones": ["home", "far"]}, "destinations": {"zones": ["work"]}})
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["demand"]["zones"]["groups"] = {"near": {"from": ["home"], "to": ["work"]}, "away": {"from": ["far"], "to": ["work"]}}
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    groups = run(load_scenario(path)).summary["mode_choice"]["groups"]
    assert groups["near"]["mode_shares"] == {"rail": 1.0} and groups["away"]["mode_shares"] == {"none": 1.0}
    doc["demand"]["zones"]["groups"] = {"near": {"from": ["hom"], "to": ["work"]}}
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert "demand.zones.groups.near.from[0]" in problems_of(path)


def test_the_scales_must_nest(tmp_path):
    path = write_case(tmp_path)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["demand"]["zones"].update({"theta_per_min": 0.2, "rail_nest_scale": 0.5})  # 0.4 per min > route choice's 0.3
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(UserError) as err:
        load_scenario(path)
    assert "must not exceed routing.logit_scale_per_min" in str(err.value)


def test_zones_without_a_zone_segment_change_nothing(tmp_path):
    path = write_case(tmp_path)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    seg = doc["demand"]["segments"][0]
    del seg["zones"]
    seg["generator"] = {"origins": {"stations": ["A"]}, "destinations": {"stations": ["B"]}}
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    res = run(load_scenario(path))
    assert res.tables.zone_trips is None and "mode_choice" not in res.summary and len(res.trips) == 500
