"""Reserved seats (national railways): a rider holds a ticket for one train and boards that train only;
a train never carries more than its seats plus its standing tickets on any section; riders who bought
ahead chose their train before the day, the others buy on the platform; a rider who misses their
train buys again for a later one."""

from __future__ import annotations

import numpy as np
import pytest

import toynet as T
from sim.api import run
from sim.errors import UserError

DEPARTURES = 7 * 3600 + 600 * np.arange(19)  # every 10 min, 07:00-10:00


def reserved_line(seats: int, standing: int = 0, advance_share: float = 1.0, margin_s: float = 600.0,
                  capacity: int = 1000) -> dict:
    ln = T.line("R", [("A", 0.0), ("B", 4.0), ("C", 8.0)], T.headway("07:00", "10:00", 600), capacity=capacity,
                run_s={"A>B": 300, "B>C": 300})
    ln["patterns"][0]["timetable"] = {"forward": T.headway("07:00", "10:00", 600)}
    ln["reservations"] = {"seats": seats, "standing": standing, "advance_share": advance_share,
                          "booking_margin_s": margin_s}
    return ln


def stations(**extra) -> list[dict]:
    return [T.station("A", 121.0, **extra), T.station("B", 121.04), T.station("C", 121.08)]


def both_engines(tmp_path, net, scn):
    scenario = T.write(tmp_path, net, scn)
    bulk, ref = run(scenario, engine="bulk"), run(scenario, engine="reference")
    assert bulk.trips.equals(ref.trips) and bulk.legs.equals(ref.legs) and bulk.trains.equals(ref.trains)
    return bulk


def test_advance_buyers_board_their_own_train_only(tmp_path):
    # riders reach A's platform (no entry steps, so exactly when they planned) 07:20-08:00, every one booked
    # ahead with a 600 s margin and plenty of seats: each boards the first train leaving at least 600 s after
    # they arrive, never the earlier train that has room
    net = T.network(stations(), [reserved_line(seats=500)])
    res = both_engines(tmp_path, net, T.scenario(300, ["A"], ["C"], start="07:20", end="08:00", sim_end="11:00"))
    legs = res.legs
    t = legs["t_platform"].to_numpy()
    booked = DEPARTURES[np.searchsorted(DEPARTURES, t + 600 - 1e-9)]
    np.testing.assert_array_equal(legs["t_board"].to_numpy(), booked)
    assert (booked - t >= 600).all() and (legs["ticket"] == "seat").all() and (legs["missed_trains"] == 0).all()
    assert legs["booked_ahead"].all()
    kpi = res.summary["reserved_seats"]["R"]
    assert kpi["booked_ahead_share"] == 1.0 and kpi["wait_bought_on_the_day_mean_s"] is None
    assert kpi["wait_booked_ahead_mean_s"] == pytest.approx((booked - t).mean(), abs=0.05)
    # without the reservations the same riders take the first train after they arrive
    plain = T.network(stations(), [{k: v for k, v in reserved_line(500).items() if k != "reservations"}])
    legs_plain = run(T.write(tmp_path / "plain", plain, T.scenario(300, ["A"], ["C"], start="07:20", end="08:00",
                                                                    sim_end="11:00"))).legs
    np.testing.assert_array_equal(legs_plain["t_board"].to_numpy(), DEPARTURES[np.searchsorted(DEPARTURES, t - 1e-9)])


@pytest.mark.parametrize("advance_share, operations", [(1.0, "timetable"), (0.0, "timetable"), (0.5, "timetable"),
                                                        (0.5, "dynamic")])
def test_a_train_never_carries_more_than_its_seats_and_standing_tickets(tmp_path, advance_share, operations):
    # 6 seats and 4 standing tickets a train; riders A->C, A->B and B->C, far more than the trains sell
    line = reserved_line(seats=6, standing=4, advance_share=advance_share, capacity=10)
    if operations == "dynamic":  # dwells from passenger flows: the doors stay open past the timetable, trains run late
        line["dwell_s"] = 5
        line["operations"] = {"door_channels": 1, "door_time_s": 10, "boarding_s": 4.0, "alighting_s": 3.0,
                              "max_dwell_s": 120, "seats": 6, "standing_area_m2": 2.0}
    net = T.network(stations(), [line])
    scn = T.scenario(400, ["A", "B"], ["B", "C"], start="07:00", end="08:00", sim_end="10:30", operations=operations)
    res = both_engines(tmp_path, net, scn)
    trains, legs = res.trains, res.legs
    assert trains["load_after"].max() == 10 and (trains["load_after"] <= 10).all()
    if operations == "dynamic":
        assert (trains["delay_s"] > 0).any()
    assert (res.trips["denied_boardings"] == 0).all()  # nobody with a ticket is left behind
    # on each section (A-B, B-C) of each train: at most 6 seated and 4 standing
    boarded = legs[legs["t_board"].notna()]
    for section, board_at in (("A-B", ["A"]), ("B-C", ["A", "B"])):
        on = boarded[boarded["board_station"].isin(board_at)
                     & ((boarded["alight_station"] == "C") if section == "B-C" else True)]
        per_train = on.groupby(["train_id", "ticket"], observed=True).size().unstack(fill_value=0)
        assert per_train["seat"].max() == 6 and (per_train["seat"] <= 6).all()
        assert (per_train.get("standing", 0) <= 4).all()
    # seats are sold before standing tickets: no train has a standing rider on a section with a free seat
    full = boarded.groupby("train_id", observed=True)["ticket"].agg(lambda s: (s == "standing").any())
    assert full.any()
    # conservation: every rider arrived, is still waiting or aboard at the end
    assert len(res.trips) == 400
    kpi = res.summary["reserved_seats"]["R"]
    assert kpi["rides"] == len(boarded) == trains["boarded"].sum()
    # riders draw booking ahead with the line's share; those who found nothing ahead bought on the day
    ahead = boarded["booked_ahead"]
    assert kpi["booked_ahead_share"] == pytest.approx(ahead.mean(), abs=1e-4)
    if advance_share == 0.0:
        assert not ahead.any()
    elif advance_share == 0.5:
        assert 0.3 < ahead.mean() < 0.7
    assert kpi["standing_share"] == pytest.approx((boarded["ticket"] == "standing").mean(), abs=1e-4)
    assert kpi["without_ticket"] == legs["t_board"].isna().sum()


def test_riders_buying_on_the_platform_take_the_first_train_with_a_ticket_left(tmp_path):
    # station buyers only, gates closing 120 s before departure, one seat a train: of riders present when a
    # train's gates close, the first in line gets its one seat, the rest the next train's, in arrival order
    net = T.network(stations(boarding_closes_s=120), [reserved_line(seats=1, advance_share=0.0)])
    scn = T.scenario(12, ["A"], ["C"], start="07:00", end="07:30", sim_end="11:00")
    res = both_engines(tmp_path, net, scn)
    legs = res.legs.sort_values(["t_platform", "commuter_id"])
    assert (legs["ticket"] == "seat").all()
    boards = legs["t_board"].to_numpy()
    assert len(np.unique(boards)) == len(boards)  # one rider a train
    # by hand: in arrival order each takes the first train whose gates close after they arrive and whose seat
    # nobody took
    taken: set[float] = set()
    for tp, tb in zip(legs["t_platform"], boards):
        expect = next(d for d in DEPARTURES if d - 120 >= tp and d not in taken)
        assert tb == expect
        taken.add(expect)


def test_a_rider_who_misses_their_train_buys_again_for_a_later_one(tmp_path):
    # a one-server entry gate of 90 s each: riders arriving together queue, but booked ahead as if there were
    # no queue; those late for their train rebook, and the trains still carry no more than they sell
    facilities = {"gate_in": T.gate(servers=1, mean_s=90.0)}
    op = T.operator(facilities=facilities, entry=["gate_in"])
    net = T.network(stations(), [reserved_line(seats=3, margin_s=60.0, capacity=3)], operators=[op])
    scn = T.scenario(40, ["A"], ["C"], start="07:30", end="07:35", sim_end="11:00")
    res = both_engines(tmp_path, net, scn)
    legs = res.legs
    missed = legs["missed_trains"] > 0
    assert missed.any() and (~missed).any()
    assert (res.trains["load_after"] <= 3).all()
    # those who missed boarded a later train after reaching the platform; a seat they held rode empty, so
    # the last ones find no train with a ticket left and, when the last train has gone, leave (not lost)
    boarded = legs["t_board"].notna()
    assert (legs.loc[missed & boarded, "t_board"] > legs.loc[missed & boarded, "t_platform"]).all()
    assert (missed & boarded).any() and (missed & ~boarded).any()
    waiting = res.trips.set_index("commuter_id").loc[legs.loc[~boarded, "commuter_id"], "status"]
    assert (waiting == "left").all()
    assert boarded.sum() == res.trains["boarded"].sum() and boarded.sum() < 19 * 3
    kpi = res.summary["reserved_seats"]["R"]
    assert kpi["missed_trains"] == legs["missed_trains"].sum() > 0 and kpi["without_ticket"] == (~boarded).sum()


def test_reservations_must_fit_the_train_and_run_no_through_trains(tmp_path):
    net = T.network(stations(), [reserved_line(seats=900, standing=200, capacity=1000)])
    with pytest.raises(UserError) as err:
        T.write(tmp_path, net, T.scenario(10, ["A"], ["C"]))
    assert "900 seats + 200 standing tickets" in str(err.value) and "reservations" in str(err.value)


def test_an_advance_buyer_finding_no_train_after_their_margin_buys_on_the_platform(tmp_path):
    # the last train leaves at 07:30 with 2 seats; riders reaching the platform 07:24-07:26 find no train
    # leaving 600 s later to book ahead, so they buy on the platform: the first two in arrival order ride
    # the 07:30, the third finds it sold out and leaves when the last train has gone
    ln = reserved_line(seats=2, margin_s=600.0)
    ln["patterns"][0]["timetable"] = {"forward": T.headway("07:00", "07:30", 600)}
    net = T.network(stations(), [ln])
    res = both_engines(tmp_path, net, T.scenario(3, ["A"], ["C"], start="07:24", end="07:26", sim_end="10:00"))
    legs = res.legs.sort_values(["t_platform", "commuter_id"])
    assert legs["t_board"].iloc[:2].tolist() == [7.5 * 3600] * 2 and np.isnan(legs["t_board"].iloc[2])
    assert legs["ticket"].astype(str).tolist() == ["seat", "seat", ""]
    assert not legs["booked_ahead"].any()  # nothing could be booked ahead: bought on the platform
    assert res.summary["reserved_seats"]["R"]["without_ticket"] == 1
