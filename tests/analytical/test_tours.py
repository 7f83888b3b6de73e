"""Tours over a whole day (schema.TourSpec, demand.return_starts, api._iterate_tours).

One line A - B - C, a train every 5 min from 05:30 to 23:30 each way, no gates or walks; commuters
go from A to C in the morning and come back from C to A. Checked: every commuter makes both
journeys and each return starts after its outbound journey arrived (conservation over tours); the
stay counts from the expected arrival (by hand); returns planned before that arrival start exactly
at it, also when it is the end of a queue at the exit gates, and never while it is still travelling; the drawn stay follows the truncated normal; KPI windows that partition the day add up to
the day's KPIs; the reference engine makes the same tours, also when returns fall due while what
they wait for queues for hours at slow entrances; how far ahead the bulk engine serves what returns
wait for changes nothing in the trips.
"""

from __future__ import annotations

import numpy as np
import pytest
from pandas import testing as pd_testing
from pydantic import ValidationError
from scipy import stats

import toynet as T
from sim.api import run
from sim.demand import return_starts
from sim.errors import UserError
from sim.schema import SegmentSpec, TourSpec

N = 600
DAY = {"early": ["05:30", "07:00"], "am_peak": ["07:00", "09:30"], "inter_peak": ["09:30", "17:00"],
       "pm_peak": ["17:00", "19:30"], "evening": ["19:30", "23:30"]}


EXPECTED_S = 300 / 2 + 420 + 30 + 540  # A to C: half a headway's wait, the two runs and the stop at B


GATES = {"entry_gates": {"kind": "gate", "servers": 1, "service": {"dist": "exponential", "mean_s": 3.0}},
         "exit_gates": {"kind": "gate", "servers": 1, "service": {"dist": "exponential", "mean_s": 3.0}}}
"""One gate in and one out per station, 3 s on average: trains unloading at C queue at its exit."""


def _scenario(tmp_path, tour: dict, capacity: int = 1000, gates: bool = False, routing: dict | None = None,
              op: dict | None = None, both_ways: bool = False, **demand):
    """`op`: the operator, instead of GATES (`gates`) or no facilities; `both_ways`: commuters start
    at A and at C."""
    if op is None:
        op = (T.operator("OP", facilities=GATES, entry=[{"walk_s": 20}, "entry_gates"], exit=["exit_gates", {"walk_s": 20}])
              if gates else T.operator("OP", facilities={}, entry=[], exit=[]))
    every = T.headway("05:30", "23:30", 300)
    line = T.line("L", [("A", 0.0), ("B", 6.0), ("C", 14.0)], {"forward": every, "backward": every},
                  run_s={"A>B": 420, "B>C": 540}, dwell_s=30.0, capacity=capacity)
    ends = ["A", "C"] if both_ways else None
    scn = T.scenario(N, ends or ["A"], ends or ["C"], start="05:30", end="23:30", sim_end="23:59",
                     profile=[["05:30", 0.0], ["07:30", 1.0], ["09:30", 0.0], ["23:30", 0.0]])
    scn["demand"]["segments"][0]["tour"] = tour
    scn["routing"] = routing or {}
    scn["demand"].update(demand)
    scn["kpis"] = {"windows": DAY}
    net = T.network([T.station("A", 121.0), T.station("B", 121.06), T.station("C", 121.14)], [line], operators=[op])
    return T.write(tmp_path, net, scn)


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    return run(_scenario(tmp_path_factory.mktemp("day"), {"mean_h": 9.5, "sd_h": 1.0, "min_h": 4.0}))


def test_every_commuter_goes_and_comes_back(day):
    trips = day.trips
    assert len(trips) == 2 * N
    assert (trips["status"] == "arrived").all()
    out, back = trips[trips["tour_leg"] == "outbound"], trips[trips["tour_leg"] == "return"]
    assert len(out) == len(back) == N
    partner = back["tour_partner"].to_numpy()
    assert sorted(partner) == sorted(out["commuter_id"])  # each outbound journey has exactly one return
    first = trips.set_index("commuter_id").loc[partner]
    assert (back["origin"].astype(str).to_numpy() == first["destination"].astype(str).to_numpy()).all()
    assert (back["destination"].astype(str).to_numpy() == first["origin"].astype(str).to_numpy()).all()
    assert (back["t_depart"].to_numpy() >= first["t_arrive"].to_numpy()).all()
    # the stay counts from the expected arrival: at least min_h, about mean_h on average
    stay_h = (back["t_depart"].to_numpy() - first["t_depart"].to_numpy() - EXPECTED_S) / 3600.0
    assert stay_h.min() >= 4.0 - 1e-9 and stay_h.mean() == pytest.approx(9.5, abs=4 * 1.0 / np.sqrt(N))
    assert day.summary["tours"] == {"tours": N, "returns_moved": 0, "returns_before_outbound_arrival": 0,
                                    "outbound_not_arrived": 0, "returns_not_started": 0}


def test_returns_planned_before_the_arrival_start_at_it(tmp_path):
    # trains of 10 places for 600 commuters in two hours: the outbound journeys wait for trains with
    # room, far longer than expected, and most returns (a stay of 36 s) are planned before they arrive
    res = run(_scenario(tmp_path, {"mean_h": 0.01}, capacity=10))
    trips = res.trips.set_index("commuter_id")
    back = trips[trips["tour_leg"] == "return"]
    first = trips.loc[back["tour_partner"].to_numpy()]
    tours = res.summary["tours"]
    # the engine holds each such return until its outbound journey has arrived
    assert tours["returns_before_outbound_arrival"] == 0 and tours["outbound_not_arrived"] == 0
    moved = np.isclose(back["t_depart"].to_numpy(), first["t_arrive"].to_numpy(), rtol=0, atol=1e-9)
    assert tours["returns_moved"] == moved.sum() > N / 2
    assert (back["t_depart"].to_numpy() >= first["t_arrive"].to_numpy()).all()
    assert (back["status"] == "arrived").all()


def test_the_stay_follows_the_truncated_normal():
    spec = TourSpec(mean_h=9.0, sd_h=2.0, min_h=6.0)
    rng = np.random.default_rng(3)
    n = 200_000
    t_out = np.full(n, 8 * 3600.0)
    stay_h = (return_starts(spec, t_out, 19 * 3600.0, rng.random(n)) - t_out) / 3600.0
    a, b = (6.0 - 9.0) / 2.0, (11.0 - 9.0) / 2.0  # truncated to [min_h, the period's end - 08:00]
    theory = stats.truncnorm(a, b, loc=9.0, scale=2.0)
    assert stay_h.min() >= 6.0 and stay_h.max() < 11.0
    se = theory.std() / np.sqrt(n)
    assert abs(stay_h.mean() - theory.mean()) < 4 * se
    assert stay_h.std() == pytest.approx(theory.std(), rel=0.01)
    # the upper tail of a far-off mean is still drawn inside its bounds, not at one end
    far = (return_starts(TourSpec(mean_h=20.0, sd_h=1.0), t_out, 17 * 3600.0, rng.random(n)) - t_out) / 3600.0
    tail = stats.truncnorm((0.0 - 20.0) / 1.0, (9.0 - 20.0) / 1.0, loc=20.0, scale=1.0)
    assert far.max() < 9.0 and far.min() > 7.0  # an exponential-like tail of rate 11 per hour below 9 h
    assert abs(far.mean() - tail.mean()) < 4 * tail.std() / np.sqrt(n)


def test_windows_that_partition_the_day_add_up(day):
    s = day.summary
    windows = [s["windows"][name] for name in DAY]
    assert sum(w["commuters"] for w in windows) == s["commuters"] == 2 * N
    assert sum(w["arrived"] for w in windows) == s["arrived"]
    mean = sum(w["commuters"] * w["travel_time_mean_s"] for w in windows if w["commuters"]) / s["commuters"]
    assert mean == pytest.approx(s["travel_time_mean_s"], abs=0.1)  # summary means are rounded to 0.1 s
    for op, revenue in s["fare_revenue_cny"].items():
        assert sum(w["fare_revenue_cny"].get(op, 0.0) for w in windows) == pytest.approx(revenue, abs=0.05)


def test_tours_are_refused_where_they_cannot_run_yet(tmp_path):
    with pytest.raises(UserError, match="'tour' and departure_time"):
        _scenario(tmp_path, {"mean_h": 9.0}, departure_time={"window_s": 3600})
    with pytest.raises(UserError, match="must not exceed 'mean_h'"):
        _scenario(tmp_path, {"mean_h": 2.0, "min_h": 3.0})


def test_tours_between_zones_are_refused_with_a_reason():
    with pytest.raises(ValidationError, match="'tour' is not offered yet for commuters drawn between zones"):
        SegmentSpec.model_validate({"name": "z", "share": 1, "zones": {}, "tour": {"mean_h": 9}, "profile": "p",
                                    "payment": {"qr": 1}})


def test_the_reference_engine_makes_the_same_tours(tmp_path):
    # returns moved to their outbound arrival, then the same trips, one process per commuter
    sc = _scenario(tmp_path, {"mean_h": 0.01}, capacity=10)
    bulk, ref = run(sc, engine="bulk"), run(sc, engine="reference")
    cols = ["commuter_id", "tour_leg", "tour_partner", "t_depart", "t_arrive", "status"]
    assert bulk.trips[cols].equals(ref.trips[cols])
    assert bulk.summary["tours"] == ref.summary["tours"]


def _planned_start(sc) -> np.ndarray:
    """Each journey's start as demand and the placement of returns drew it (before any hold)."""
    from sim.api import prepare

    return prepare(sc).plan.t_depart


def test_a_return_held_at_the_exit_queue_starts_when_its_outbound_journey_ends(tmp_path):
    # a stay of 36 s: many returns are planned before their outbound journey, slowed by the
    # queue at C's single exit gate when a train unloads, has arrived; it starts when that journey
    # leaves the gate and its walk (the same instant), then queues at C's entry gate with the others
    sc = _scenario(tmp_path, {"mean_h": 0.01}, gates=True)
    planned = _planned_start(sc)
    bulk, ref = run(sc, engine="bulk"), run(sc, engine="reference")
    trips = bulk.trips.set_index("commuter_id")
    back = trips[trips["tour_leg"] == "return"]
    outbound = trips.loc[back["tour_partner"].to_numpy()]
    want = np.maximum(planned[back.index.to_numpy()], outbound["t_arrive"].to_numpy())
    assert back["t_depart"].to_numpy().tolist() == want.tolist()  # exact: the later of the two
    assert (back["t_depart"].to_numpy() > planned[back.index.to_numpy()]).sum() == bulk.summary["tours"]["returns_moved"] > N / 4
    queued = bulk.facilities[bulk.facilities["facility_id"].astype(str).str.endswith("exit_gates")]
    assert (queued["t_start"] - queued["t_join"]).max() > 10.0  # the exit gate did queue
    pd_testing.assert_frame_equal(bulk.trips, ref.trips)
    pd_testing.assert_frame_equal(bulk.facilities, ref.facilities)
    assert bulk.summary["tours"] == ref.summary["tours"]


def test_returns_held_behind_a_slow_entrance_start_as_the_reference_engine_starts_them(tmp_path):
    # one entry gate of 60 s per station and nothing else: the journeys queue for hours at the gates,
    # returns (stays of 36 s) fall due while the journeys they wait for queue or ride, and start the
    # moment those alight, at entrances where journeys from the street queue too. The bulk engine
    # serves those entrances ahead of the clock (waiting.WaitingJourneys.ahead), and only up to the
    # train's time while a return there is overdue: served further, the returns would queue behind
    # journeys that came after them
    gate = {"kind": "gate", "servers": 1, "service": {"dist": "exponential", "mean_s": 60.0}}
    op = T.operator("OP", facilities={"entry_gates": gate}, entry=["entry_gates"], exit=[])
    sc = _scenario(tmp_path, {"mean_h": 0.01}, op=op, both_ways=True)
    bulk, ref = run(sc, engine="bulk"), run(sc, engine="reference")
    assert bulk.summary["tours"]["returns_moved"] > 0.9 * N
    waited = bulk.facilities["t_start"] - bulk.facilities["t_join"]
    assert waited.max() > 3600.0  # the journeys did queue for hours
    pd_testing.assert_frame_equal(bulk.trips, ref.trips)
    pd_testing.assert_frame_equal(bulk.facilities, ref.facilities)
    assert bulk.summary["tours"] == ref.summary["tours"]


def test_a_return_never_starts_while_its_outbound_journey_travels(tmp_path):
    # trains of 1 place each way for 600 commuters: 217 trains carry at most 217 of them to C by the
    # end; the others (who wait on, choosing nothing on the way) are still waiting for a train with
    # room, and their returns wait too
    sc = _scenario(tmp_path, {"mean_h": 0.01}, capacity=1, gates=True,
                   routing={"decisions": {"when_stranded": False, "after_denial": False, "fastest_train": False}})
    planned = _planned_start(sc)
    res = run(sc)
    trips = res.trips.set_index("commuter_id")
    back = trips[trips["tour_leg"] == "return"]
    outbound = trips.loc[back["tour_partner"].to_numpy()]
    travelling = outbound["status"].to_numpy() == "in_system"
    tours = res.summary["tours"]
    arrived = int((outbound["status"] == "arrived").sum())
    assert arrived <= 217  # one place on each of the 217 trains to C
    assert travelling.sum() == tours["returns_not_started"] == tours["outbound_not_arrived"] == N - arrived > N / 2
    idle = back[travelling]
    assert (idle["status"] == "in_system").all() and idle["t_arrive"].isna().all()
    assert idle["t_depart"].to_numpy().tolist() == planned[idle.index.to_numpy()].tolist()  # as drawn: never held
    started = res.facilities[res.facilities["commuter_id"].isin(idle.index)]
    assert started.empty  # none of them reached a gate
    assert tours["returns_before_outbound_arrival"] == 0


def test_how_far_ahead_returns_are_served_sets_the_speed_not_the_results(tmp_path, monkeypatch):
    # engine.waiting.LOOKAHEAD_S: how long before a return's start the end it waits for is served;
    # short stays, full trains and queues at the gates, so that returns wait on journeys still in queues
    from sim.engine import waiting

    sc = _scenario(tmp_path, {"mean_h": 0.3, "sd_h": 0.2, "min_h": 0.05}, capacity=10, gates=True)
    trips = []
    for lookahead in (60.0, 900.0, 14400.0):
        monkeypatch.setattr(waiting, "LOOKAHEAD_S", lookahead)
        trips.append(run(sc).trips)
    assert (trips[0]["denied_boardings"] > 0).any()
    for other in trips[1:]:
        pd_testing.assert_frame_equal(trips[0], other, check_exact=True)
