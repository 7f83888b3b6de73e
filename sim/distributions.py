"""Service-time distributions (seconds) that know their analytical mean and variance."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Distribution:
    """A non-negative service-time distribution in seconds.

    kind: deterministic | exponential | lognormal | gamma | uniform; `a`, `b` are its parameters:
    mean and cv (deterministic, exponential: cv unused), or min and max (uniform).
    """

    kind: str
    a: float
    b: float = 0.0

    @property
    def mean(self) -> float:
        """Mean in seconds."""
        if self.kind == "uniform":
            return (self.a + self.b) / 2
        return self.a

    @property
    def variance(self) -> float:
        """Variance in seconds squared."""
        if self.kind == "deterministic":
            return 0.0
        if self.kind == "exponential":
            return self.a**2
        if self.kind in ("lognormal", "gamma"):
            return (self.a * self.b) ** 2
        return (self.b - self.a) ** 2 / 12

    @property
    def cv(self) -> float:
        return math.sqrt(self.variance) / self.mean if self.mean > 0 else 0.0

    @property
    def log_normal(self) -> tuple[float, float] | None:
        """Of a lognormal: the mean and standard deviation of its logarithm; None for other kinds.
        sample(g, n) draws exactly exp(mean + sd * z) for z = g.standard_normal(n)."""
        if self.kind != "lognormal":
            return None
        sigma2 = math.log1p(self.b**2)
        return math.log(self.a) - sigma2 / 2, math.sqrt(sigma2)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` independent draws (float64 seconds)."""
        if self.kind == "deterministic":
            return np.full(n, self.a)
        if self.kind == "exponential":
            return rng.exponential(self.a, n)
        if self.log_normal is not None:
            return rng.lognormal(*self.log_normal, n)
        if self.kind == "gamma":
            shape = 1.0 / self.b**2
            return rng.gamma(shape, self.a / shape, n)
        return rng.uniform(self.a, self.b, n)

    @classmethod
    def from_spec(cls, spec) -> Distribution:  # spec: schema.Distribution
        if spec.dist == "uniform":
            return cls("uniform", spec.min_s, spec.max_s)
        if spec.dist in ("lognormal", "gamma"):
            return cls(spec.dist, spec.mean_s, spec.cv)
        return cls(spec.dist, spec.mean_s)
