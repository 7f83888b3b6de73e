"""How fast commuters walk: one speed per commuter, drawn from a published distribution, scales
every walk of their trip (entrance and exit passages, changes, walks in the street).

A network's walk times (`walk_s`) are the times of the mean walker. Commuter i walks each of them
in `walk_s * factor_i`, factor_i = (1 / v_i) / E[1 / v] with speeds v_i from a normal distribution
truncated to [min, max] (Weidmann 1993: free walking speed 1.34 m/s, standard deviation 0.26 m/s):
the mean walk time stays the network's, and a train's load reaches the next gate bank spread over
the walk rather than in one second.

The truncated normal is computed here with `scipy.special` rather than taken from `scipy.stats`,
whose import alone takes half a second of every run: by inverse transform of one uniform per
commuter, and its moments by adaptive quadrature, the way `scipy.stats.truncnorm` computes its
`rvs` and `expect` (the tests hold both to equality with it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import special

from .schema import WalkingSpec

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


class _TruncatedNormal:
    """Speeds (m/s): normal with the spec's mean and standard deviation, truncated to its bounds."""

    def __init__(self, spec: WalkingSpec) -> None:
        self.loc, self.scale = spec.speed_mean_m_s, spec.speed_sd_m_s
        self.a = (spec.speed_min_m_s - self.loc) / self.scale  # the bounds in standard deviations
        self.b = (spec.speed_max_m_s - self.loc) / self.scale
        # log of the standard normal's mass in [a, b] (a < 0 < b: the mean lies inside the bounds)
        self.log_mass = special.log1p(-special.ndtr(self.a) - special.ndtr(-self.b))

    def ppf(self, q: np.ndarray) -> np.ndarray:
        """Speeds (m/s) at cumulative probabilities `q` (computed in logs: exact in either tail)."""
        # log(ndtr(a) + q * mass): scipy.stats.truncnorm's logsumexp of the two terms, in the operations
        # special.logsumexp does on them (bit for bit), without its general machinery (seconds for 10^7 q)
        first, rest = special.log_ndtr(self.a), np.log(q) + self.log_mass
        high = np.maximum(first, rest)
        log_phi = np.log1p(np.exp(np.minimum(first, rest) - high)) + high
        return special.ndtri_exp(log_phi) * self.scale + self.loc

    def pdf(self, v: float) -> float:
        """Density (s/m) at speed `v` (m/s) inside the bounds."""
        z = (v - self.loc) / self.scale
        return float(np.exp(-z**2 / 2.0 - _LOG_SQRT_2PI - self.log_mass) / self.scale)

    def expect(self, g: Callable[[float], float]) -> float:
        """E[g(v)], by quadrature over the body and the two 5 % tails apart."""
        from scipy import integrate  # imported here: only runs that walk need it

        lo, hi = self.loc + self.a * self.scale, self.loc + self.b * self.scale
        body_lo, body_hi = self.ppf(np.array([0.05, 0.95]))
        return sum(integrate.quad(lambda v: g(v) * self.pdf(v), x0, x1)[0]
                   for x0, x1 in ((lo, body_lo), (body_lo, body_hi), (body_hi, hi)))


def mean_pace(spec: WalkingSpec) -> float:
    """E[1 / v] in s/m over the truncated speed distribution (numerical integration)."""
    return _TruncatedNormal(spec).expect(lambda v: 1.0 / v)


def factor_moments(spec: WalkingSpec) -> tuple[float, float]:
    """Mean (1 by construction) and variance of the walk-time factor."""
    pace = mean_pace(spec)
    second = _TruncatedNormal(spec).expect(lambda v: 1.0 / v**2)
    return 1.0, second / pace**2 - 1.0


def walk_factors(spec: WalkingSpec | None, n: int, rng: np.random.Generator) -> np.ndarray:
    """The walk-time factor of `n` commuters (ones when `spec` is None: everyone walks at the
    network's times)."""
    if spec is None:
        return np.ones(n)
    v = _TruncatedNormal(spec).ppf(rng.uniform(size=n))
    return (1.0 / v) / mean_pace(spec)
