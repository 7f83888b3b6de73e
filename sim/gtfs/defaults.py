"""What a GTFS feed does not say, and what an imported network therefore assumes (every value an
ASSUMPTION, stated here once and named in the imported file's comments).

GTFS has no train capacities, station facilities, speed profiles or distance tariffs. Run times
and dwells come from the feed's stop_times; the speed profiles below only time runs the feed gives
no time for. Times in seconds, distances in km, speeds in km/h, accelerations in m/s^2.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..network import basic_route_type


@dataclass(frozen=True)
class Mode:
    """Defaults for the routes of one kind of transport (GTFS route_type)."""

    name: str
    rail: bool
    """Imported unless routes are chosen by name (buses, ferries and cable cars only when named)."""
    capacity: int
    """Persons per vehicle (seated + standing)."""
    speed_profile: dict


# Capacities: metro as networks/shanghai_l11.yaml (six Type A cars, 1,860 at 6 persons/m2); the
# others are ASSUMPTIONS of typical vehicles (30 m tram ~250; 8-car intercity EMU ~1,500; 12 m bus
# ~80; small ferry ~300; gondola cabin 10; funicular car ~100).
_METRO = {"max_kmh": 80, "accel_ms2": 0.8, "decel_ms2": 0.8}
_RAIL = {"max_kmh": 160, "accel_ms2": 0.5, "decel_ms2": 0.5}
_TRAM = {"max_kmh": 60, "accel_ms2": 1.0, "decel_ms2": 1.0}
_SLOW = {"max_kmh": 30, "accel_ms2": 0.5, "decel_ms2": 0.5}
MODES: dict[int, Mode] = {
    0: Mode("tram", True, 250, _TRAM),
    1: Mode("metro", True, 1860, _METRO),
    2: Mode("rail", True, 1500, _RAIL),
    3: Mode("bus", False, 80, {"max_kmh": 50, "accel_ms2": 1.0, "decel_ms2": 1.0}),
    4: Mode("ferry", False, 300, _SLOW),
    5: Mode("cable tram", True, 60, _SLOW),
    6: Mode("aerial lift", False, 10, _SLOW),
    7: Mode("funicular", True, 100, _SLOW),
    11: Mode("trolleybus", False, 80, {"max_kmh": 50, "accel_ms2": 1.0, "decel_ms2": 1.0}),
    12: Mode("monorail", True, 600, _METRO),
}
def mode(route_type: int) -> Mode | None:
    """The mode of a GTFS route_type (basic or extended), or None when unknown."""
    return MODES.get(basic_route_type(route_type))


MEDIUM_ID = "stored_value_card"
MEDIUM = {"name": "Stored-value card (ASSUMPTION: the feed names no fare media)"}
"""The payment medium of a feed without fare_media.txt."""

STATION_DEFAULTS = {
    # As the operators of networks/operators.yaml (flap gates 2.0 s per passenger after GB 50157,
    # unverified; security 3.0 s mean; ticket machines 30 s): ASSUMPTIONS for any imported operator.
    "facilities": {
        "entry_gates": {"kind": "gate", "servers": 6, "service": {"dist": "lognormal", "mean_s": 2.0, "cv": 0.3}},
        "exit_gates": {"kind": "gate", "servers": 6, "service": {"dist": "lognormal", "mean_s": 2.0, "cv": 0.3}},
        "ticket_machines": {"kind": "ticket_machine", "servers": 4,
                            "service": {"dist": "lognormal", "mean_s": 30.0, "cv": 0.4}},
    },
    "entry": ["ticket_machines", "entry_gates", {"walk_s": 90}],
    "exit": [{"walk_s": 90}, "exit_gates"],
    "transfer_walk_s": 60,
}
"""Facilities, entry and exit of an imported operator's stations: gates and ticket machines, 90 s
street to platform (no security check: GTFS says nothing of one)."""

WALK_SPEED_MS = 1.2
"""Walking speed (m/s) for a transfer between stations that the feed gives no time for."""
WALK_DETOUR = 1.3
"""Walking path length over straight-line distance for such transfers."""
DWELL_S = 30
"""Dwell at stations where no trip stops in between (the feed times only trips' ends there)."""
MIN_EDGE_KM = 0.001
"""Least distance between neighbouring stations (km posts must strictly increase)."""
