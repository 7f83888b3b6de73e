"""KPIs against hand counts on small hand-built tables: facility queues, windows, transfers by
medium, rounding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.metrics import (
    KpiSetup,
    _longest_queues,
    confidence_intervals,
    facility_kpis,
    interchange_kpis,
    mean_summary,
    peak_hour,
    rounded,
    summarize,
)

H = 3600.0


def test_facility_kpis_by_hand():
    # facility F (2 servers): four visitors; waits 0, 0, 3, 5 s; 2 waiting at once from t = 2 to 4
    fac = pd.DataFrame({
        "facility_id": pd.Categorical(["F"] * 4 + ["G"]),
        "commuter_id": [0, 1, 2, 3, 4],
        "t_join": [7 * H + 0, 7 * H + 0, 7 * H + 1, 7 * H + 2, 8 * H],
        "t_start": [7 * H + 0, 7 * H + 0, 7 * H + 4, 7 * H + 7, 8 * H],
        "t_end": [7 * H + 4, 7 * H + 7, 7 * H + 10, 7 * H + 12, 8 * H + 30],
    })
    k = facility_kpis(fac, {"F": 2, "G": 1})
    assert k["F"]["visits"] == 4
    assert k["F"]["wait_mean_s"] == pytest.approx((0 + 0 + 3 + 5) / 4)
    assert k["F"]["wait_p95_s"] == pytest.approx(np.percentile([0, 0, 3, 5], 95))
    assert k["F"]["queue_max"] == 2
    assert k["F"]["utilisation_busiest_hour"] == pytest.approx((4 + 7 + 6 + 5) / (2 * 3600))
    assert k["G"] == {"visits": 1, "still_queueing": 0, "wait_mean_s": 0.0, "wait_p95_s": 0.0, "queue_max": 0,
                      "utilisation_busiest_hour": pytest.approx(30 / 3600)}


def test_facility_kpis_count_those_never_served_and_split_service_between_hours():
    # one server; service 07:59:00-08:01:00 splits 60 s / 60 s between the hours; a 30-min service
    # from 08:10; three join at 08:20 and are never served: the queue reaches 3
    fac = pd.DataFrame({
        "facility_id": pd.Categorical(["F"] * 5),
        "commuter_id": [0, 1, 2, 3, 4],
        "t_join": [8 * H - 60, 8 * H + 600, 8 * H + 1200, 8 * H + 1200, 8 * H + 1200],
        "t_start": [8 * H - 60, 8 * H + 600, np.nan, np.nan, np.nan],
        "t_end": [8 * H + 60, 8 * H + 2400, np.nan, np.nan, np.nan],
    })
    k = facility_kpis(fac, {"F": 1})["F"]
    assert (k["visits"], k["still_queueing"], k["queue_max"]) == (5, 3, 3)
    assert k["wait_mean_s"] == 0.0
    assert k["utilisation_busiest_hour"] == pytest.approx((60 + 1800) / 3600)
    # nobody served yet: waits unknown, the queue still counted
    k = facility_kpis(fac.iloc[2:], {"F": 1})["F"]
    assert (k["visits"], k["still_queueing"], k["queue_max"]) == (3, 3, 3)
    assert k["wait_mean_s"] is None and k["utilisation_busiest_hour"] == 0.0


def _trips(t_depart: list[float], tt: list[float], payment: list[str] | None = None) -> pd.DataFrame:
    n = len(t_depart)
    return pd.DataFrame({
        "commuter_id": np.arange(n), "segment": pd.Categorical(["s"] * n),
        "payment": pd.Categorical(payment or ["qr"] * n), "status": pd.Categorical(["arrived"] * n),
        "t_depart": t_depart, "travel_time_s": tt, "access_s": 0.0, "wait_s": 0.0, "in_vehicle_s": tt,
        "transfer_s": 0.0, "egress_s": 0.0, "n_transfers": 0, "denied_boardings": 0, "fare_cny": 3.0})


def test_peak_hour_and_windows_count_the_commuters_starting_in_them():
    starts = [6 * H + 100, 7 * H + 10, 7 * H + 1000, 7 * H + 2000, 7.5 * H + 100, 9 * H]
    trips = _trips(starts, [600, 1200, 1800, 2400, 3000, 3600])
    assert peak_hour(trips) == (7 * H, 8 * H)
    legs = pd.DataFrame({"commuter_id": [], "t_board": [], "operator": pd.Categorical([]), "fare_cny": []})
    trains = pd.DataFrame({"line": pd.Categorical([]), "load_after": [], "capacity": [], "t_depart": []})
    s = summarize(trips, legs, trains, None, KpiSetup(windows={"early": (6 * H, 7 * H)}))
    peak, early = s["windows"]["peak_hour"], s["windows"]["early"]
    assert (peak["from_s"], peak["to_s"], peak["commuters"]) == (7 * H, 8 * H, 4)
    assert peak["travel_time_mean_s"] == pytest.approx((1200 + 1800 + 2400 + 3000) / 4)
    assert early["commuters"] == 1 and early["travel_time_mean_s"] == 600


def test_transfer_time_by_medium_by_hand():
    trips = _trips([0, 0, 0], [1, 1, 1], payment=["qr", "card", "qr"])
    legs = pd.DataFrame({
        "commuter_id": [0, 0, 1, 1, 2],
        "leg": [0, 1, 0, 1, 0],
        "alight_station": pd.Categorical(["A", "Z", "A", "Z", "Z"]),
        "board_station": pd.Categorical(["X", "B", "X", "B", "X"]),
        "t_platform": [0.0, 400.0, 0.0, 460.0, 0.0],
        "t_board": [10.0, 500.0, 10.0, 520.0, 5.0],
        "t_alight": [100.0, 900.0, 100.0, 900.0, 90.0],
    })
    k = interchange_kpis(legs, trips, ("A", "B"))
    assert k["transfers"] == 2
    assert k["by_medium"]["qr"]["transfer_mean_s"] == 300.0 and k["by_medium"]["qr"]["onward_wait_mean_s"] == 100.0
    assert k["by_medium"]["card"]["transfer_mean_s"] == 360.0 and k["by_medium"]["card"]["onward_wait_mean_s"] == 60.0
    assert set(k["by_direction"]) == {"A>B"}
    # a one-way interchange counts its own direction only: from A to B here, none from B to A
    assert interchange_kpis(legs, trips, ("A", "B"), both_ways=False)["transfers"] == 2
    assert interchange_kpis(legs, trips, ("B", "A"), both_ways=False)["transfers"] == 0
    assert interchange_kpis(legs, trips, ("B", "A"))["transfers"] == 2


def test_rounding_by_kind_of_value():
    s = rounded({"travel_time_mean_s": 123.456789, "denied_share": 0.123456789, "fare_revenue_cny": {"OP": 1.23456},
                 "peak_load_factor": {"L": 0.987654321}, "commuters": 10, "x": 1.234567891})
    assert s == {"travel_time_mean_s": 123.5, "denied_share": 0.1235, "fare_revenue_cny": {"OP": 1.23},
                 "peak_load_factor": {"L": 0.9877}, "commuters": 10, "x": 1.2346}


def test_mean_summary_of_replications():
    a = {"commuters": 10, "travel_time_mean_s": 100.0, "lines": {"L": {"peak_load_factor": 0.5}}, "name": "x",
         "warnings": ["w1"], "p": None, "only_a": 3}
    b = {"commuters": 20, "travel_time_mean_s": 200.0, "lines": {"L": {"peak_load_factor": None}}, "name": "x",
         "warnings": ["w1", "w2"], "p": None}
    m = mean_summary([a, b])
    assert m["commuters"] == 15 and m["travel_time_mean_s"] == 150.0
    assert m["lines"]["L"]["peak_load_factor"] == 0.5  # None where a replication has no value
    assert m["name"] == "x" and m["warnings"] == ["w1", "w2"] and m["p"] is None and m["only_a"] == 3


def test_mean_mode_shares_count_a_mode_missing_from_a_replication_as_zero():
    a = {"mode_shares": {"metro": 0.9, "metro+rail": 0.1}, "groups": {"g": {"mode_shares": {"metro": 1.0}}}}
    b = {"mode_shares": {"metro": 0.8, "metro+rail": 0.1, "left": 0.1},
         "groups": {"g": {"mode_shares": {"metro": 0.5, "rail": 0.5}}}}
    m = mean_summary([a, b])
    assert m["mode_shares"] == pytest.approx({"metro": 0.85, "metro+rail": 0.1, "left": 0.05})
    assert m["groups"]["g"]["mode_shares"] == pytest.approx({"metro": 0.75, "rail": 0.25})
    assert sum(m["mode_shares"].values()) == pytest.approx(1.0)
    ci = confidence_intervals([a, b])
    assert ci["mode_shares.left"]["mean"] == pytest.approx(0.05) and ci["mode_shares.left"]["n"] == 2


def test_a_group_counts_the_boardings_of_its_own_commuters_by_line():
    trips = _trips([7 * H, 7 * H, 7 * H], [600, 600, 600])
    legs = pd.DataFrame({"commuter_id": [0, 0, 1, 2, 2], "t_board": [1.0, 2.0, 3.0, np.nan, 5.0],
                         "line": pd.Categorical(["L1", "L2", "L1", "L2", "L3"]),
                         "train_id": pd.Categorical(["a", "b", "c", None, "d"]),
                         "operator": pd.Categorical(["OP"] * 5), "fare_cny": 0.0})
    trains = _trains_of({"a": "L1", "b": "L2", "c": "L1", "d": "L3", "e": "L2"})
    s = summarize(trips, legs, trains, None, KpiSetup(groups={"g": np.array([True, False, True])}))
    # commuter 0 rides L1 and L2, commuter 2 never boards its L2 leg and rides L3; commuter 1 is not in it
    assert s["groups"]["g"]["line_boardings"] == {"L1": 1, "L2": 1, "L3": 1}
    assert s["line_boardings"] == {"L1": 2, "L2": 1, "L3": 1}


def test_boardings_count_under_the_line_of_the_train_not_of_the_platform():
    # Line 4's trains call at Line 3's platforms on the track they share (the whole Shanghai Metro), and a
    # through train takes riders at the platforms of the line it runs onto: those boardings are its line's
    trips = _trips([7 * H, 7 * H, 9 * H], [600, 600, 600])
    legs = pd.DataFrame({"commuter_id": [0, 1, 1, 2], "t_board": [1.0, 2.0, 3.0, 9 * H + 60.0],
                         "line": pd.Categorical(["L3", "L3", "L4", "L3"]),
                         "train_id": pd.Categorical(["L4.x@1", "L3.y@1", "L4.x@2", "L4.x@3"]),
                         "operator": pd.Categorical(["OP"] * 4), "fare_cny": 0.0})
    trains = _trains_of({"L4.x@1": "L4", "L3.y@1": "L3", "L4.x@2": "L4", "L4.x@3": "L4"}, t_depart=[60.0, 60.0, 60.0,
                                                                                                   9 * H + 60.0])
    s = summarize(trips, legs, trains, None, KpiSetup(groups={"g": np.array([False, True, False])},
                                                      windows={"late": (9 * H, 10 * H)}))
    assert s["line_boardings"] == {"L3": 1, "L4": 3}
    assert s["groups"]["g"]["line_boardings"] == {"L3": 1, "L4": 1}
    # a window's commuters' boardings, by the train's line however the trains of the window are chosen
    assert s["windows"]["late"]["line_boardings"] == {"L4": 1}


def _trains_of(line_of: dict[str, str], t_depart: list[float] | None = None) -> pd.DataFrame:
    """A trains table with one call of each train (id -> line), empty at capacity 100."""
    n = len(line_of)
    return pd.DataFrame({"train_id": pd.Categorical(list(line_of)), "line": pd.Categorical(list(line_of.values())),
                         "load_after": [0] * n, "capacity": [100] * n,
                         "t_depart": t_depart if t_depart is not None else [60.0] * n})


def test_longest_queue_of_each_facility_is_that_of_a_sweep_over_its_joins():
    # 3,000 visits to 7 facilities (one never visited), whole seconds so that joins and starts tie,
    # a third served the moment they join, 5 % never served; the sweep counts, just after each join
    # time of a facility, its visits that waited and joined by then less those that started by then
    rng = np.random.default_rng(3)
    n, size = 7, 3000
    code = rng.integers(0, n, size).astype(np.int16)
    code[code == 5] = 6
    join = np.round(rng.uniform(0.0, 500.0, size))
    start = join + np.where(rng.random(size) < 0.3, 0.0, np.round(rng.exponential(20.0, size)))
    start[rng.random(size) < 0.05] = np.nan
    got = _longest_queues(join, start, code, n)
    for g in range(n):
        mine = code == g
        waited = mine & ~(start <= join)
        sweep = [int((waited & (join <= t)).sum() - (waited & (start <= t)).sum()) for t in np.unique(join[mine])]
        assert got[g] == max(sweep, default=0), g
    assert got[5] == 0 and got.max() > 5
