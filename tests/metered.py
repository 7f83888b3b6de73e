"""A station with crowd control at its entrance (line L: A - C, A metered in a time window) and the
numbers it is built with; shared by tests/unit/test_crowd_control.py and test_tables_written.py."""

from __future__ import annotations

import toynet as T

HEADWAY_S = 180.0
LIMIT = 120
ENTRY_WALK_S = 30.0


def metered_station(tmp_path, total: int, window: tuple[str, str], control: dict | None = None):
    """Line L: A - C every 3 min from 06:00 (room for everyone), A metered (holding limit 120 unless
    `control` says otherwise) in `window`, 30 s from the entrance to the platform; `total` commuters
    A -> C start at a uniform rate from 06:30 to 07:30."""
    ln = T.line("L", [("A", 0.0), ("C", 6.0)], {"forward": T.headway("06:00", "10:00", HEADWAY_S)},
                run_s={"A>C": 300}, capacity=100000)
    control = control or {"holding_limit": LIMIT}
    stations = [T.station("A", 121.0, crowd_control={"window": {"start": window[0], "end": window[1]}, **control}),
                T.station("C", 121.06)]
    net = T.network(stations, [ln], operators=[T.operator(entry=[{"walk_s": ENTRY_WALK_S}])])
    scn = T.scenario(total, ["A"], ["C"], start="06:30", end="07:30", sim_end="09:00")
    return T.write(tmp_path, net, scn)
