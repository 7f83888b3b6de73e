"""Fares: an operator's distance fare for a section ridden with a given payment medium (CNY)."""

from __future__ import annotations

import numpy as np

from .schema import FareSpec


def operator_fares(fare: FareSpec, km: np.ndarray, medium: str) -> np.ndarray:
    """Fares in CNY for riding each of `km` on one operator's network paid with `medium`.

    distance_bands: base_cny up to base_km, then each band adds one CNY per started km_per_cny km
    (Shanghai Metro: 3 CNY to 6 km, 4 CNY to 16 km, +1 CNY per 10 km beyond). per_km: rate times
    km, whole CNY with 0.5 and below rounded down, at least minimum_cny. Media factors (discounts)
    apply last, rounded to 0.01 CNY.
    """
    km = np.asarray(km, dtype=float)
    if fare.kind == "per_km":
        base = np.maximum(fare.minimum_cny, np.ceil(fare.rate_cny_per_km * km - 0.5 - 1e-9))
    else:
        base = np.full(km.shape, float(fare.base_cny))
        lower = fare.base_km
        for band in fare.bands:
            upper = band.up_to_km if band.up_to_km is not None else np.inf
            span = np.clip(np.minimum(km, upper) - lower, 0.0, None)
            base += np.where(span > 1e-9, np.ceil(span / band.km_per_cny - 1e-9), 0.0)
            lower = upper
    return np.round(base * fare.media_factor.get(medium, 1.0), 2)


def operator_fare(fare: FareSpec, km: float, medium: str) -> float:
    """Fare in CNY for one ride of `km` (see operator_fares)."""
    return float(operator_fares(fare, np.asarray([km]), medium)[0])
