"""When route choice takes a leg's crowding, against hand computation: on the toy line A-B-C-D
(a train every 5 min from 06:25, 15 min from leaving one platform to leaving the next: 870 s
run plus 30 s dwell), a leg is measured on each platform at the time its train is expected
there, not in the bin in which it is boarded. The loads of the trains leaving each platform are
given (a trains table as the simulation writes it): every train leaves A with 50 riders (100
seats); those leaving A from 06:30 to before 09:30 fill up at B and leave B and C with 200.

Multipliers (CrowdingSpec defaults): 50 riders 1 + 0.19 * 50 / 100 = 1.095; 200 riders
(100 * 1.19 + 100 * 2.32) / 200 = 1.755. Wait bins are quarter hours from 06:00 (bin 0), 16 of
them; the last (bin 15) holds every train leaving from 09:45 on: at C those that left A from 09:15
to 10:30, 3 with 200 riders and 13 with 50.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import toynet as T
from sim.crowding import PlatformLookup, leg_paths, measure
from sim.network import Network
from sim.routing import LegNetwork
from sim.schema import CrowdingSpec

M50, M200 = 1.095, 1.755
M_C_LAST = (3 * M200 + 13 * M50) / 16  # C in bin 15
SERVICE = "L.all.forward"
OPS = {"door_channels": 1, "door_time_s": 0, "boarding_s": 0, "alighting_s": 0, "seats": 100,
       "standing_area_m2": 50.0}


def hms(text: str) -> float:
    h, m, s = (int(x) for x in (text + ":00")[:8].split(":"))
    return h * 3600.0 + m * 60.0 + s


def train_id(t0: float) -> str:
    """Id of the train leaving A at t0 (s), as in the trains table."""
    t = int(t0)
    return f"{SERVICE}@{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"


@pytest.fixture(scope="module")
def routed(tmp_path_factory) -> tuple[Network, LegNetwork]:
    stops = [("A", 0.0), ("B", 10.0), ("C", 20.0), ("D", 30.0)]
    ln = T.line("L", stops, {"forward": T.headway("06:25", "10:30", 300)},
                run_s={"A>B": 870, "B>C": 870, "C>D": 870}, dwell_s=30)
    ln["operations"] = OPS
    net = T.network([T.station(s, 121.0 + km / 100) for s, km in stops], [ln])
    scn = T.write(tmp_path_factory.mktemp("timing"), net, T.scenario(10, ["A"], ["D"], start="06:00", end="08:00"))
    return scn.network, LegNetwork(scn.network, scn.model.period.start, scn.model.period.end)


def trains_table() -> pd.DataFrame:
    """Every train's calls at A, B and C (15 and 30 min after A) with the loads of the module
    docstring, and at D (its last stop: it leaves empty)."""
    rows = []
    for t0 in np.arange(hms("06:25"), hms("10:30") + 1, 300.0):
        peak = hms("06:30") <= t0 < hms("09:30")
        for station, after, load in (("A", 0, 50), ("B", 900, 200 if peak else 50),
                                     ("C", 1800, 200 if peak else 50), ("D", 2670, 0)):
            rows.append({"train_id": train_id(t0), "line": "L", "service": SERVICE, "station": station,
                         "t_depart": t0 + after, "load_after": load})
    return pd.DataFrame(rows)


def legs_table(rows: list[tuple[str, str]] = ()) -> pd.DataFrame:
    """Legs A-D of riders reaching A at the first time and leaving on the train that leaves A at
    the second."""
    return pd.DataFrame({"commuter_id": np.arange(len(rows)), "leg": 0,
                         "train_id": [train_id(hms(b)) for _, b in rows],
                         "board_station": "A", "alight_station": "D",
                         "t_platform": [hms(a) for a, _ in rows], "t_board": [hms(b) for _, b in rows],
                         "ride_before_s": 0.0})


def leg_ad(net: Network, legs: LegNetwork) -> int:
    st = net.station_index
    return next(k for k, leg in enumerate(legs.options) if leg.board == st["A"] and leg.alight == st["D"])


def crowding_of(net: Network, legs: LegNetwork, legs_rows: pd.DataFrame):
    return measure(net, legs, legs_rows, trains_table(), CrowdingSpec(), leg_paths(net, legs), PlatformLookup(net, legs))


def test_leg_paths_give_the_scheduled_time_to_each_platform(routed):
    net, legs = routed
    paths, k = leg_paths(net, legs), leg_ad(net, legs)
    entries = slice(paths.start[k], paths.start[k + 1])
    names = [net.stations[net.platforms[p].station].id for p in paths.platform[entries]]
    assert names == ["A", "B", "C"]  # the platforms the train leaves; not D, where the leg alights
    assert paths.offset_s[entries].tolist() == [0.0, 870.0 + 30.0, 2 * (870.0 + 30.0)]


def test_a_leg_is_measured_where_its_train_is_when(routed):
    field = crowding_of(*routed, legs_table())
    ivt = field.ivt_factor[leg_ad(*routed)]
    # reaching A in 06:00-06:15: the wait runs to the first train (06:25: 25 min - 7.5 min
    # on average), which leaves A at 06:25 (bin 1), B at 06:40 (bin 2) and C at 06:55 (bin 3): on
    # each the trains leaving then carry 50. Taken in bin 0, where no train leaves: 1.
    assert ivt[0] == pytest.approx(M50)
    # reaching A in 06:30-06:45 (wait 2.5 min): A at 06:40 (bin 2, 50 aboard), B at 06:55 (bin 3:
    # the trains that left A 06:30-06:40, 200) and C at 07:10 (bin 4: the same trains, 200).
    # Taken in bin 2: B's train then is the 06:25 (50) and none leaves C: (1.095 + 1.095 + 1) / 3.
    assert ivt[2] == pytest.approx((M50 + 2 * M200) / 3)
    # reaching A in 09:30-09:45: A at 09:40 (50), B at 09:55 (bin 15: trains that left A from
    # 09:30, 50) and C at 10:10, past the last bin: clipped to bin 15. Taken in bin 14: B and C
    # both 200 (trains that left A 09:00-09:25).
    assert ivt[14] == pytest.approx((M50 + M50 + M_C_LAST) / 3)


def test_riders_left_behind_are_expected_on_a_later_train(routed):
    # reaching A at 09:20 and leaving on the 09:35 train: 15 min, 12.5 min more than expected in
    # 09:15-09:30 (bin 13), the extra wait of every leg boarding at A in that bin
    field = crowding_of(*routed, legs_table([("09:20", "09:35"), ("09:20", "09:35")]))
    k = leg_ad(*routed)
    assert field.extra_wait[k, 13] == pytest.approx(750.0)
    # expected to leave A at 09:22:30 + 2.5 min + 12.5 min = 09:37:30 (bin 14, 50), B at 09:52:30
    # (bin 15: trains that left A from 09:30, 50), C at 10:07:30 (clipped to bin 15). Without the
    # lost time (leaving A at 09:25), B would be taken at 09:40 (bin 14: 200).
    assert field.ivt_factor[k, 13] == pytest.approx((M50 + M50 + M_C_LAST) / 3)
