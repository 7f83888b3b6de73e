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
