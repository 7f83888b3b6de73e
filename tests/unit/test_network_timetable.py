"""Run times, timetables and the patterns built from a line's branches (Y-shaped line, express skip)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sim.network import profile_run_time_s, timetable_departures
from sim.scenario import load_network
from sim.schema import SpeedProfile, TimetableSpec
from sim.timetable import build_trains

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NET = (FIXTURES / "toy_net.yaml").read_text(encoding="utf-8")

# --------------------------------------------------------------------------------------------------
# Run times


def hand_run_time(km, vmax_kmh, a, b, margin=0.0):
    """Accelerate at a, cruise at vmax if reached, brake at b (SI units), times (1 + margin)."""
    d, v = km * 1000.0, vmax_kmh / 3.6
    if d >= v * v / (2 * a) + v * v / (2 * b):  # trapezoidal speed profile
        t = d / v + v / (2 * a) + v / (2 * b)
    else:  # triangular: peak speed vp with vp^2/(2a) + vp^2/(2b) = d
        vp = math.sqrt(2 * d / (1 / a + 1 / b))
        t = vp / a + vp / b
    return t * (1 + margin)


def test_trapezoidal_run_time():
    # 80 km/h = 22.22 m/s needs 246.9 m to reach and 246.9 m to stop; 2 km cruises:
    # 2000 / 22.22 + 11.11 + 11.11 = 112.2 s
    prof = SpeedProfile(max_kmh=80, accel_ms2=1.0, decel_ms2=1.0)
    assert profile_run_time_s(2.0, prof) == 112.0
    assert profile_run_time_s(2.0, prof) == round(hand_run_time(2.0, 80, 1.0, 1.0))


def test_triangular_run_time():
    # 400 m never reaches 80 km/h: peak sqrt(2 * 400 / 2) = 20 m/s, 20 s up and 20 s down
    prof = SpeedProfile(max_kmh=80, accel_ms2=1.0, decel_ms2=1.0)
    assert profile_run_time_s(0.4, prof) == 40.0
    # asymmetric: a = 1, b = 0.5, 300 m: vp = sqrt(200) = 14.14 m/s, t = 14.14 + 28.28 = 42.4 s
    prof2 = SpeedProfile(max_kmh=100, accel_ms2=1.0, decel_ms2=0.5)
    assert profile_run_time_s(0.3, prof2) == 42.0


@pytest.mark.parametrize("km", [0.05, 0.3, 0.49, 0.5, 1.0, 2.5, 7.3, 20.0])
@pytest.mark.parametrize("vmax, a, b, margin", [(80, 1.0, 1.0, 0.0), (100, 0.8, 1.1, 0.07), (120, 1.2, 0.9, 0.2)])
def test_run_time_matches_hand_formula(km, vmax, a, b, margin):
    prof = SpeedProfile(max_kmh=vmax, accel_ms2=a, decel_ms2=b, margin=margin)
    assert profile_run_time_s(km, prof) == max(1, round(hand_run_time(km, vmax, a, b, margin)))


def test_run_time_margin_and_rounding():
    prof = SpeedProfile(max_kmh=80, accel_ms2=1.0, decel_ms2=1.0, margin=0.1)
    assert profile_run_time_s(2.0, prof) == 123.0  # 112.22 * 1.1 = 123.44 -> 123
    out = profile_run_time_s(2.0 + 0.012, SpeedProfile(max_kmh=80, accel_ms2=1.0, decel_ms2=1.0))
    assert out == 113.0 and out == int(out)  # 112.76 -> 113: whole seconds


def test_run_time_continuous_at_profile_change():
    # at exactly the distance where max speed is just reached both formulas agree
    prof = SpeedProfile(max_kmh=72, accel_ms2=1.0, decel_ms2=1.0)  # 20 m/s: reach 200 m + stop 200 m
    assert profile_run_time_s(0.4, prof) == 40.0
    assert profile_run_time_s(0.399, prof) == 40.0
    assert profile_run_time_s(0.401, prof) == 40.0


def test_run_time_at_least_one_second():
    prof = SpeedProfile(max_kmh=80, accel_ms2=1.0, decel_ms2=1.0)
    assert profile_run_time_s(0.00001, prof) == 1.0
    assert profile_run_time_s(0.0, prof) == 1.0


# --------------------------------------------------------------------------------------------------
# Timetables


def hm(text: str) -> float:
    h, m = text.split(":")
    return int(h) * 3600.0 + int(m) * 60.0


def test_headway_bands_step_by_band_of_previous_departure():
    spec = TimetableSpec(first="06:00", last="07:00",
                         headways=[{"from": "06:00", "headway_s": 300}, {"from": "06:20", "headway_s": 600}])
    expected = ["06:00", "06:05", "06:10", "06:15", "06:20", "06:30", "06:40", "06:50", "07:00"]
    assert timetable_departures(spec) == tuple(hm(t) for t in expected)


def test_band_change_not_on_a_departure():
    # 06:10 lies in the 10-min band, so the next departure is 06:20 although the 5-min band starts at 06:15
    spec = TimetableSpec(first="06:00", last="06:40",
                         headways=[{"from": "05:00", "headway_s": 600}, {"from": "06:15", "headway_s": 300}])
    expected = ["06:00", "06:10", "06:20", "06:25", "06:30", "06:35", "06:40"]
    assert timetable_departures(spec) == tuple(hm(t) for t in expected)


def test_last_departure_inclusive_and_not_exceeded():
    spec = TimetableSpec(first="06:00", last="06:30", headways=[{"from": "06:00", "headway_s": 600}])
    assert timetable_departures(spec)[-1] == hm("06:30")
    spec2 = TimetableSpec(first="06:00", last="06:29:59", headways=[{"from": "06:00", "headway_s": 600}])
    assert timetable_departures(spec2) == (hm("06:00"), hm("06:10"), hm("06:20"))


def test_single_departure_when_first_equals_last():
    spec = TimetableSpec(first="06:00", last="06:00", headways=[{"from": "06:00", "headway_s": 600}])
    assert timetable_departures(spec) == (hm("06:00"),)


def test_fractional_headways_round_each_departure_not_the_step():
    spec = TimetableSpec(first=0, last=10, headways=[{"from": 0, "headway_s": 2.4}])
    assert timetable_departures(spec) == (0.0, 2.0, 5.0, 7.0, 10.0)  # 0, 2.4, 4.8, 7.2, 9.6 rounded


def test_explicit_departures_sorted_and_whole_seconds():
    spec = TimetableSpec(departures=["07:10", "07:00", 25230.4, "06:59:59"])
    assert timetable_departures(spec) == (hm("06:59") + 59, hm("07:00"), 25230.0, hm("07:10"))


def test_timetable_needs_one_form():
    with pytest.raises(ValueError):
        TimetableSpec(first="06:00", last="07:00")
    with pytest.raises(ValueError):
        TimetableSpec(first="07:00", last="06:00", headways=[{"from": "06:00", "headway_s": 60}])
    with pytest.raises(ValueError):
        TimetableSpec(first="06:00", last="07:00", headways=[{"from": "06:30", "headway_s": 60}])


# --------------------------------------------------------------------------------------------------
# Patterns on the Y-shaped toy line


@pytest.fixture
def toy(tmp_path):
    def build(text: str = NET):
        (tmp_path / "net.yaml").write_text(text, encoding="utf-8")
        return load_network(tmp_path / "net.yaml")[0]
    return build


def pattern(net, pid):
    return next(p for p in net.patterns if p.id == pid)


def ids(net, stops):
    return [net.stations[s].id for s in stops]


def test_patterns_resolved_along_branches(toy):
    net = toy()
    assert sorted(p.id for p in net.patterns) == sorted(
        ["L1.trunk.forward", "L1.trunk.backward", "L1.branch.forward", "L1.branch.backward"])
    assert ids(net, pattern(net, "L1.trunk.forward").stops) == list("ABCD")
    assert ids(net, pattern(net, "L1.trunk.backward").stops) == list("DCBA")
    assert ids(net, pattern(net, "L1.branch.forward").stops) == list("ABCEF")
    assert ids(net, pattern(net, "L1.branch.backward").stops) == list("FECBA")
    assert pattern(net, "L1.branch.forward").km == (0.0, 2.0, 4.0, 6.5, 9.0)


def test_pattern_direction_from_km_posts(toy):
    net = toy()
    assert pattern(net, "L1.trunk.forward").direction == "up"
    assert pattern(net, "L1.trunk.backward").direction == "down"
    assert pattern(net, "L1.branch.forward").direction == "up"
    assert pattern(net, "L1.branch.backward").direction == "down"
    # a pattern written from the high km post to the low one runs "down" forward
    net2 = toy(NET.replace("stops: [A, D]", "stops: [D, A]"))
    assert pattern(net2, "L1.trunk.forward").direction == "down"
    assert ids(net2, pattern(net2, "L1.trunk.forward").stops) == list("DCBA")


def test_pattern_from_branch_to_branch_reverses_and_is_rejected(toy):
    # D -> C -> E -> F would reverse at the junction (km 6, 4, 6.5, 9)
    from sim.errors import UserError

    with pytest.raises(UserError) as info:
        toy(NET.replace("stops: [A, D]", "stops: [D, F]"))
    assert [p.path for p in info.value.problems] == ["lines[0].patterns[0].stops"]


def test_via_stop_picks_the_branch(toy):
    net = toy(NET.replace("stops: [A, F]", "stops: [B, E, F]"))
    assert ids(net, pattern(net, "L1.branch.forward").stops) == list("BCEF")


def test_platforms_shared_by_trunk_and_branch_patterns(toy):
    net = toy()
    tf, bf = pattern(net, "L1.trunk.forward"), pattern(net, "L1.branch.forward")
    tb, bb = pattern(net, "L1.trunk.backward"), pattern(net, "L1.branch.backward")
    # common stations A, B, C: the same platform per direction
    assert tf.platforms[:3] == bf.platforms[:3]
    assert tb.platforms[-3:] == bb.platforms[-3:]
    # the two directions use different platforms
    assert set(tf.platforms).isdisjoint(tb.platforms)
    for plat_idx, st in zip(tf.platforms, tf.stops):
        plat = net.platforms[plat_idx]
        assert (plat.station, plat.direction) == (st, "up")
    # one platform per (station, line, direction): A-D up/down (8) + E, F up/down (4)
    assert len(net.platforms) == 12


def test_run_and_dwell_offsets(toy):
    net = toy()
    p = pattern(net, "L1.trunk.forward")
    prof = SpeedProfile(max_kmh=80, accel_ms2=1.0, decel_ms2=1.0)
    run2 = profile_run_time_s(2.0, prof)
    assert p.arr_offset == (0.0, run2, 2 * run2 + 30, 3 * run2 + 60)
    assert p.dep_offset == (0.0, run2 + 30, 2 * run2 + 60, 3 * run2 + 60)  # default dwell 30 s, none at the end
    b = pattern(net, "L1.branch.forward")
    run25 = profile_run_time_s(2.5, prof)
    assert b.arr_offset[3] - b.dep_offset[2] == run25


def test_express_skip(toy):
    net = toy(NET.replace("stops: [A, D]\n", "stops: [A, D]\n        skip: [B]\n"))
    p = pattern(net, "L1.trunk.forward")
    assert ids(net, p.stops) == list("ACD")
    prof = SpeedProfile(max_kmh=80, accel_ms2=1.0, decel_ms2=1.0)
    assert p.arr_offset[1] == profile_run_time_s(4.0, prof)  # one run A -> C, no stop at B
    assert ids(net, pattern(net, "L1.trunk.backward").stops) == list("DCA")
    # the express still calls at the shared platforms of A and C
    bf = pattern(net, "L1.branch.forward")
    assert p.platforms[0] == bf.platforms[0] and p.platforms[1] == bf.platforms[2]


def test_run_s_override_and_dwell_at(toy):
    text = NET.replace("    capacity: 1000\n",
                       "    capacity: 1000\n    run_s: {B>A: 200}\n    dwell_s: 20\n    dwell_s_at: {B: 45}\n", 1)
    net = toy(text)
    p = pattern(net, "L1.trunk.forward")
    assert p.arr_offset[1] == 200.0  # both directions use the override
    assert p.dep_offset[1] == 245.0
    q = pattern(net, "L1.trunk.backward")
    assert q.arr_offset[3] - q.dep_offset[2] == 200.0
    assert q.dep_offset[1] - q.arr_offset[1] == 20.0


def test_pattern_capacity_and_departures(toy):
    text = NET.replace("      - id: branch\n        stops: [A, F]\n",
                       "      - id: branch\n        stops: [A, F]\n        capacity: 600\n")
    net = toy(text)
    assert pattern(net, "L1.trunk.forward").capacity == 1000
    assert pattern(net, "L1.branch.forward").capacity == 600
    dep = pattern(net, "L1.branch.forward").departures
    assert dep[0] == hm("06:02") and dep[-1] == hm("09:57") and len(dep) == 48


def test_build_trains_calls(toy):
    net = toy()
    trains = build_trains(net, hm("06:00"), hm("07:00"))
    p = pattern(net, "L1.trunk.forward")
    k = trains.train_id.index("L1.trunk.forward@06:05:00")
    calls = slice(trains.call_start[k], trains.call_start[k + 1])
    assert ids(net, trains.call_station[calls]) == list("ABCD")
    assert list(trains.call_t_arr[calls]) == [hm("06:05") + a for a in p.arr_offset]
    assert list(trains.call_t_dep[calls]) == [hm("06:05") + d for d in p.dep_offset]
    # every train overlapping [06:00, 07:00): 12 departures per pattern and direction
    assert trains.n_trains == 4 * 12
    firsts = [trains.call_t_dep[s] for s in trains.call_start[:-1]]
    assert firsts == sorted(firsts)


# --------------------------------------------------------------------------------------------------
# A pattern's own timing


def timed_line(tmp_path: Path, times: list) -> Path:
    import yaml

    import toynet as T

    stops = [("A", 0.0), ("B", 2.0), ("C", 4.0)]
    patterns = [{"id": "all", "stops": ["A", "C"], "timetable": {"forward": T.headway("06:00", "07:00", 600)}},
                {"id": "timed", "stops": ["A", "C"],
                 "timetable": {"forward": {"departures": ["06:05", "06:25"], "times": times}}}]
    ln = T.line("L", stops, {}, run_s={"A>B": 120, "B>C": 120}, dwell_s=30, patterns=patterns)
    net = T.network([T.station(s, 121.0 + 0.02 * i) for i, (s, _) in enumerate(stops)], [ln])
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump(net), encoding="utf-8")
    return path


def test_a_pattern_with_times_of_its_own_keeps_them_and_the_others_the_lines(tmp_path):
    network = load_network(timed_line(tmp_path, [[0, 0], [200, 245], [400, 400]]))[0]
    own = {p.id: p for p in network.patterns}
    assert own["L.timed.forward"].arr_offset == (0.0, 200.0, 400.0)
    assert own["L.timed.forward"].dep_offset == (0.0, 245.0, 400.0)
    assert own["L.all.forward"].arr_offset == (0.0, 120.0, 270.0)  # run_s and the 30 s dwell
    trains = build_trains(network, 6 * 3600, 8 * 3600)
    timed = [k for k, tid in enumerate(trains.train_id) if tid.startswith("L.timed")]
    for k in timed:
        lo = int(trains.call_start[k])
        t0 = trains.call_t_dep[lo]
        assert list(trains.call_t_arr[lo + 1: lo + 3] - t0) == [200.0, 400.0]
        assert trains.call_t_dep[lo + 1] - t0 == 245.0


@pytest.mark.parametrize("times,message", [
    ([[0, 0], [200, 200]], "gives 2 calls; the pattern has 3 stops"),
    ([[0, 0], [200, 190], [400, 400]], "must not run backwards"),
    ([[5, 5], [200, 245], [400, 400]], "needs a [0, 0] first stop"),
])
def test_times_that_do_not_fit_the_pattern_are_refused_at_their_field(tmp_path, times, message):
    from sim.errors import UserError

    with pytest.raises(UserError) as err:
        load_network(timed_line(tmp_path, times))
    text = str(err.value)
    assert "net.yaml" in text and "patterns[1].timetable.forward" in text and message in text
