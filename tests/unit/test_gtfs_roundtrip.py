"""GTFS out and back in: a toy network (a Y-shaped line with an express, a second operator's line
with an interchange), a through-running service and the shipped Shanghai Line 11 export to feeds
that pass a GTFS validator (or the reference's essential checks) and import to the same stations,
patterns, run times and departures."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

import toynet as T
from gtfs_feed import check_feed
from sim.gtfs import export_feed, import_feed, write_network
from sim.scenario import load_network

pytestmark = pytest.mark.slow  # whole networks through the validator: make test-all

ROOT = Path(__file__).resolve().parents[2]


def toy() -> dict:
    """LA (operator OA): trunk A-B-C-D, branch C-E-F; all-stops A-D both ways, A-F forward, an express
    A-D skipping B. LB (operator OB): B1-B2, with an interchange D-B1 across a fare line."""
    net = T.boundary_network(fares=(T.OA_FARE, T.OB_FARE))
    net["stations"] = [T.station(s, 121.0 + 0.02 * k, "OA") for k, s in enumerate("ABCD")] + [
        {**T.station("E", 121.05, "OA"), "lat": 31.02}, {**T.station("F", 121.06, "OA"), "lat": 31.04, "name_zh": "己"},
        T.station("B1", 121.0602, "OB"), T.station("B2", 121.10, "OB")]
    la = net["lines"][0]
    la["branches"] = {"trunk": [["A", 0], ["B", 2.0], ["C", 4.0], ["D", 6.0]], "branch": [["C", 4.0], ["E", 6.5],
                                                                                          ["F", 9.0]]}
    la["run_s"], la["dwell_s_at"] = {"A>B": 150, "B>A": 160}, {"C": 45}
    la["patterns"] = [
        {"id": "trunk", "stops": ["A", "D"], "timetable": {"forward": T.headway("06:00", "07:00", 600),
                                                           "backward": {"departures": ["06:05", "25:10"]}}},
        {"id": "branch", "stops": ["A", "F"], "timetable": {"forward": T.headway("06:03", "06:40", 900)}},
        {"id": "express", "stops": ["A", "D"], "skip": ["B"], "timetable": {"forward": {"departures": ["06:30"]}}}]
    net["interchanges"][0]["stations"] = ["D", "B1"]
    return net


def trains(network) -> list[tuple]:
    """Every train as (stations, departures from each stop but the last, arrival at the last)."""
    out = []
    for p in network.patterns:
        for t0, e in zip(p.departures, p.entry_of()):
            stops = [network.stations[s].id for s in p.stops[e:]]
            out.append((tuple(stops), tuple(t0 + d for d in p.dep_offset[e:-1]), t0 + p.arr_offset[-1]))
    return sorted(out)


def round_trip(network, tmp_path: Path, **kw):
    feed = export_feed(network, tmp_path / "feed.zip")
    imported = import_feed(feed, **kw)
    write_network(imported, tmp_path / "back.yaml")
    return feed, imported, load_network(tmp_path / "back.yaml")[0]


def test_toy_network_round_trip(tmp_path):
    T.write(tmp_path, toy(), T.scenario(10, ["A"], ["B2"]))
    original = load_network(tmp_path / "net.yaml")[0]
    feed, imported, back = round_trip(original, tmp_path)
    check_feed(feed, tmp_path)
    assert [(s.id, s.name_en, s.name_zh, s.lat, s.lon) for s in back.stations] == \
        sorted((s.id, s.name_en, s.name_zh, s.lat, s.lon) for s in original.stations)
    assert trains(back) == trains(original)
    patterns = {(tuple(back.stations[s].id for s in p.stops), p.arr_offset, p.dep_offset, p.departures)
                for p in back.patterns}
    assert patterns == {(tuple(original.stations[s].id for s in p.stops), p.arr_offset, p.dep_offset, p.departures)
                        for p in original.patterns}
    l1 = next(ln for ln in imported["lines"] if ln["id"] == "LA")
    assert next(p for p in l1["patterns"] if p.get("skip")) ["skip"] == ["B"]
    assert {s: km for b in l1["branches"].values() for s, km in b} == {"A": 0, "B": 2, "C": 4, "D": 6, "E": 6.5, "F": 9}
    assert l1["dwell_s_at"] == {"C": 45}
    ic = imported["interchanges"]
    assert [(i["stations"], i["bidirectional"], i["paths"][0]["steps"]) for i in ic] == \
        [(["B1", "D"], True, [{"walk_s": 100}])]  # the quickest path: seamless, 60 + 40 s of walks
    assert "keep their first departure but not every" not in imported["description"]


def test_through_running_round_trip(tmp_path):
    net = T.boundary_network(fares=(T.OA_FARE, T.OB_FARE))
    la, lb = net["lines"]
    la["patterns"] = [{"id": "through", "stops": ["A1", "B2"], "runs_onto": ["LB"],
                       "timetable": {"forward": {"departures": ["06:30", "06:50"]}}}, la["patterns"][0]]
    net["track_links"] = [{"id": "ab_link", "between": ["A2", "B1"], "km": 0.02, "run_s": 60, "operator": "OB"}]
    T.write(tmp_path, net, T.scenario(10, ["A1"], ["B2"]))
    original = load_network(tmp_path / "net.yaml")[0]
    feed, imported, back = round_trip(original, tmp_path)
    check_feed(feed, tmp_path)
    with zipfile.ZipFile(feed) as z:
        transfers = pd.read_csv(z.open("transfers.txt"), dtype=str, keep_default_na=False)
    assert (transfers.transfer_type == "4").sum() == 2  # each through train: two trips linked in-seat
    assert trains(back) == trains(original)
    through = next(p for p in back.patterns if len(p.stops) == 4)
    assert [back.lines[back.platforms[k].line].id for k in through.platforms] == ["LA", "LA", "LB", "LB"]
    assert [(t["between"], t["run_s"], t["operator"]) for t in imported["track_links"]] == [(["A2", "B1"], 60, "OA")]


@pytest.mark.parametrize("network", ["shanghai_l11.yaml", "yrd_today.yaml"])
def test_shipped_network_exports_a_valid_feed_and_comes_back(tmp_path, network):
    original = load_network(ROOT / "networks" / network)[0]
    feed, imported, back = round_trip(original, tmp_path)
    check_feed(feed, tmp_path)
    assert {s.id: (s.name_en, s.name_zh, s.lat, s.lon) for s in back.stations} == \
        {s.id: (s.name_en, s.name_zh, s.lat, s.lon) for s in original.stations if any(
            s.index == pl.station for pl in original.platforms)}
    assert trains(back) == trains(original)  # trains entering service at depots: patterns from there
    km = {ln.id: ln.km for ln in original.lines}
    for ln in back.lines:
        here = {back.stations[s].id: k for s, k in ln.km.items()}
        there = {original.stations[s].id: k for s, k in km[ln.id].items()}
        assert {s: round(abs(k - here[min(here, key=here.get)]), 3) for s, k in here.items()} == \
            {s: round(abs(k - there[min(here, key=here.get)]), 3) for s, k in there.items()}


def test_a_city_metro_of_500_stations_and_10000_trips_imports(tmp_path):
    """The benchmark's generated city feed imports whole (its timing is in bench/gtfs_bench.py)."""
    from bench.gtfs_bench import city_feed

    net = import_feed(city_feed(tmp_path / "city.zip"))
    assert len(net["stations"]) == 500 and len(net["lines"]) == 20 and len(net["interchanges"]) == 100
    assert "10,000 trains" in net["description"]
