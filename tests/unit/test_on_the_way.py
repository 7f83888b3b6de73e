"""Choices on the way, against hand computation: a commuter whose planned line has run its last train
re-chooses to the next train of another line, or leaves the network where they stand when none is
left; after a full train leaves them behind, the share who switch to a parallel line is the logit
probability of the two costs; riders put off a train cut short by a closure wait or leave with the
logit probability; both engines give the same tables; nobody is lost."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import toynet as T
from sim.api import run

H = 3600.0
THETA = 0.3 / 60.0  # the default logit scale, per second


def parallel_lines(tmp_path, l_last: str, m_last: str, total: int, start: str, end: str, routing: dict | None = None,
                   l_first: str = "06:00", m_first: str = "06:05", l_capacity: int = 1000, entry_s: float = 0.0):
    """Lines L: A - C (6 km, 300 s) every 10 min from `l_first` to `l_last`, and M: A - C (6 km, 300 s)
    every 10 min from `m_first` to `m_last`, on platforms 60 s apart (the operator's change walk); no
    gates; `entry_s` from the street to the platforms. Commuters A -> C start in [start, end)."""
    ln = T.line("L", [("A", 0.0), ("C", 6.0)], {"forward": T.headway(l_first, l_last, 600)}, run_s={"A>C": 300},
                capacity=l_capacity)
    m = T.line("M", [("A", 0.0), ("C", 6.0)], {"forward": T.headway(m_first, m_last, 600)}, run_s={"A>C": 300},
               capacity=100000)
    ops = [T.operator(entry=[{"walk_s": entry_s}] if entry_s else [])]
    net = T.network([T.station("A", 121.0), T.station("C", 121.06)], [ln, m], operators=ops)
    scn = T.scenario(total, ["A"], ["C"], start=start, end=end, sim_end="09:00", routing=routing)
    return T.write(tmp_path, net, scn)


def departures(trains: pd.DataFrame, line: str, station: str) -> np.ndarray:
    at = trains[(trains["line"].astype(str) == line) & (trains["station"].astype(str) == station)]
    return np.sort(at["t_depart"].to_numpy())


@pytest.mark.parametrize("engine", ["bulk", "reference"])
def test_missed_last_train_rechooses_the_next_train_of_another_line(tmp_path, engine):
    # L's last train leaves A at 06:40; commuters who chose it on leaving home (4 min from the platform) and reach
    # its platform later take M (no outside option): the first M train leaving at or after their time plus the
    # 60 s change walk; they reach C 300 s after it leaves
    res = run(parallel_lines(tmp_path, "06:40", "08:00", 600, "06:10", "06:50", {"outside_option": None},
                             entry_s=240.0), engine=engine)
    trips, legs = res.trips.set_index("commuter_id"), res.legs.set_index("commuter_id")
    assert (trips["status"] == "arrived").all()
    late = trips[trips["rechoices"] > 0]
    assert len(late) > 20 and late["rerouted_on_way"].all() and (late["route"].astype(str) == "M").all()
    t_platform = legs.loc[late.index, "t_platform"].to_numpy()
    assert (t_platform > 6 * H + 40 * 60).all()
    m_dep = departures(res.trains, "M", "A")
    expect_board = m_dep[np.searchsorted(m_dep, t_platform + 60.0)]
    assert np.array_equal(legs.loc[late.index, "t_board"].to_numpy(), expect_board)
    assert np.array_equal(late["t_arrive"].to_numpy(), expect_board + 300.0)
    assert np.allclose(late["wait_s"], expect_board - t_platform)   # the walk to M's platform counts as waiting
    # everyone else who planned L boarded it by 06:30
    on_l = legs[legs["line"].astype(str) == "L"]
    assert (on_l["t_board"] <= 6 * H + 40 * 60).all()


@pytest.mark.parametrize("engine", ["bulk", "reference"])
def test_nothing_left_to_carry_them_they_leave_where_they_stand(tmp_path, engine):
    # L's last train leaves A at 06:30 and M's at 06:35: after that nothing carries anyone; they leave at A at the
    # time they reach the platform (no gates) or, waiting there, when the last train has gone
    res = run(parallel_lines(tmp_path, "06:30", "06:35", 300, "06:20", "06:50"), engine=engine)
    trips, legs = res.trips.set_index("commuter_id"), res.legs.set_index("commuter_id")
    assert set(trips["status"].astype(str)) == {"arrived", "left"}
    left = trips[trips["status"] == "left"]
    assert (left["left_station"].astype(str) == "A").all() and left["t_arrive"].isna().all()
    t_platform = legs.loc[left.index, "t_platform"].to_numpy()
    # an L rider reaching A between 06:30 and 06:35 may take M's last train (cheaper than a taxi); from 06:34
    # (06:35 less the walk) nothing can carry anyone
    assert (t_platform > 6.5 * H).all()
    assert np.array_equal(left["t_left"].to_numpy(), t_platform)
    assert (left["fare_cny"] == 0).all()
    after_last = trips[legs.loc[trips.index, "t_platform"].to_numpy() > 6.5 * H + 300]
    assert (after_last["status"] == "left").all()
    assert res.summary["on_the_way"]["left"] == len(left) == res.summary["left"]
    assert res.summary["on_the_way"]["left_at"] == {"A": len(left)}


@pytest.mark.parametrize("engine", ["bulk", "reference"])
def test_left_behind_by_the_last_train_they_take_another_line_not_the_train_just_gone(tmp_path, engine):
    # L's trains carry 5 riders each and its last leaves A at 06:30; riders still on its platform then choose at
    # 06:30 (no outside option, no choice after a denial). The timetable still shows that train at 06:30, but it
    # has gone: they walk to M (60 s) and take its next train, at 06:35, once each
    res = run(parallel_lines(tmp_path, "06:30", "08:00", 300, "06:00", "06:25",
                             {"outside_option": None, "decisions": {"after_denial": False}}, l_capacity=5),
              engine=engine)
    trips, legs = res.trips.set_index("commuter_id"), res.legs
    assert (trips["status"] == "arrived").all()
    late = trips[trips["rechoices"] > 0]
    assert len(late) > 20 and (late["rechoices"] == 1).all() and late["rerouted_on_way"].all()
    on_m = legs[legs["commuter_id"].isin(late.index) & (legs["line"].astype(str) == "M")]
    assert len(on_m) == len(late) and (on_m["t_board"] == 6 * H + 35 * 60).all()

def test_engines_agree_with_choices_on_the_way(tmp_path):
    scn = parallel_lines(tmp_path, "06:30", "06:45", 600, "06:00", "06:50", l_capacity=8)
    a, b = run(scn, engine="bulk"), run(scn, engine="reference")
    for name in ("trips", "legs", "trains", "facilities", "fares"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)
    assert (a.trips["rechoices"] > 0).sum() > 50


@pytest.mark.parametrize("engine", ["bulk", "reference"])
def test_share_switching_after_a_denial_is_the_logit_probability(tmp_path, engine):
    # 2,000 commuters reach A 05:40-06:00; L's 06:00 train takes 10 of those who chose L, the others are left
    # behind at 06:00. Each then weighs (no outside option):
    #   wait for L's 06:10 train: 2 x 600 s waiting + 300 s aboard
    #   change to M's 06:05 train: 2 x 60 s walking + 300 s penalty for boarding on another platform
    #                              + 2 x (06:05 - 06:01) waiting + 300 s aboard
    # (same fare both ways), so the share changing to M is 1 / (1 + exp(-theta x (1500 - 1200)))
    res = run(parallel_lines(tmp_path, "08:00", "08:00", 2000, "05:40", "06:00", {"outside_option": None},
                             l_capacity=10), engine=engine)
    trips, legs = res.trips.set_index("commuter_id"), res.legs.set_index("commuter_id")
    assert (trips["status"] == "arrived").all()
    denied = trips[trips["denied_boardings"] > 0]
    switched = legs.loc[denied.index]
    switched = switched[(switched["line"].astype(str) == "M") & (switched["t_board"] == 6 * H + 300)]
    p = 1.0 / (1.0 + math.exp(-THETA * (1500.0 - 1200.0)))
    n = len(denied)
    assert n > 500
    share = len(switched) / n
    assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / n), (share, p, n)
    assert (trips.loc[switched.index, "rerouted_on_way"]).all()


def haversine_km(lon_a: float, lon_b: float, lat: float = 31.0) -> float:
    a = math.cos(math.radians(lat)) ** 2 * math.sin(math.radians(lon_b - lon_a) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


@pytest.mark.parametrize("engine", ["bulk", "reference"])
def test_put_off_by_a_closure_they_wait_or_leave_with_the_logit_probability(tmp_path, engine):
    # line L: A - B - C - D (120 s between stations, 30 s stops, room for all), every 5 min from 06:00; C - D closed
    # 06:30-07:00: the 06:25 train from A is cut at C, where its riders are put off at 06:29:30. Each then weighs
    #   waiting for the 06:55 train from A (leaves C 07:00): 2 x 1,830 s + 120 s aboard + 3 CNY / 40 CNY/h
    #   a taxi from C: 2 x wait_s + km x detour / speed + (base fare) / 40 CNY/h, km C - D straight
    stops = [("A", 0.0), ("B", 2.0), ("C", 4.0), ("D", 6.0)]
    line = T.line("L", stops, {"forward": T.headway("06:00", "08:00", 300)},
                  run_s={"A>B": 120, "B>C": 120, "C>D": 120}, dwell_s=30, capacity=100000)
    net = T.network([T.station(s, 121.0 + 0.02 * i) for i, (s, _) in enumerate(stops)], [line])
    taxi = {"wait_s": 600.0, "speed_kmh": 20.0, "detour_factor": 1.4, "fare_base_cny": 30.0, "base_km": 3.0,
            "fare_per_km_cny": 2.7}
    scn = T.scenario(4000, ["A"], ["D"], start="06:00", end="06:40", sim_end="08:30", routing={"outside_option": taxi})
    scn["disruptions"] = [{"id": "cd", "line": "L", "between": ["C", "D"], "start": "06:30", "end": "07:00"}]
    res = run(T.write(tmp_path, net, scn), engine=engine)
    trips = res.trips.set_index("commuter_id")
    put_off = trips[trips["disruption"].astype(str) == "put_off"]
    n = len(put_off)
    assert n > 200
    km = haversine_km(121.04, 121.06) * 1.4
    wait = 2 * 1830.0 + 120.0 + 3.0 / 40.0 * 3600.0
    leave = 2 * 600.0 + km / 20.0 * 3600.0 + (30.0 + max(0.0, km - 3.0) * 2.7) / 40.0 * 3600.0
    p_leave = 1.0 / (1.0 + math.exp(-THETA * (wait - leave)))
    left = put_off[put_off["status"] == "left"]
    assert abs(len(left) / n - p_leave) < 4 * math.sqrt(p_leave * (1 - p_leave) / n), (len(left) / n, p_leave)
    assert (left["left_station"].astype(str) == "C").all() and (left["t_left"] == 6 * H + 29 * 60 + 30).all()
    stayed = put_off[put_off["status"] == "arrived"]
    assert (stayed["t_arrive"] == 7 * H + 120).all() and not stayed["rerouted_on_way"].any()
    # nobody is lost: every commuter arrived or left
    assert set(trips["status"].astype(str)) <= {"arrived", "left"} and len(trips) == 4000
    d = res.summary["disruptions"]
    assert d["left"] == len(left) and d["stranded"] == 0


def express_line(tmp_path, information: str):
    """Line L: A - B - C - D, 120 s between stations, 90 s stops. All-stops trains leave A at 06:00, 06:10, ...
    (D 9 min later); expresses passing B and C leave A at 06:01, 06:11, ... (D 6 min later, so 2 min before the
    all-stops train that left a minute earlier). 50 commuters reach A 05:50-06:00 for D, 50 for B."""
    stops = [("A", 0.0), ("B", 2.0), ("C", 4.0), ("D", 6.0)]
    patterns = [{"id": "all", "stops": ["A", "D"], "timetable": {"forward": T.headway("06:00", "08:00", 600)}},
                {"id": "express", "stops": ["A", "D"], "skip": ["B", "C"],
                 "timetable": {"forward": T.headway("06:01", "08:00", 600)}}]
    line = T.line("L", stops, {}, run_s={"A>B": 120, "B>C": 120, "C>D": 120}, dwell_s=90, patterns=patterns)
    net = T.network([T.station(s, 121.0 + 0.02 * i) for i, (s, _) in enumerate(stops)], [line])
    scn = T.scenario(100, ["A"], ["B", "D"], start="05:50", end="06:00", sim_end="08:00",
                     routing={"information": information})
    return T.write(tmp_path, net, scn)


@pytest.mark.parametrize("engine", ["bulk", "reference"])
def test_informed_riders_let_the_all_stops_train_go_for_the_express_that_arrives_first(tmp_path, engine):
    # at 06:00 an informed rider for D weighs boarding the all-stops train (540 s aboard) against 60 s waiting
    # (weighed twice) and at most 360 s aboard the 06:01 express (less: passing B and C it keeps its speed):
    # 480 < 540, so they take the express, waiting to 06:01 and reaching D with it; riders for B (the express
    # passes it) and uninformed riders board at 06:00
    for information, board, train in (("real_time", 6 * H + 60, "L.express.forward@06:01:00"),
                                 ("expected", 6 * H, "L.all.forward@06:00:00")):
        res = run(express_line(tmp_path / information, information), engine=engine)
        trips, legs = res.trips.set_index("commuter_id"), res.legs.set_index("commuter_id")
        tr = res.trains
        arrive = tr.loc[(tr["train_id"].astype(str) == train) & (tr["station"].astype(str) == "D"), "t_arrive"]
        assert len(arrive) == 1 and arrive.iloc[0] <= 6 * H + 9 * 60
        to_d = trips["destination"].astype(str) == "D"
        assert 20 < to_d.sum() < 80
        assert (legs.loc[to_d[to_d].index, "train_id"].astype(str) == train).all(), information
        assert (legs.loc[to_d[to_d].index, "t_board"] == board).all(), information
        assert (trips.loc[to_d, "t_arrive"] == arrive.iloc[0]).all(), information
        assert np.allclose(trips.loc[to_d, "wait_s"], board - legs.loc[to_d[to_d].index, "t_platform"])
        assert (legs.loc[to_d[~to_d].index, "t_board"] == 6 * H).all()
        assert (trips.loc[~to_d, "t_arrive"] == 6 * H + 120).all()


def bridged_line(tmp_path, total: int, bus: dict, taxi: dict | None = None):
    """Line L: A - B - C - D (120 s between stations, 30 s stops, room for all), every 5 min from 06:00; C - D
    closed 06:30-07:30 with a bus bridge C - D."""
    stops = [("A", 0.0), ("B", 2.0), ("C", 4.0), ("D", 6.0)]
    line = T.line("L", stops, {"forward": T.headway("06:00", "08:00", 300)},
                  run_s={"A>B": 120, "B>C": 120, "C>D": 120}, dwell_s=30, capacity=100000)
    net = T.network([T.station(s, 121.0 + 0.02 * i) for i, (s, _) in enumerate(stops)], [line])
    scn = T.scenario(total, ["A"], ["D"], start="06:00", end="06:30", sim_end="09:00",
                     routing={"outside_option": taxi} if taxi else {})
    scn["disruptions"] = [{"id": "cd", "line": "L", "between": ["C", "D"], "start": "06:30", "end": "07:30",
                           "bus_bridge": bus}]
    return T.write(tmp_path, net, scn)


@pytest.mark.parametrize("engine", ["bulk", "reference"])
def test_put_off_riders_take_the_bus_bridge_wait_or_leave_by_hand_computed_logit(tmp_path, engine):
    # the 06:25 train from A is cut at C (arrives 06:29:30); buses C -> D every 10 min from 06:40 (600 s, 60 s
    # stops, room for 1000). Its riders weigh, at 06:29:30 on the platform at C (fare 3 CNY on L, the bus free):
    #   wait for the train: the 07:25 from A leaves C at 07:30: 2 x 1,830 s + 120 s + 3 CNY
    #   the bus: 60 s change walk (weighed twice) + 300 s penalty + 2 x (06:40 - 06:30:30) + 600 s aboard
    #   a taxi: 2 x 600 s + km x 1.4 / 20 km/h + 30 CNY
    taxi = {"wait_s": 600.0, "speed_kmh": 20.0, "detour_factor": 1.4, "fare_base_cny": 30.0}
    res = run(bridged_line(tmp_path, 3000, {"headway_s": 600, "capacity": 1000, "run_s": 600, "first_after_s": 600},
                           taxi), engine=engine)
    trips, legs = res.trips.set_index("commuter_id"), res.legs
    put_off = trips[trips["disruption"].astype(str) == "put_off"]
    n = len(put_off)
    assert n > 200
    vot = 3600.0 / 40.0
    wait = 2 * 1830.0 + 120.0 + 3.0 * vot
    bus = 2 * 60.0 + 300.0 + 2 * (6 * H + 40 * 60 - (6 * H + 30 * 60 + 30)) + 600.0
    km = haversine_km(121.04, 121.06) * 1.4
    leave = 2 * 600.0 + km / 20.0 * 3600.0 + 30.0 * vot
    weights = np.exp(-THETA * (np.asarray([wait, bus, leave]) - min(wait, bus, leave)))
    p = weights / weights.sum()
    on_bus = legs[(legs["line"].astype(str) == "cd_bus") & legs["commuter_id"].isin(put_off.index)]
    left = put_off[put_off["status"] == "left"]
    waited = put_off[(put_off["status"] == "arrived") & ~put_off.index.isin(on_bus["commuter_id"])]
    for count, prob in ((len(waited), p[0]), (len(on_bus), p[1]), (len(left), p[2])):
        assert abs(count / n - prob) < 4 * math.sqrt(prob * (1 - prob) / n) + 1e-9, (count / n, prob)
    assert len(waited) + len(on_bus) + len(left) == n
    # the bus riders board the 06:40 bus at C and reach D at 06:50
    assert (on_bus["t_board"] == 6 * H + 40 * 60).all() and (on_bus["t_alight"] == 6 * H + 50 * 60).all()
    assert (trips.loc[on_bus["commuter_id"], "route"].astype(str) == "L>cd_bus").all()
    # they rode a bus as well as the metro (the bridge's mode is bus), the others the metro alone
    assert (trips.loc[on_bus["commuter_id"], "modes"].astype(str) == "bus+metro").all()
    assert (trips.loc[waited.index, "modes"].astype(str) == "metro").all()
    # nobody is lost
    assert set(trips["status"].astype(str)) <= {"arrived", "left"} and len(trips) == 3000


@pytest.mark.parametrize("engine", ["bulk", "reference"])
def test_bus_bridge_capacity_is_never_exceeded(tmp_path, engine):
    # buses of 20 every 2 min from 06:40: more riders than room; those left behind wait for the next bus
    res = run(bridged_line(tmp_path, 3000, {"headway_s": 120, "capacity": 20, "run_s": 600, "first_after_s": 600}),
              engine=engine)
    buses = res.trains[res.trains["line"].astype(str) == "cd_bus"]
    assert len(buses) > 0 and (buses["load_after"] <= 20).all() and (buses["capacity"] == 20).all()
    assert buses["boarded"].max() == 20
    on_bus = res.legs[(res.legs["line"].astype(str) == "cd_bus") & res.legs["t_board"].notna()]
    assert len(on_bus) == buses["boarded"].sum() > 40
    assert set(res.trips["status"].astype(str)) <= {"arrived", "left"}


@pytest.mark.parametrize("engine", ["bulk", "reference"])
def test_with_nothing_to_choose_the_tables_are_those_without_choices(tmp_path, engine):
    # one line, full trains (1,200 riders in an hour, 40 places every 5 min to 09:00: all carried by then), no
    # outside option: every choice on the way is to wait, so the tables equal those of a run with every decision
    # point off (but for the count of choices made)
    off = {"outside_option": None, "decisions": {"when_stranded": False, "after_denial": False, "fastest_train": False}}
    on = {"outside_option": None}
    runs = []
    for name, routing in (("off", off), ("on", on)):
        ln = T.line("L", [("A", 0.0), ("C", 6.0)], {"forward": T.headway("06:00", "09:00", 300)}, run_s={"A>C": 300},
                    capacity=40)
        net = T.network([T.station("A", 121.0), T.station("C", 121.06)], [ln])
        scn = T.scenario(1200, ["A"], ["C"], start="06:00", end="07:00", sim_end="10:00", routing=routing)
        runs.append(run(T.write(tmp_path / name, net, scn), engine=engine))
    a, b = runs
    assert b.trips["rechoices"].sum() > 100 and a.trips["rechoices"].sum() == 0
    for name in ("trips", "legs", "trains", "facilities", "fares"):
        x, y = getattr(a, name), getattr(b, name)
        if name == "trips":
            x, y = x.drop(columns="rechoices"), y.drop(columns="rechoices")
        pd.testing.assert_frame_equal(x, y, obj=name)


def closed_from_0630(tmp_path, engine: str, closure: dict):
    """Line L: A - B - C - D (120 s between stations, 30 s stops), every 5 min from 06:00; C - D closed
    06:30-07:30 (unless `closure` says otherwise), announced at 06:30; 2,000 commuters reach A for D
    06:25:10-06:30."""
    stops = [("A", 0.0), ("B", 2.0), ("C", 4.0), ("D", 6.0)]
    line = T.line("L", stops, {"forward": T.headway("06:00", "08:00", 300)},
                  run_s={"A>B": 120, "B>C": 120, "C>D": 120}, dwell_s=30, capacity=100000)
    net = T.network([T.station(s, 121.0 + 0.02 * i) for i, (s, _) in enumerate(stops)], [line])
    scn = T.scenario(2000, ["A"], ["D"], start="06:25:10", end="06:30", sim_end="08:30")
    scn["disruptions"] = [{"id": "cd", "line": "L", "between": ["C", "D"], "start": "06:30", "end": "07:30",
                           "announced": "06:30", **closure}]
    return run(T.write(tmp_path, net, scn), engine=engine)


def taxi_from_a_rather_than_1500_s_wait() -> float:
    """The logit probability, by hand, that a rider at A on closed_from_0630's line leaves for D by the
    default taxi (2 x 300 s wait, km x 1.3 at 30 km/h, 14 CNY to 3 km then 2.7 CNY/km; 40 CNY/h) rather
    than wait 1,500 s for a train that takes 420 s to D for 3 CNY (waits weighed twice)."""
    km = haversine_km(121.0, 121.06) * 1.3
    vot = 3600.0 / 40.0
    wait = 2 * 1500.0 + 420.0 + 3.0 * vot
    leave = 2 * 300.0 + km / 30.0 * 3600.0 + (14.0 + (km - 3.0) * 2.7) * vot
    return 1.0 / (1.0 + math.exp(-THETA * (wait - leave)))


@pytest.mark.parametrize("engine", ["bulk", "reference"])
def test_riders_told_of_a_closure_on_the_platform_wait_or_leave_by_hand_computed_logit(tmp_path, engine):
    # line L: A - B - C - D (120 s between stations, 30 s stops), every 5 min from 06:00; C - D closed 06:30-07:00,
    # announced at 06:30. 2,000 commuters reach A for D 06:25:10-06:30 (the 06:25 train has gone). At 06:30 they
    # learn that the trains until 06:50 end at C, and weigh (default taxi: 5 min, 30 km/h, 1.3 x straight km,
    # 14 CNY to 3 km, then 2.7 CNY/km):
    #   waiting for the 06:55 train: 2 x 1,500 s + 420 s aboard + 3 CNY / 40 CNY/h
    #   a taxi from A: 2 x 300 s + km x 1.3 / 30 km/h + fare / 40 CNY/h
    trips = closed_from_0630(tmp_path, engine, {"end": "07:00"}).trips
    p_leave = taxi_from_a_rather_than_1500_s_wait()
    left = trips[trips["status"] == "left"]
    share = len(left) / len(trips)
    assert abs(share - p_leave) < 4 * math.sqrt(p_leave * (1 - p_leave) / len(trips)), (share, p_leave)
    assert (left["left_station"].astype(str) == "A").all() and (left["t_left"] == 6.5 * H).all()
    stayed = trips[trips["status"] == "arrived"]
    assert len(stayed) + len(left) == len(trips)
    assert (stayed["t_arrive"] == 6 * H + 55 * 60 + 420).all()
    assert (trips["rechoices"] == 1).all()


@pytest.mark.parametrize("engine", ["bulk", "reference"])
def test_riders_aboard_told_of_a_closure_get_off_at_the_next_stop_by_hand_computed_logit(tmp_path, engine):
    # line L: A - B - C - D - E (120 s between stations, 30 s stops, room for all), every 5 min from 06:00; D - E
    # closed 06:28-07:00, announced at 06:28. The 06:25 train from A (C 06:29:30, D 06:32) was shown running to E
    # when its riders for E boarded; cut, it ends at D. At C, the first stop after the announcement, they weigh
    # (a taxi: 2 x 1,000 s wait, km x 1.4 at 30 km/h, 10 CNY to 6 km; 40 CNY/h):
    #   getting off for a taxi from C to E
    #   staying aboard: 150 s to D, then the cheaper there of a taxi D to E and waiting for the 06:55 train from
    #     A (leaves D 07:02:30): 2 x 1,830 s + 120 s aboard + 3 CNY
    stops = [("A", 0.0), ("B", 2.0), ("C", 4.0), ("D", 6.0), ("E", 8.0)]
    line = T.line("L", stops, {"forward": T.headway("06:00", "08:00", 300)},
                  run_s={"A>B": 120, "B>C": 120, "C>D": 120, "D>E": 120}, dwell_s=30, capacity=100000)
    net = T.network([T.station(s, 121.0 + 0.02 * i) for i, (s, _) in enumerate(stops)], [line])
    taxi = {"wait_s": 1000.0, "speed_kmh": 30.0, "detour_factor": 1.4, "fare_base_cny": 10.0, "base_km": 6.0,
            "fare_per_km_cny": 2.7}
    scn = T.scenario(3000, ["A"], ["E"], start="06:20:10", end="06:25", sim_end="08:30",
                     routing={"outside_option": taxi})
    scn["disruptions"] = [{"id": "de", "line": "L", "between": ["D", "E"], "start": "06:28", "end": "07:00",
                           "announced": "06:28"}]
    res = run(T.write(tmp_path, net, scn), engine=engine)
    trips, legs = res.trips.set_index("commuter_id"), res.legs
    vot = 3600.0 / 40.0

    def taxi_from(lon: float) -> float:
        return 2 * 1000.0 + haversine_km(lon, 121.08) * 1.4 / 30.0 * 3600.0 + 10.0 * vot

    stay = 150.0 + min(taxi_from(121.06), 2 * 1830.0 + 120.0 + 3.0 * vot)
    leave = taxi_from(121.04)
    p_leave = 1.0 / (1.0 + math.exp(-THETA * (stay - leave)))
    assert 0.2 < p_leave < 0.4
    at_c = trips[(trips["status"] == "left") & (trips["left_station"].astype(str) == "C")]
    n = len(trips)
    assert abs(len(at_c) / n - p_leave) < 4 * math.sqrt(p_leave * (1 - p_leave) / n), (len(at_c) / n, p_leave)
    assert (at_c["t_left"] == 6 * H + 29 * 60 + 30).all()
    # their ride on the 06:25 train ends at C, where they got off
    rode = legs[legs["commuter_id"].isin(at_c.index)]
    assert len(rode) == len(at_c) and (rode["t_board"] == 6 * H + 25 * 60).all()
    assert (rode["alight_station"].astype(str) == "C").all() and (rode["t_alight"] == 6 * H + 29 * 60 + 30).all()
    # the others stayed aboard to D, where the train turned back and put them off (and they chose again)
    rest = trips.drop(at_c.index)
    assert (rest["disruption"].astype(str) == "put_off").all() and (rest["rechoices"] >= 2).all()
    assert (trips["rechoices"] >= 1).all()
    # nobody is lost
    assert set(trips["status"].astype(str)) <= {"arrived", "left"} and len(trips) == 3000


def test_told_the_true_end_nobody_waits_55_minutes_and_the_tables_hold_without_a_boarding(tmp_path):
    # as below without an expected end: waiting costs 2 x 3,300 s + 420 s + 3 CNY, far above the taxi's
    res = closed_from_0630(tmp_path, "bulk", {})
    assert (res.trips["status"] == "left").all() and (res.trips["t_left"] == 6.5 * H).all()
    assert res.legs["t_board"].isna().all() and res.fares.empty


@pytest.mark.parametrize("engine", ["bulk", "reference"])
def test_a_closure_expected_to_end_sooner_is_weighed_as_announced_then_chosen_again(tmp_path, engine):
    # line L: A - B - C - D (120 s between stations, 30 s stops), every 5 min from 06:00; C - D closed 06:30-07:30,
    # announced at 06:30 as ending at 07:00. 2,000 commuters reach A for D 06:25:10-06:30 (the 06:25 train has
    # gone). At 06:30 they weigh (default taxi, as in the test above):
    #   waiting for the train they believe will run, the 06:55 from A: 2 x 1,500 s + 420 s aboard + 3 CNY
    #   a taxi from A: 2 x 300 s + km x 1.3 / 30 km/h + fare
    # At 07:00 the line is still closed: those still waiting learn that it ends at 07:30 and weigh the 07:25 train
    # (again 1,500 s away) against the taxi. (Weighing the trains that run at 06:30, nobody would wait 55 min.)
    trips = closed_from_0630(tmp_path, engine, {"expected_end": "07:00"}).trips
    p_leave = taxi_from_a_rather_than_1500_s_wait()
    assert 0.2 < p_leave < 0.5
    first = trips[(trips["status"] == "left") & (trips["t_left"] == 6.5 * H)]
    n = len(trips)
    assert abs(len(first) / n - p_leave) < 4 * math.sqrt(p_leave * (1 - p_leave) / n), (len(first) / n, p_leave)
    waited = n - len(first)
    second = trips[(trips["status"] == "left") & (trips["t_left"] == 7 * H)]
    assert abs(len(second) / waited - p_leave) < 4 * math.sqrt(p_leave * (1 - p_leave) / waited)
    stayed = trips[trips["status"] == "arrived"]
    assert len(stayed) + len(first) + len(second) == n
    assert (stayed["t_arrive"] == 7 * H + 25 * 60 + 420).all() and (stayed["rechoices"] == 2).all()
    assert (first["rechoices"] == 1).all() and (second["rechoices"] == 2).all()
