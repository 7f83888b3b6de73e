"""GTFS import against a small feed (tests/gtfs_feed.py): two agencies (a metro line and a frequency-based rail
line), a station shared by both with a platform transfer, an interchange walk, a trip past midnight,
calendar_dates exceptions, fares v1; the exact network and timetable that come out, a scenario run
on it (the feed directly, and a network file adding to it), and a UserError naming file, field and
line for each kind of broken feed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

import toynet as T
from gtfs_feed import FEED, write_feed
from sim.api import run
from sim.errors import UserError
from sim.gtfs import import_feed, network_yaml, write_network
from sim.scenario import load_network, load_scenario
from sim.units import format_time


@pytest.fixture(scope="module")
def net(tmp_path_factory) -> dict:
    return import_feed(write_feed(tmp_path_factory.mktemp("feed")))


def line(net: dict, lid: str) -> dict:
    return next(ln for ln in net["lines"] if ln["id"] == lid)


def built(net: dict, folder: Path):
    """The network of an imported dict, built through a YAML file as users load it."""
    write_network(net, folder / "n.yaml")
    return load_network(folder / "n.yaml")


def test_agencies_become_operators_and_parent_stations_group_their_platforms(net):
    assert [op["id"] for op in net["operators"]] == ["M", "R"]
    assert [s["id"] for s in net["stations"]] == ["A", "B", "C", "D", "X", "Y"]  # bus stop Z left out
    alpha = net["stations"][0]
    assert (alpha["name_en"], alpha["name_zh"], alpha["lat"], alpha["lon"]) == ("Alpha", "甲", 31.0, 121.0)
    ops = {s["id"]: s["operator"] for s in net["stations"]}
    assert ops == {"A": "M", "B": "M", "C": "R", "D": "M", "X": "R", "Y": "R"}  # C: 9 rail trains, 3 metro
    assert next(s for s in net["stations"] if s["id"] == "C")["transfer_walk_s"] == 120  # C1 <-> C2
    assert net["interchanges"] == [{"id": "D--X", "stations": ["D", "X"], "bidirectional": False,
                                    "paths": [{"name": "walk", "steps": [{"walk_s": 240}]}],
                                    "source": net["interchanges"][0]["source"]}]
    assert "routes left out (not rail; name them to import them): 1 bus" in net["description"]


def test_busiest_date_and_exact_departures_run_times_and_dwells(net, tmp_path):
    assert "service day 20250303 (the date with the most trips" in net["description"]
    m1 = line(net, "M1")
    assert (m1["name"], m1["color"], m1["capacity"]) == ("1 Line 1", "#FF0000", 1860)
    assert m1["branches"] == {"main": [["A", 0.0], ["B", 1.906], ["C", 3.812], ["D", 5.718]]}
    assert m1["run_s"] == {"A>B": 180, "B>C": 150, "C>B": 140, "C>D": 140, "D>C": 150}
    assert (m1["dwell_s"], m1["dwell_s_at"]) == (30, {"C": 40})
    [pattern] = m1["patterns"]
    assert pattern["stops"] == ["A", "D"]
    assert pattern["timetable"] == {"forward": {"departures": ["08:00:00", "24:30:00"]},
                                    "backward": {"departures": ["08:10:00"]}}
    network, _ = built(net, tmp_path)
    fwd = next(p for p in network.patterns if p.id == "M1.A-D.forward")
    assert fwd.arr_offset == (0, 180, 360, 540) and fwd.dep_offset == (0, 210, 400, 540)  # t1 exactly
    assert fwd.departures == (8 * 3600, 24.5 * 3600)  # past midnight: seconds beyond 86,400


def test_frequencies_become_headway_bands(net, tmp_path):
    r1 = line(net, "R1")
    assert r1["patterns"][0]["timetable"] == {"forward": {
        "first": "07:00:00", "last": "08:40:00",
        "headways": [{"from": "07:00:00", "headway_s": 600}, {"from": "08:00:00", "headway_s": 1200}]}}
    network, _ = built(net, tmp_path)
    r = next(p for p in network.patterns if p.line == network.line_index["R1"])
    assert r.departures == tuple(7 * 3600 + 600 * k for k in range(6)) + (8 * 3600, 8 * 3600 + 1200, 8 * 3600 + 2400)
    assert r.arr_offset == (0, 300, 720) and r.dep_offset == (0, 330, 720)
    assert (r1["speed_profile"]["max_kmh"], r1["capacity"]) == (160, 1500)  # rail defaults


def test_fares_flat_when_one_price_else_the_lowest_and_said_so(net):
    # fare_attributes transfers 0: every boarding pays; R's fares name zones its stops are not in
    fares = {op["id"]: op["fare"] for op in net["operators"]}
    flat = {"kind": "distance_bands", "max_transfers": 0, "currency": "CNY"}
    assert fares == {"M": {**flat, "base_cny": 3.0}, "R": {**flat, "base_cny": 5.0}}
    assert "Regional Rail: fares cannot be expressed (fares by zone" in net["description"]


def test_calendar_dates_exceptions_and_a_date_without_service(tmp_path):
    folder = write_feed(tmp_path / "feed")
    holiday = import_feed(folder, date="20250305")  # WK removed, HOL added
    [pattern] = line(holiday, "M1")["patterns"]
    assert pattern["timetable"] == {"forward": {"departures": ["10:00:00"]}}
    assert [ln["id"] for ln in holiday["lines"]] == ["M1"]
    with pytest.raises(UserError) as err:
        import_feed(folder, date="20250308")
    assert "calendar.txt" in err.value.problems[0].file and "no service on 20250308" in str(err.value)


def test_choosing_agencies_and_routes(tmp_path):
    folder = write_feed(tmp_path / "feed")
    rail = import_feed(folder, agencies=["Regional Rail"])
    assert [ln["id"] for ln in rail["lines"]] == ["R1"] and [op["id"] for op in rail["operators"]] == ["R"]
    bus = import_feed(folder, routes=["9"])  # a bus route when named
    assert line(bus, "B9")["capacity"] == 80
    with pytest.raises(UserError, match="--routes.*unknown route 77"):
        import_feed(folder, routes=["77"])


def test_yaml_round_trip_keeps_the_network(net, tmp_path):
    write_network(net, tmp_path / "net.yaml")
    text = (tmp_path / "net.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Network file imported from a GTFS feed")
    assert "# routes.txt line 2 (route_id M1, route_type 1: metro)" in text
    assert "ASSUMPTION" in text and "  - {id: A, operator: M, name_zh: 甲" in text
    loaded = yaml.safe_load(text)
    assert loaded["lines"] == [{k: v for k, v in ln.items() if k != "source"} for ln in net["lines"]]
    assert network_yaml(net) == text


def scenario(network: str, total: int = 60) -> dict:
    scn = T.scenario(total, ["A"], ["Y"], start="07:30", end="08:10", sim_end="10:00",
                     payment={"stored_value_card": 1.0})
    scn["network"] = network
    return scn


def test_a_scenario_runs_on_the_feed_directly(tmp_path):
    write_feed(tmp_path / "feed")
    (tmp_path / "scn.yaml").write_text(yaml.safe_dump(scenario("feed")), encoding="utf-8")
    res = run(load_scenario(tmp_path / "scn.yaml"), seed=3)
    arrived = res.trips[res.trips.status == "arrived"]
    assert len(res.trips) == 60 and len(arrived) > 0
    assert set(arrived.route) == {"M1>R1"} and (arrived.n_transfers == 1).all()
    legs = res.legs[res.legs.commuter_id.isin(arrived.commuter_id)]
    rail = legs[legs.line == "R1"]
    assert set(rail.board_station) <= {"C", "X"}  # changing at C, or walking from D to X
    assert any(str(p).endswith("stop_times.txt") for p in load_scenario(tmp_path / "scn.yaml").network_files)
    # what the import chose or could not keep is repeated in every run on the feed
    notes = [w for w in res.summary["warnings"] if "feed" in w]
    assert any("for service day 20250303" in w for w in notes) and any("routes left out" in w for w in notes)


def test_a_network_file_adds_to_a_feed_with_a_date(tmp_path):
    write_feed(tmp_path / "feeds" / "city")
    extra = {"schema_version": 1, "name": "city_plus",
             "gtfs": [{"feed": "feeds/city", "date": 20250304}],
             "operators": [T.operator("R")],  # the YAML operator replaces the feed's
             "interchanges": [{"id": "b_x", "stations": ["B", "X"], "paths": [{"name": "bridge",
                                                                                "steps": [{"walk_s": 90}]}]}]}
    (tmp_path / "net.yaml").write_text(yaml.safe_dump(extra), encoding="utf-8")
    network, loaded = load_network(tmp_path / "net.yaml")
    assert network.operators[network.operator_index["R"]].fare.base_cny == 3  # toynet's tariff, not the feed's
    assert (network.station_index["B"], network.station_index["X"]) in network.transfers
    assert set(network.media) == {"stored_value_card"}
    (tmp_path / "scn.yaml").write_text(yaml.safe_dump(scenario("net.yaml", total=20)), encoding="utf-8")
    res = run(load_scenario(tmp_path / "scn.yaml"), seed=1)
    assert (res.trips.status == "arrived").any()


def test_a_bad_date_in_a_network_file_is_placed_at_its_line(tmp_path):
    write_feed(tmp_path / "feed")
    (tmp_path / "net.yaml").write_text("schema_version: 1\ngtfs:\n  - {feed: feed, date: 20250308}\n", encoding="utf-8")
    with pytest.raises(UserError, match="no service on 20250308"):
        load_network(tmp_path / "net.yaml")
    (tmp_path / "net.yaml").write_text("schema_version: 1\ngtfs:\n  - {feed: nowhere.zip}\n", encoding="utf-8")
    with pytest.raises(UserError) as err:
        load_network(tmp_path / "net.yaml")
    p = err.value.problems[0]
    assert (p.path, p.line) == ("gtfs[0].feed", 3) and "not found" in p.message


# --- broken feeds ---------------------------------------------------------------------------------

BROKEN = [
    ({"stop_times": None}, "stop_times.txt", "", None, "required file is missing"),
    ({"stop_times": FEED["stop_times.txt"].replace("stop_id,", "stop,")}, "stop_times.txt", "stop_id", 1,
     "required column is missing"),
    ({"stop_times": FEED["stop_times.txt"].replace("t1,08:03:00,08:03:30,B,2", "t1,08:03:00,08:03:30,Q,2")},
     "stop_times.txt", "stop_id", 3, "unknown stop 'Q'"),
    ({"stop_times": FEED["stop_times.txt"].replace("t1,08:06:00,08:06:40,C1", "t1,08:01:00,08:01:40,C1")},
     "stop_times.txt", "arrival_time", 4, "stop_times out of order"),
    ({"stop_times": FEED["stop_times.txt"].replace("t2,08:12:30", "t2,8:12pm")}, "stop_times.txt", "arrival_time", 7,
     "bad time '8:12pm'"),
    ({"stop_times": FEED["stop_times.txt"].replace("t1,08:03:00,08:03:30,B,2", "t1,08:03:00,08:03:30,B,1")},
     "stop_times.txt", "stop_sequence", None, "stop_sequence repeated"),
    ({"trips": FEED["trips.txt"].replace("M1,WK,t2", "M7,WK,t2")}, "trips.txt", "route_id", 3, "unknown route 'M7'"),
    ({"calendar": FEED["calendar.txt"].replace("20250303,", "2025-3-3,")}, "calendar.txt", "start_date", 2,
     "bad date"),
    ({"stops": FEED["stops.txt"].replace("A1,Alpha,31.000,121.000,0,A", "A1,Alpha,31.000,121.000,0,AA")},
     "stops.txt", "parent_station", 3, "unknown parent station 'AA'"),
    ({"routes": FEED["routes.txt"] + "M2,M,2,Two,1,,extra\n"}, "routes.txt", "", 5, "not valid CSV"),
    ({"routes": FEED["routes.txt"] + "M2,M,2,Two,,\n"}, "routes.txt", "route_type", 5, "expected a whole number"),
]


@pytest.mark.parametrize("changes,file,field,line,message", BROKEN,
                         ids=[b[-1].split("'")[0].strip() for b in BROKEN])
def test_a_broken_feed_names_the_file_field_and_line(tmp_path, changes, file, field, line, message):
    folder = write_feed(tmp_path / "feed", **changes)
    with pytest.raises(UserError) as err:
        import_feed(folder)
    p = err.value.problems[0]
    assert p.file == f"{folder}/{file}" and p.path == field and message in p.message, str(err.value)
    if line is not None:
        assert p.line == line, str(err.value)
    assert not list(tmp_path.glob("*.yaml"))


# --- in-seat continuations, interpolated times, fares v2 --------------------------------------------


def test_a_block_continuing_onto_another_route_becomes_through_running(tmp_path):
    trips = FEED["trips.txt"].replace("direction_id\n", "direction_id,block_id\n").replace("t1,0\n", "t1,0,blk\n")
    trips += "R2,WK,r2,0,blk\nR2,WK,r3,0,\n"
    tables = {**FEED, "routes.txt": FEED["routes.txt"] + "R2,R,R2,Branch,2,\n", "trips.txt": trips,
              "stop_times.txt": FEED["stop_times.txt"] + "r2,08:09:00,08:10:00,D,1\nr2,08:16:00,08:16:00,Z,2\n"
              "r3,09:00:00,09:00:00,D,1\nr3,09:06:00,09:06:00,Z,2\n"}
    net = import_feed(write_feed(tmp_path / "feed", tables))
    m1 = line(net, "M1")
    through = next(p for p in m1["patterns"] if p.get("runs_onto"))
    assert through["runs_onto"] == ["R2"] and through["stops"] == ["A", "B", "C", "D", "Z"]
    assert through["timetable"] == {"forward": {"departures": ["08:00:00"]}}
    assert m1["dwell_s_at"] == {"C": 40, "D": 60}  # arrives on t1 at 08:09, leaves on r2 at 08:10
    assert line(net, "R2")["run_s"] == {"D>Z": 360}
    network, _ = built(net, tmp_path)
    p = next(p for p in network.patterns if p.id.startswith("M1.") and len(p.stops) == 5)
    assert p.dep_offset == (0, 210, 400, 600, 960)
    assert [network.lines[network.platforms[k].line].id for k in p.platforms] == ["M1"] * 4 + ["R2"]
    assert net["track_links"] == []  # the same station: no link needed


def test_times_missing_between_timepoints_are_interpolated_by_distance(tmp_path):
    st = FEED["stop_times.txt"].replace("t1,08:03:00,08:03:30,B,2", "t1,,,B,2")
    net = import_feed(write_feed(tmp_path / "feed", stop_times=st, calendar_dates=None), date="20250303")
    # B lies half way (by distance) between A (08:00:00) and C (08:06:00): 08:03:00, no dwell
    network, _ = built(net, tmp_path)
    fwd = next(p for p in network.patterns if p.id.startswith("M1.") and p.direction == "up"
               and 8 * 3600 in p.departures)
    # t1 at B: 08:03:00, half way from leaving A (08:00:00) to reaching C (08:06:00), no dwell
    assert fwd.dep_offset[1] == 180 and fwd.arr_offset[1] == 180
    # t1 is timed unlike the line's other trains: a pattern with times of its own keeps it to the second
    assert "2 of 12 trains are not timed by their line's run times and dwells: written as 2 patterns" in net["description"]


def test_fares_v2_with_prices_per_medium(tmp_path):
    v2 = {"fare_media.txt": "fare_media_id,fare_media_name,fare_media_type\ncard,Transit card,2\npaper,Ticket,1\n",
          "fare_products.txt": "fare_product_id,fare_media_id,amount,currency\nride,card,2.70,CNY\nride,paper,3.00,CNY\n",
          "fare_leg_rules.txt": "leg_group_id,network_id,fare_product_id\nall,,ride\n"}
    net = import_feed(write_feed(tmp_path / "feed", {**FEED, **v2}))
    assert net["media"] == {"card": {"name": "Transit card", "needs_ticket": False},
                            "paper": {"name": "Ticket", "needs_ticket": True}}
    fares = {op["id"]: op["fare"] for op in net["operators"]}
    assert fares["M"] == {"kind": "distance_bands", "base_cny": 2.7, "media_factor": {"paper": 1.1111}, "currency": "CNY",
                          "max_transfers": 0}  # no transfer or leg join rules: each ride a fare leg


def test_an_express_route_on_the_local_platforms_is_a_pattern_of_its_line(tmp_path):
    # M1 stops at A, B, C, D; express route E1 runs A-C-D and A-B-D from the same platforms. On its own, E1's
    # trips cross (A-C, C-D, A-B, B-D form a loop); with M1's trains they fit one line, whose platforms both
    # routes' trains serve
    tables = {**FEED, "routes.txt": FEED["routes.txt"] + "E1,M,E,Express,1,\n",
              "trips.txt": FEED["trips.txt"] + "E1,WK,e1,0\nE1,WK,e2,0\n",
              "stop_times.txt": FEED["stop_times.txt"] + "e1,08:20:00,08:20:00,A1,1\ne1,08:24:00,08:24:30,C1,2\n"
              "e1,08:27:00,08:27:00,D,3\ne2,08:40:00,08:40:00,A1,1\ne2,08:42:30,08:43:00,B,2\n"
              "e2,08:47:00,08:47:00,D,3\n"}
    net = import_feed(write_feed(tmp_path / "feed", tables), date="20250303")
    assert not [ln for ln in net["lines"] if ln["id"].startswith("E1")]
    m1 = line(net, "M1")
    assert [s for s, _ in m1["branches"]["main"]] == ["A", "B", "C", "D"]
    assert sorted(tuple(p.get("skip", [])) for p in m1["patterns"]) == [(), ("B",), ("C",)]
    assert "routes M1, E1 share platforms: one line M1" in net["description"]
    built(net, tmp_path)


def both_engines_on_feed(tmp_path: Path, total: int, start: str, end: str, sim_end: str) -> list:
    """The results of the bulk and the reference engine on a scenario from A to D on the feed written
    to tmp_path/feed (its stored-value card as the medium)."""
    scn = T.scenario(total, ["A"], ["D"], start=start, end=end, sim_end=sim_end, payment={"stored_value_card": 1.0})
    scn["network"] = "feed"
    (tmp_path / "scn.yaml").write_text(yaml.safe_dump(scn), encoding="utf-8")
    return [run(load_scenario(tmp_path / "scn.yaml"), engine=e) for e in ("bulk", "reference")]


def test_a_rider_who_misses_one_routes_train_takes_the_next_of_another_at_the_same_platform(tmp_path):
    # L (all stops A1-B-C1-D) leaves A at 07:00 and 08:00; X, another route of the same agency, at 07:20 and
    # 07:40 from the same platforms. Riders leaving home 06:50-07:00 for D plan on L's 07:00 train; those who
    # reach the platform after it left take X's 07:20 train, not L's at 08:00, in both engines
    routes = """route_id,agency_id,route_short_name,route_long_name,route_type
L,M,L,Local,1
X,M,X,Extra,1
"""
    trips = "route_id,service_id,trip_id,direction_id\nL,WK,l1,0\nL,WK,l2,0\nX,WK,x1,0\nX,WK,x2,0\n"
    times = ["trip_id,arrival_time,departure_time,stop_id,stop_sequence"]
    for tid, h, m in (("l1", 7, 0), ("l2", 8, 0), ("x1", 7, 20), ("x2", 7, 40)):
        for k, stop in enumerate(("A1", "B", "C1", "D")):
            t = f"{h:02d}:{m + 3 * k:02d}:00"
            times.append(f"{tid},{t},{t},{stop},{k + 1}")
    tables = {**FEED, "routes.txt": routes, "trips.txt": trips, "stop_times.txt": "\n".join(times) + "\n",
              "frequencies.txt": None, "fare_attributes.txt": None, "fare_rules.txt": None, "transfers.txt": None}
    write_feed(tmp_path / "feed", {k: v for k, v in tables.items() if v is not None})
    runs = both_engines_on_feed(tmp_path, 300, "06:50", "07:00", "09:30")
    for res in runs:
        late = res.legs["t_platform"] > 7 * 3600
        assert late.sum() > 20 and (res.legs.loc[late, "t_board"] == 7 * 3600 + 20 * 60).all()
        assert (res.legs.loc[~late, "t_board"] == 7 * 3600).all() and (res.trips["status"] == "arrived").all()
    assert runs[0].trips.equals(runs[1].trips)


def test_time_zone_route_names_types_and_translations_survive_export_and_import(tmp_path):
    import csv
    import io
    import zipfile

    from sim.gtfs import export_feed

    agencies = FEED["agency.txt"].replace("Asia/Shanghai", "America/Los_Angeles")
    imported = import_feed(write_feed(tmp_path / "feed", agency=agencies))
    assert {op["timezone"] for op in imported["operators"]} == {"America/Los_Angeles"}
    assert (line(imported, "M1")["short_name"], line(imported, "M1")["route_type"]) == ("1", 1)
    assert (line(imported, "R1")["short_name"], line(imported, "R1")["route_type"]) == ("R", 2)
    feed = export_feed(built(imported, tmp_path)[0], tmp_path / "out.zip")

    def table(name: str) -> list[dict]:
        with zipfile.ZipFile(feed) as z:
            return list(csv.DictReader(io.StringIO(z.read(name).decode("utf-8"))))

    assert {r["agency_timezone"] for r in table("agency.txt")} == {"America/Los_Angeles"}
    routes = {r["route_id"]: r for r in table("routes.txt")}
    assert (routes["M1"]["route_short_name"], routes["M1"]["route_type"]) == ("1", "1")
    assert (routes["R1"]["route_short_name"], routes["R1"]["route_type"]) == ("R", "2")
    # only Alpha has a Chinese name (甲); the others were given in English alone: no translation of theirs
    assert [(r["record_id"], r["translation"]) for r in table("translations.txt")] == [("A", "甲")]
    again = import_feed(feed)
    assert {op["timezone"] for op in again["operators"]} == {"America/Los_Angeles"}
    assert {ln["short_name"] for ln in again["lines"]} == {"1", "R"}


def test_a_time_zone_that_is_no_name_is_refused_at_its_line(tmp_path):
    bad = FEED["agency.txt"].replace("R,Regional Rail,https://www.example.com/r,Asia/Shanghai",
                                     "R,Regional Rail,https://www.example.com/r,not a zone")
    with pytest.raises(UserError) as err:
        import_feed(write_feed(tmp_path / "feed", agency=bad))
    assert "agency.txt" in str(err.value) and "agency_timezone" in str(err.value) and ":3" in str(err.value)


def test_list_prints_the_ids_a_scenario_uses_and_writes_nothing(tmp_path, capsys, monkeypatch):
    from sim.cli import main

    feed = write_feed(tmp_path / "feed")
    monkeypatch.chdir(tmp_path)
    assert main(["import-gtfs", str(feed), "--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("operators") and "  M: City Metro, Asia/Shanghai" in out
    assert "  M1: 1, 1 Line 1, M, 2" in out and "  R1: R, R Regional, R, 1" in out
    assert "  A: Alpha, 甲" in out and "  B: Beta" in out
    assert sorted(p.name for p in tmp_path.rglob("*.yaml")) == []


def test_the_description_counts_the_routes_that_run(tmp_path):
    # a third rail route, R2, runs on holidays only: on the weekday chosen, M1 and R1 run (the bus B9 is left out)
    routes = FEED["routes.txt"] + "R2,R,R2,Holiday rail,2,\n"
    trips = FEED["trips.txt"] + "R2,HOL,h1,0\n"
    stop_times = FEED["stop_times.txt"] + "h1,09:00:00,09:00:00,C2,1\nh1,09:05:00,09:05:00,X,2\n"
    imported = import_feed(write_feed(tmp_path / "feed", routes=routes, trips=trips, stop_times=stop_times))
    assert "2 routes" in imported["description"]


def test_twenty_trains_of_twelve_timing_profiles_keep_every_call_to_the_second(tmp_path):
    # one route A1-B-C1-D, 20 trips 07:00-08:35 every 5 min, cycling through 12 timing profiles (run times of
    # 150-260 s and dwells of 20-60 s): in timetable mode trains.parquet has every call at the feed's time, in
    # both engines
    runs, dwells = [150, 170, 190, 210, 230, 260], [20, 40, 60]
    profiles = [(runs[k % 6], runs[(k + 2) % 6], runs[(k + 4) % 6], dwells[(k // 6) % 3], dwells[(k // 2) % 3])
                for k in range(12)]
    assert len(set(profiles)) == 12
    lines = ["trip_id,arrival_time,departure_time,stop_id,stop_sequence"]
    expected = {}
    for n in range(20):
        r1, r2, r3, w1, w2 = profiles[n % 12]
        t0 = 7 * 3600 + 300 * n
        calls = [(t0, t0), (t0 + r1, t0 + r1 + w1), (t0 + r1 + w1 + r2, t0 + r1 + w1 + r2 + w2),
                 (t0 + r1 + w1 + r2 + w2 + r3,) * 2]
        for k, (stop, (a, d)) in enumerate(zip(("A1", "B", "C1", "D"), calls)):
            lines.append(f"m{n:02d},{format_time(a)},{format_time(d)},{stop},{k + 1}")
        expected[t0] = calls
    tables = {**FEED, "routes.txt": "route_id,agency_id,route_short_name,route_long_name,route_type\nM1,M,1,Line 1,1\n",
              "trips.txt": "route_id,service_id,trip_id,direction_id\n" + "".join(f"M1,WK,m{n:02d},0\n" for n in range(20)),
              "stop_times.txt": "\n".join(lines) + "\n"}
    for name in ("frequencies.txt", "fare_attributes.txt", "fare_rules.txt", "transfers.txt", "calendar_dates.txt"):
        tables.pop(name)
    write_feed(tmp_path / "feed", tables)
    results = both_engines_on_feed(tmp_path, 100, "07:00", "08:30", "10:00")
    for res in results:
        tr = res.trains.sort_values(["t_depart"])
        first = tr[tr["station"].astype(str) == "A"].groupby("train_id", observed=True)["t_depart"].min()
        assert sorted(first) == sorted(expected)
        for train_id, t0 in first.items():
            calls = tr[tr["train_id"] == train_id].sort_values("seq")
            got = list(zip(calls["t_arrive"].fillna(t0), calls["t_depart"].fillna(calls["t_arrive"])))
            assert [(float(a), float(d)) for a, d in got] == [tuple(map(float, c)) for c in expected[t0]], train_id
    pd.testing.assert_frame_equal(results[0].trains, results[1].trains)
