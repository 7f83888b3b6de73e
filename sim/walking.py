"""How fast commuters walk: one speed per commuter, drawn from a published distribution, scales
every walk of their trip (entrance and exit passages, changes, walks in the street).

A network's walk times (`walk_s`) are the times of the mean walker. Commuter i walks each of them
in `walk_s * factor_i`, factor_i = (1 / v_i) / E[1 / v] with speeds v_i from a normal distribution
truncated to [min, max] (Weidmann 1993: free walking speed 1.34 m/s, standard deviation 0.26 m/s):
the mean walk time stays the network's, and a train's load reaches the next gate bank spread over
the walk rather than in one second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .schema import WalkingSpec

if TYPE_CHECKING:  # scipy has no public names for these types
    from scipy.stats._continuous_distns import truncnorm_gen
    from scipy.stats._distn_infrastructure import rv_continuous_frozen


def _speeds(spec: WalkingSpec) -> rv_continuous_frozen[truncnorm_gen, float | np.float64]:
    from scipy import stats  # imported here: scipy.stats takes half a second to import, and most commands never walk

    sd = spec.speed_sd_m_s
    a, b = (spec.speed_min_m_s - spec.speed_mean_m_s) / sd, (spec.speed_max_m_s - spec.speed_mean_m_s) / sd
    return stats.truncnorm(a, b, loc=spec.speed_mean_m_s, scale=sd)


def mean_pace(spec: WalkingSpec) -> float:
    """E[1 / v] in s/m over the truncated speed distribution (numerical integration)."""
    dist = _speeds(spec)
    return float(dist.expect(lambda v: 1.0 / v))


def factor_moments(spec: WalkingSpec) -> tuple[float, float]:
    """Mean (1 by construction) and variance of the walk-time factor."""
    dist = _speeds(spec)
    pace = mean_pace(spec)
    second = float(dist.expect(lambda v: 1.0 / v**2))
    return 1.0, second / pace**2 - 1.0


def walk_factors(spec: WalkingSpec | None, n: int, rng: np.random.Generator) -> np.ndarray:
    """The walk-time factor of `n` commuters (ones when `spec` is None: everyone walks at the
    network's times)."""
    if spec is None:
        return np.ones(n)
    v = _speeds(spec).rvs(size=n, random_state=rng)
    return (1.0 / v) / mean_pace(spec)
