"""Stations table and GeoJSON of a run against hand counts: an express that skips a station loads
both sections it runs over; coordinates are [lon, lat]; only trains in the window count."""

from __future__ import annotations

import json

import pytest

import toynet as T
from sim.api import run
from sim.geo import lines_geojson, section_loads, stations_geojson, stations_table

H = 3600.0


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("geo")
    stops = [("A", 0.0), ("B", 3.0), ("C", 6.0)]
    line = T.line("L", stops, {}, capacity=100, patterns=[
        {"id": "all", "stops": ["A", "C"], "timetable": {"forward": {"departures": ["06:30", "07:30"]}}},
        {"id": "express", "stops": ["A", "C"], "skip": ["B"], "timetable": {"forward": {"departures": ["06:40"]}}}])
    net = T.network([T.station("A", 121.0), T.station("B", 121.03), T.station("C", 121.06)], [line])
    scn = T.scenario(60, ["A"], ["C"], start="06:00", end="06:20", sim_end="09:00")
    return run(T.write(tmp, net, scn))


def test_stations_table(result):
    st = stations_table(result.scenario.network)
    assert list(st.columns) == ["station", "name_zh", "name_en", "operator", "lines", "lat", "lon"]
    assert list(st["station"]) == ["A", "B", "C"] and set(st["lines"]) == {"L"}
    assert st.loc[1, "lon"] == pytest.approx(121.03)


def test_an_express_loads_every_section_it_runs_over(result):
    trains = result.trains
    # everybody A -> C boards the first train (06:30, all stops); the express at 06:40 runs empty
    sec = section_loads(result.scenario.network, trains, (6 * H, 7 * H)).set_index(["from_station", "to_station"])
    assert sorted(sec.index) == [("A", "B"), ("B", "C")]
    assert (sec["trains"] == 2).all()  # the all-stops train and the express, on both sections
    assert (sec["max_load"] == 60).all() and (sec["mean_load"] == 30).all()
    assert sec["max_load_factor"].tolist() == [0.6, 0.6]
    assert sec["passengers_per_hour"].tolist() == [60.0, 60.0]
    later = section_loads(result.scenario.network, trains, (7 * H, 8 * H))
    assert (later["max_load"] == 0).all() and (later["trains"] == 1).all()


def test_geojson_is_valid_and_has_the_loads(result):
    net = result.scenario.network
    lines = json.loads(json.dumps(lines_geojson(net, result.trains, (6 * H, 7 * H))))
    assert lines["type"] == "FeatureCollection" and len(lines["features"]) == 2
    ab = next(f for f in lines["features"] if f["properties"]["from_station"] == "A")
    assert ab["geometry"] == {"type": "LineString", "coordinates": [[121.0, T.station("A", 121.0)["lat"]],
                                                                     [121.03, T.station("B", 121.03)["lat"]]]}
    assert ab["properties"]["max_load"] == 60 and ab["properties"]["window"] == "06:00-07:00"
    points = stations_geojson(net, result.trains, (6 * H, 7 * H))["features"]
    a = next(f for f in points if f["properties"]["station"] == "A")
    c = next(f for f in points if f["properties"]["station"] == "C")
    assert a["geometry"]["coordinates"][0] == 121.0
    assert (a["properties"]["boarded"], c["properties"]["alighted"]) == (60, 60)  # the terminal call counts too
