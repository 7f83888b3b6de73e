"""The ends that returns wait for, kept by when they are due (engine.waiting._Ends), against a plain list."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.waiting import _Ends


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("horizon_h", [8.0, 400.0])  # many ends past the horizon (in its last bucket), or none
def test_ends_are_taken_once_each_exactly_when_due(seed, horizon_h):
    rng = np.random.default_rng(seed)
    ends, plain = _Ends(horizon_h * 3600.0), []  # plain: every end not taken yet, as (due, joined, facility)
    clock, serial = 6 * 3600.0, 0
    for _ in range(300):
        if rng.random() < 0.5:  # ends come: due from now (or before it) to hours ahead, ties included
            n = int(rng.integers(0, 40))
            due = np.round(clock + rng.uniform(-600.0, 5 * 3600.0, n) * (rng.random(n) < 0.8), -1)
            due += np.where(rng.random(n) < 0.3, rng.uniform(0.0, 1.0, n), 0.0)  # some within a second
            joined = serial + np.arange(n, dtype=float)  # unique: tells the ends apart
            facility = rng.integers(0, 5, n)
            serial += n
            ends.add(due, joined, facility)
            plain += list(zip(due.tolist(), joined.tolist(), facility.tolist()))
        else:  # the engine asks: mostly later each time, by seconds to an hour; sometimes earlier
            clock += float(rng.choice([0.0, 0.25, 1.0, 37.0, 300.0, 750.0, 3600.0]))
            until = clock - (120.0 if rng.random() < 0.1 else 0.0)
            joined, facility = ends.take(until)
            want = sorted((j, f) for d, j, f in plain if d <= until)
            assert sorted(zip(joined.tolist(), facility.tolist())) == want
            plain = [x for x in plain if x[0] > until]
    joined, _ = ends.take(np.inf)
    assert sorted(joined.tolist()) == sorted(j for _, j, _ in plain)
