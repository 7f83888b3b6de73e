"""Fares: an operator's distance fare for a section ridden with a given payment medium (CNY)."""

from __future__ import annotations

import math

from .schema import FareSpec


def operator_fare(fare: FareSpec, km: float, medium: str) -> float:
    """Fare in CNY for riding `km` on one operator's network paid with `medium`.

    distance_bands: base_cny up to base_km, then each band adds one CNY per started km_per_cny km
    (Shanghai Metro: 3 CNY to 6 km, 4 CNY to 16 km, +1 CNY per 10 km beyond). per_km: rate times
    km, whole CNY with 0.5 and below rounded down, at least minimum_cny. Media factors (discounts)
    apply last, rounded to 0.01 CNY.
    """
    if fare.kind == "per_km":
        raw = fare.rate_cny_per_km * km
        base = max(fare.minimum_cny, float(math.ceil(raw - 0.5 - 1e-9)))
    else:
        base = fare.base_cny
        lower = fare.base_km
        for band in fare.bands:
            if km <= lower + 1e-9:
                break
            upper = band.up_to_km if band.up_to_km is not None else math.inf
            span = min(km, upper) - lower
            base += math.ceil(span / band.km_per_cny - 1e-9)
            lower = upper
    return round(base * fare.media_factor.get(medium, 1.0), 2)
