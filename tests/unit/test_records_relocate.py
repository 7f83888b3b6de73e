"""Records.relocate moves several commuters' slots at once (a choice on the way giving them more legs
or visits): against the same moves made one commuter at a time, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.records import Records
from slot_records import records_with_slots


def _slots(rec: Records, c: int) -> tuple[list[float | None], list[float | None]]:
    """Commuter c's recorded leg and facility times, None where empty."""
    legs = rec.leg_t_board[rec.leg_base[c]: rec.leg_base[c] + rec.leg_count[c]]
    facs = rec.fac_t_join[rec.fac_base[c]: rec.fac_base[c] + rec.fac_count[c]]
    return [None if np.isnan(x) else float(x) for x in legs], [None if np.isnan(x) else float(x) for x in facs]


@pytest.mark.parametrize("seed", range(5))
def test_moving_many_at_once_keeps_every_slot_and_gives_the_room_asked(seed):
    rng = np.random.default_rng(seed)
    n = 40
    legs, facs = rng.integers(1, 4, n).tolist(), rng.integers(0, 5, n).tolist()
    rec = records_with_slots(legs, facs)
    for _ in range(6):  # batches of choices, some commuters choosing again
        c = rng.permutation(n)[: int(rng.integers(1, 15))].astype(np.int64)
        want_legs = rec.leg_count[c] + rng.integers(-1, 3, len(c))  # some need fewer: nothing moves then
        want_facs = rec.fac_count[c] + rng.integers(-1, 4, len(c))
        before = {int(x): _slots(rec, int(x)) for x in range(n)}
        used_before = rec.leg_used
        rec.relocate(c, want_legs, want_facs)
        for i, x in enumerate(c.tolist()):
            got_legs, got_facs = _slots(rec, x)
            old_legs, old_facs = before[x]
            assert rec.leg_count[x] == max(len(old_legs), want_legs[i])
            assert rec.fac_count[x] == max(len(old_facs), want_facs[i])
            # what was recorded stays, new slots are empty
            assert got_legs == old_legs + [None] * (len(got_legs) - len(old_legs))
            assert got_facs == old_facs + [None] * (len(got_facs) - len(old_facs))
        for x in set(range(n)) - set(c.tolist()):
            assert _slots(rec, x) == before[x]
        # the moved runs follow each other past the slots used before, in the order asked
        moved = c[want_legs > np.asarray([len(before[int(x)][0]) for x in c])]
        bases = rec.leg_base[moved]
        assert bases.tolist() == (used_before + np.cumsum(rec.leg_count[moved]) - rec.leg_count[moved]).tolist()
    rec.compact()
    assert rec.leg_offset.tolist() == np.concatenate([[0], np.cumsum(rec.leg_count)]).tolist()
