"""Service-time distributions: a lognormal's draws are exp(mean + sd * z) of the standard normals of
the same generator, to the bit (the engines draw a commuter's visits so, several at once)."""

from __future__ import annotations

import math

import numpy as np

from sim.distributions import Distribution


def test_a_lognormal_draws_the_exponential_of_its_normals_to_the_bit():
    rng = np.random.default_rng(11)
    for _ in range(300):
        d = Distribution("lognormal", float(rng.uniform(0.5, 60.0)), float(rng.uniform(0.05, 1.5)))
        seed = int(rng.integers(0, 2**32))
        g = np.random.default_rng(seed)
        drawn = [float(d.sample(g, 1)[0]) for _ in range(20)]  # one visit at a time
        assert d.log_normal is not None
        mean, sd = d.log_normal
        z = np.random.default_rng(seed).standard_normal(20)  # twenty at once
        assert drawn == [math.exp(mean + sd * x) for x in z.tolist()]


def test_only_a_lognormal_has_log_parameters():
    assert Distribution("lognormal", 3.0, 0.8).log_normal is not None
    for d in (Distribution("deterministic", 3.0), Distribution("exponential", 3.0), Distribution("gamma", 3.0, 0.5),
              Distribution("uniform", 1.0, 5.0)):
        assert d.log_normal is None
