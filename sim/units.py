"""Units and small conversions: clock times in seconds since service-day midnight, distances in km."""

from __future__ import annotations

import math
import re

_CLOCK = re.compile(r"^(\d{1,2}):([0-5]\d)(?::([0-5]\d(?:\.\d+)?))?$")


def parse_time(value: object) -> float:
    """Seconds since midnight from "HH:MM", "HH:MM:SS" (hours may exceed 24, as in GTFS) or a number.

    Raises ValueError with a short expectation message for anything else.
    """
    if isinstance(value, bool):
        raise ValueError("expected a time as 'HH:MM', 'HH:MM:SS' or seconds since midnight")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise ValueError("expected a non-negative number of seconds since midnight")
        return float(value)
    if isinstance(value, str):
        m = _CLOCK.match(value.strip())
        if m:
            hours, minutes, seconds = int(m.group(1)), int(m.group(2)), float(m.group(3) or 0)
            return hours * 3600.0 + minutes * 60.0 + seconds
    raise ValueError(f"expected a time as 'HH:MM', 'HH:MM:SS' or seconds since midnight, got {value!r}")


def format_time(seconds: float) -> str:
    """'HH:MM:SS' for seconds since midnight (hours past 24 kept, as GTFS does)."""
    whole = int(round(seconds))
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two WGS84 points (mean Earth radius 6371.0088 km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))
