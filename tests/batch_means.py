"""Batch-means standard error of a correlated series, shared by the analytical tests
(tests/analytical/test_theory.py and test_walking.py) that check queueing delays against theory."""

from __future__ import annotations

import math

import numpy as np


def batch_mean_se(x: np.ndarray, batches: int = 20) -> float:
    """Standard error of the mean of a correlated series by non-overlapping batch means."""
    usable = len(x) // batches * batches
    means = x[:usable].reshape(batches, -1).mean(axis=1)
    return float(means.std(ddof=1) / math.sqrt(batches))
