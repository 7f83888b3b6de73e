"""Distances between neighbouring stations (km): from shape_dist_traveled, whose unit GTFS leaves
open (found by comparing it with the straight-line distances), or else the straight line."""

from __future__ import annotations

import numpy as np

from . import defaults
from .stations import Stations
from .trips import Trip

UNITS = {"km": 1.0, "m": 1000.0, "mi": 0.621371, "ft": 3280.84}
"""shape_dist_traveled units, per km."""


class EdgeKm:
    """km between two stations: the median of the feed's shape_dist_traveled differences between
    them as consecutive stops, else the straight line; at least `defaults.MIN_EDGE_KM`."""

    def __init__(self, trips: list[Trip], stations: Stations) -> None:
        self.stations = stations
        samples: dict[frozenset, list[float]] = {}
        ratios = []
        line_km: dict[frozenset, float] = {}  # the straight line of each pair, computed once
        for t in trips:
            if t.dist is None:
                continue
            for a, b, d in zip(t.stations, t.stations[1:], np.diff(t.dist).tolist()):
                pair = frozenset((a, b))
                samples.setdefault(pair, []).append(d)
                line = line_km.get(pair)
                if line is None:
                    line = line_km[pair] = stations.km(a, b)
                if line > 0.05:
                    ratios.append(d / line)
        self.unit = min(UNITS, key=lambda u: abs(np.log(np.median(ratios) / UNITS[u]))) if ratios else None
        self.median = {k: float(np.median(v)) / UNITS[self.unit] for k, v in samples.items()} if self.unit else {}

    @property
    def source(self) -> str:
        """Where the km come from (for the lines' comments)."""
        return (f"shape_dist_traveled (read as {self.unit})" if self.unit else
                "straight lines between the stations (the feed has no shape_dist_traveled)")

    def __call__(self, a: str, b: str) -> float:
        km = self.median.get(frozenset((a, b)))
        if km is None:
            km = self.stations.km(a, b)
        return max(defaults.MIN_EDGE_KM, round(km, 3))
