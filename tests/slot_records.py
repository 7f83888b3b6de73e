"""Records of commuters with given numbers of leg and facility slots, built from a stand-in plan, shared
by the tests of the engines' records (tests/unit/test_records_relocate.py and test_records_deny.py)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from sim.engine.records import Records


def records_with_slots(legs: list[int], facs: list[int]) -> Records:
    """Records of commuters with these numbers of leg and facility slots, every slot's times set to
    a value naming it (commuter * 100 + slot number)."""
    n = len(legs)
    leg_offset = np.concatenate([[0], np.cumsum(legs)]).astype(np.int64)
    fac_offset = np.concatenate([[0], np.cumsum(facs)]).astype(np.int64)
    plan = SimpleNamespace(leg_offset=leg_offset, fac_offset=fac_offset, n_commuters=n, tickets=None, after=None,
                           t_depart=np.zeros(n), slot_facility=np.zeros(int(fac_offset[-1]), dtype=np.int32),
                           service_s=np.ones(int(fac_offset[-1])),
                           trains=SimpleNamespace(call_station=np.zeros(0, dtype=np.int64)))
    rec = Records.allocate(plan)  # type: ignore[arg-type]  # allocate reads these fields alone
    for c in range(n):
        rec.leg_t_board[leg_offset[c]:leg_offset[c + 1]] = c * 100 + np.arange(legs[c])
        rec.fac_t_join[fac_offset[c]:fac_offset[c + 1]] = c * 100 + np.arange(facs[c])
    return rec
