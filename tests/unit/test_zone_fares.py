"""Zone fares, OD fare tables, transfer windows and currencies: imported from GTFS Fares v1 and
written by hand, every fare as the rules say."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import toynet as T
from gtfs_feed import check_feed
from sim.api import run
from sim.errors import UserError
from sim.gtfs import import_feed
from sim.scenario import load_scenario

# One line A-B-C-D-E (2 km apart) in three zones: A, B in z1; C in z2; D, E in z3. Fare classes:
#   f_in   2.00  within one zone
#   f_near 3.00  between neighbouring zones
#   f_far  5.00  z1 <-> z3 entering z1, z2 and z3
#   f_skip 1.00  z1 -> z3 entering only z1 and z3 (never: every ride from z1 to z3 passes z2)
#   f_out  2.50  from z3 to anywhere (no destination): the cheapest class that applies is paid
ZONE_FEED = {
    "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\nZ,Zone Rail,https://example.com,America/Los_Angeles\n",
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon,zone_id\n"
                 + "".join(f"{s},{s},37.0,{-122 + 0.02 * i:.3f},{z}\n"
                           for i, (s, z) in enumerate(zip("ABCDE", ["z1", "z1", "z2", "z3", "z3"]))),
    "routes.txt": "route_id,agency_id,route_short_name,route_long_name,route_type\nL,Z,L,Local,2\n",
    "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
                    "WK,1,1,1,1,1,0,0,20250303,20250309\n",
    "fare_attributes.txt": "fare_id,price,currency_type,payment_method,transfers,transfer_duration\n"
                           "f_in,2.00,USD,1,,3600\nf_near,3.00,USD,1,,3600\nf_far,5.00,USD,1,,3600\n"
                           "f_skip,1.00,USD,1,,3600\nf_out,2.50,USD,1,,3600\n",
    "fare_rules.txt": "fare_id,origin_id,destination_id,contains_id\n"
                      "f_in,z1,z1,\nf_in,z2,z2,\nf_in,z3,z3,\n"
                      "f_near,z1,z2,\nf_near,z2,z1,\nf_near,z2,z3,\nf_near,z3,z2,\n"
                      "f_far,z1,z3,\nf_far,z3,z1,\nf_far,,,z1\nf_far,,,z2\nf_far,,,z3\n"
                      "f_skip,z1,z3,\nf_skip,,,z1\nf_skip,,,z3\n"
                      "f_out,z3,,\n",
}
ZONE = dict(zip("ABCDE", ["z1", "z1", "z2", "z3", "z3"]))
EXPECTED = {("z1", "z1"): 2.0, ("z1", "z2"): 3.0, ("z1", "z3"): 5.0, ("z2", "z1"): 3.0, ("z2", "z2"): 2.0,
            ("z2", "z3"): 3.0, ("z3", "z1"): 2.5, ("z3", "z2"): 2.5, ("z3", "z3"): 2.0}


def zone_feed(folder: Path) -> Path:
    """The feed with trains each way every 10 min, 06:00-09:50, 3 min between stations."""
    trips = ["route_id,service_id,trip_id,direction_id"]
    times = ["trip_id,arrival_time,departure_time,stop_id,stop_sequence"]
    for k in range(24):
        for way, stops in (("n", "ABCDE"), ("s", "EDCBA")):
            tid = f"{way}{k}"
            trips.append(f"L,WK,{tid},{0 if way == 'n' else 1}")
            for i, s in enumerate(stops):
                t = 6 * 3600 + 600 * k + 180 * i
                clock = f"{t // 3600:02d}:{t % 3600 // 60:02d}:00"
                times.append(f"{tid},{clock},{clock},{s},{i + 1}")
    folder.mkdir(parents=True, exist_ok=True)
    tables = {**ZONE_FEED, "trips.txt": "\n".join(trips) + "\n", "stop_times.txt": "\n".join(times) + "\n"}
    for name, text in tables.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_every_od_pair_of_a_three_zone_feed_pays_as_its_fare_rules_say(tmp_path):
    net = import_feed(zone_feed(tmp_path / "feed"), date="20250303")
    fare = net["operators"][0]["fare"]
    assert fare["kind"] == "zones" and fare["currency"] == "USD" and fare["transfer_window_s"] == 3600
    assert fare["zone_of"] == ZONE and "max_transfers" not in fare
    scn = T.scenario(3000, list("ABCDE"), list("ABCDE"), start="07:00", end="08:00", sim_end="10:30",
                     payment={"stored_value_card": 1.0})
    scn["network"] = "feed"
    (tmp_path / "scn.yaml").write_text(yaml.safe_dump(scn), encoding="utf-8")
    res = run(load_scenario(tmp_path / "scn.yaml"))
    trips = res.trips[res.trips["status"] == "arrived"]
    pairs = set(zip(trips["origin"].astype(str), trips["destination"].astype(str)))
    assert len(pairs) == 20  # every ordered pair of the five stations
    want = [EXPECTED[ZONE[o], ZONE[d]] for o, d in zip(trips["origin"].astype(str), trips["destination"].astype(str))]
    np.testing.assert_allclose(trips["fare_cny"].to_numpy(), want)
    assert res.summary["currency"] == "USD"
    assert res.fares["fare_cny"].sum() == pytest.approx(trips["fare_cny"].sum())


def two_lines(fare: dict, l2_departures: list[str]) -> dict:
    """Lines L1 A-B (every 10 min from 07:00) and L2 B-C (at `l2_departures`), one operator charging
    `fare`: riders from A to C change at B."""
    stops1, stops2 = [("A", 0.0), ("B", 2.0)], [("B", 0.0), ("C", 2.0)]
    l1 = T.line("L1", stops1, {"forward": T.headway("07:00", "08:00", 600)}, run_s={"A>B": 300})
    l2 = T.line("L2", stops2, {"forward": {"departures": l2_departures}}, run_s={"B>C": 300})
    op = T.operator(transfer_walk_s=60.0)
    op["fare"] = fare
    return T.network([T.station(s, 121.0 + 0.02 * i) for i, s in enumerate("ABC")], [l1, l2], [op])


def test_a_change_within_the_transfer_window_is_free_and_one_after_it_is_charged(tmp_path):
    # flat 3 a fare, window 15 min from the first boarding. Riders boarding L1 at 07:50 take L2's 08:00
    # train (10 min after: one fare); riders on the 07:30 or 07:40 train wait for it too (30 or 20 min
    # after: a second fare)
    fare = {"kind": "distance_bands", "base_cny": 3, "base_km": 50, "transfer_window_s": 900}
    net = two_lines(fare, ["08:00"])
    scn = T.scenario(200, ["A"], ["C"], start="07:25", end="07:50", sim_end="09:00",
                     routing={"outside_option": None})
    res = run(T.write(tmp_path, net, scn))
    legs = res.legs
    first = legs[legs["leg"] == 0].set_index("commuter_id")["t_board"]
    fare_paid = res.trips.set_index("commuter_id")["fare_cny"]
    early = first.index[first < 7 * 3600 + 45 * 60]
    late = first.index[first >= 7 * 3600 + 45 * 60]
    assert len(early) > 20 and len(late) > 20
    assert (fare_paid[early] == 6.0).all() and (fare_paid[late] == 3.0).all()
    assert res.fares.groupby("commuter_id")["fare_cny"].sum().loc[early].eq(6.0).all()


def test_max_transfers_zero_charges_every_boarding(tmp_path):
    fare = {"kind": "distance_bands", "base_cny": 3, "base_km": 50, "max_transfers": 0}
    net = two_lines(fare, ["07:10", "07:20", "07:30", "07:40", "07:50", "08:00", "08:10"])
    res = run(T.write(tmp_path, net, T.scenario(50, ["A"], ["C"], start="07:00", end="07:30", sim_end="09:00")))
    assert (res.trips["fare_cny"] == 6.0).all()


def od_network(prices: list, symmetric: bool = True, currency: str = "CNY") -> dict:
    stops = [("A", 0.0), ("B", 2.0), ("C", 4.0)]
    ln = T.line("L", stops, {"forward": T.headway("07:00", "09:00", 300), "backward": T.headway("07:00", "09:00", 300)})
    op = T.operator()
    op["fare"] = {"kind": "od_table", "od_prices": prices, "symmetric": symmetric, "currency": currency,
                  "media_factor": {"ticket": 2.0}}
    return T.network([T.station(s, 121.0 + 0.02 * i) for i, s in enumerate("ABC")], [ln], [op])


def test_an_od_table_prices_each_pair_both_ways_and_by_medium(tmp_path):
    net = od_network([["A", "B", 4], ["B", "C", 5], ["A", "C", 7], ["C", "A", 8]])
    scn = T.scenario(600, ["A", "B", "C"], ["A", "B", "C"], start="07:10", end="08:00", sim_end="09:30",
                     payment={"qr": 0.5, "ticket": 0.5})
    res = run(T.write(tmp_path, net, scn))
    want = {("A", "B"): 4, ("B", "A"): 4, ("B", "C"): 5, ("C", "B"): 5, ("A", "C"): 7, ("C", "A"): 8}
    t = res.trips
    factor = np.where(t["payment"].astype(str) == "ticket", 2.0, 1.0)
    base = [want[o, d] for o, d in zip(t["origin"].astype(str), t["destination"].astype(str))]
    assert len(set(zip(t["origin"].astype(str), t["destination"].astype(str)))) == 6
    np.testing.assert_allclose(t["fare_cny"].to_numpy(), np.asarray(base) * factor)


def test_a_missing_od_price_or_zone_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match=r"operators\[0\]\.fare\.od_prices: 3 pairs of this operator's stations "
                                        r"without a price: B to A, C to A, C to B"):
        T.write(tmp_path, od_network([["A", "B", 4], ["B", "C", 5], ["A", "C", 7]], symmetric=False),
                T.scenario(10, ["A"], ["C"]))
    fare = {"kind": "zones", "zone_of": {"A": "1", "B": "1"}, "zone_fares": [{"price": 2, "od": [["1", "9"]]}]}
    with pytest.raises(UserError) as err:
        T.write(tmp_path, two_lines(fare, ["08:00"]), T.scenario(10, ["A"], ["C"]))
    text = str(err.value)
    assert "1 station of this operator without a zone: C" in text and "unknown zone '9'" in text


def test_operators_charging_in_two_currencies_are_refused(tmp_path):
    net = T.boundary_network()
    net["operators"][1]["fare"]["currency"] = "USD"
    with pytest.raises(UserError, match="'USD', but operator 'OA' charges in CNY"):
        T.write(tmp_path, net, T.scenario(10, ["A1"], ["B2"]))


def test_a_run_in_dollars_says_dollars(tmp_path):
    net = od_network([["A", "B", 4], ["B", "C", 5], ["A", "C", 7]], currency="USD")
    scn = T.write(tmp_path, net, T.scenario(100, ["A"], ["C"], start="07:10", end="07:40", sim_end="09:00"))
    from sim.cli import main

    assert main(["run", str(tmp_path / "scn.yaml"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "fare, mean (USD)" in report and "(CNY)" not in report
    assert scn.network.currency == "USD"


def pair_fares(network) -> dict[tuple[str, str], float]:
    """The fare (first medium) of a ride on one train between every two stations a leg joins."""
    from sim.fares import FareSystem, leg_fares
    from sim.routing import LegNetwork

    legs = LegNetwork(network, 6 * 3600.0, 10 * 3600.0)
    fares = leg_fares(legs, FareSystem(network, tuple(sorted(network.media))),
                      np.arange(len(legs.options)).reshape(-1, 1), np.zeros(len(legs.options), dtype=np.int64))
    return {(network.stations[leg.board].id, network.stations[leg.alight].id): float(f)
            for leg, f in zip(legs.options, fares[:, 0])}


def test_zone_and_od_fares_survive_export_and_import(tmp_path):
    from sim.gtfs import export_feed, write_network
    from sim.scenario import load_network

    def built(net: dict, name: str):
        write_network(net, tmp_path / f"{name}.yaml")
        return load_network(tmp_path / f"{name}.yaml")[0]

    zoned = built(import_feed(zone_feed(tmp_path / "feed"), date="20250303"), "zoned")
    check_feed(export_feed(zoned, tmp_path / "zoned.zip"), tmp_path / "v1")
    again = built(import_feed(tmp_path / "zoned.zip"), "again")
    want = {(o, d): EXPECTED[ZONE[o], ZONE[d]] for o in "ABCDE" for d in "ABCDE" if o != d}
    assert pair_fares(zoned) == pair_fares(again) == want
    fare = again.operators[0].fare
    assert (fare.kind, fare.currency, fare.transfer_window_s) == ("zones", "USD", 3600)
    (tmp_path / "od").mkdir()
    od = T.write(tmp_path / "od", od_network([["A", "B", 4], ["B", "C", 5], ["A", "C", 7], ["C", "A", 8]]),
                 T.scenario(10, ["A"], ["C"])).network
    check_feed(export_feed(od, tmp_path / "od.zip"), tmp_path / "v2")
    od_again = built(import_feed(tmp_path / "od.zip"), "od_again")
    assert pair_fares(od_again) == pair_fares(od) == {("A", "B"): 4, ("B", "A"): 4, ("B", "C"): 5, ("C", "B"): 5,
                                                      ("A", "C"): 7, ("C", "A"): 8}


def test_fares_v2_areas_leg_rules_and_a_free_transfer_window(tmp_path):
    # the same line and zones as Fares v2 areas; leg rules from area to area (z3 to any area: 2.50), the
    # cheapest that applies paid; changes free within 30 min of the first boarding
    v2 = {"fare_products.txt": "fare_product_id,amount,currency\np_in,2.00,EUR\np_near,3.00,EUR\np_far,5.00,EUR\n"
                               "p_out,2.50,EUR\n",
          "areas.txt": "area_id,area_name\nz1,One\nz2,Two\nz3,Three\n",
          "stop_areas.txt": "area_id,stop_id\n" + "".join(f"{z},{s}\n" for s, z in ZONE.items()),
          "fare_leg_rules.txt": "leg_group_id,from_area_id,to_area_id,fare_product_id\n"
                                "in1,z1,z1,p_in\nin2,z2,z2,p_in\nin3,z3,z3,p_in\nn12,z1,z2,p_near\nn21,z2,z1,p_near\n"
                                "n23,z2,z3,p_near\nn32,z3,z2,p_near\nf13,z1,z3,p_far\nf31,z3,z1,p_far\nout,z3,,p_out\n",
          "fare_transfer_rules.txt": "from_leg_group_id,to_leg_group_id,transfer_count,duration_limit,"
                                     "duration_limit_type,fare_transfer_type\n,,-1,1800,1,0\n"}
    folder = zone_feed(tmp_path / "feed")
    for name in ("fare_attributes.txt", "fare_rules.txt"):
        (folder / name).unlink()
    for name, text in v2.items():
        (folder / name).write_text(text, encoding="utf-8")
    from sim.gtfs import write_network
    from sim.scenario import load_network

    imported = import_feed(folder, date="20250303")
    fare = imported["operators"][0]["fare"]
    assert (fare["kind"], fare["currency"], fare["transfer_window_s"]) == ("zones", "EUR", 1800)
    write_network(imported, tmp_path / "n.yaml")
    got = pair_fares(load_network(tmp_path / "n.yaml")[0])
    assert got == {(o, d): EXPECTED[ZONE[o], ZONE[d]] for o in "ABCDE" for d in "ABCDE" if o != d}
