"""A synthetic whole-city metro for benchmarks: a grid of straight lines that cross each other.

`grid_city(n_lines=20, stations_per_line=30)` makes n_lines/2 east-west and n_lines/2 north-south
lines; every east-west line crosses every north-south line at a shared station, so 20 lines of 30
stations give 10*30 + 10*30 - 100 = 500 stations. Spacing 1.2 km, 3-minute peak headways, 6-car
trains of 1,860, station facilities as the shipped Shanghai defaults.
"""

from __future__ import annotations

from pathlib import Path

import yaml

SPACING_KM = 1.2
FACILITIES = {
    "entry_gates": {"kind": "gate", "servers": 8, "service": {"dist": "lognormal", "mean_s": 2.0, "cv": 0.3}},
    "exit_gates": {"kind": "gate", "servers": 8, "service": {"dist": "lognormal", "mean_s": 2.0, "cv": 0.3}},
    "security": {"kind": "security", "servers": 4, "service": {"dist": "lognormal", "mean_s": 3.0, "cv": 0.8}},
    "ticket_machines": {"kind": "ticket_machine", "servers": 4,
                        "service": {"dist": "lognormal", "mean_s": 30.0, "cv": 0.4}},
}


OPERATIONS = {"door_channels": 30, "door_time_s": 8, "boarding_s": 1.0, "alighting_s": 0.8,
              "crowded_density_p_m2": 4, "crowded_factor": 1.5, "max_dwell_s": 90, "seats": 336,
              "standing_area_m2": 254, "min_headway_s": 120, "running_recovery": 0.03}
"""Dynamic operations of every grid line (as the shipped Type A lines)."""


def grid_city(n_lines: int = 20, stations_per_line: int = 30) -> dict:
    half = n_lines // 2
    step = stations_per_line // half
    cross = [step * i + step // 2 for i in range(half)]
    stations: dict[tuple[int, int], str] = {}

    def sid(row: int, col: int) -> str:
        key = (row, col)
        if key not in stations:
            stations[key] = f"s{row:02d}_{col:02d}"
        return stations[key]

    lines = []
    timetable = {"first": "05:30", "last": "23:00",
                 "headways": [{"from": "05:30", "headway_s": 360}, {"from": "07:00", "headway_s": 180},
                              {"from": "09:30", "headway_s": 300}]}
    for i in range(n_lines):
        horizontal = i < half
        fixed = cross[i % half]
        stops = [sid(fixed, k) if horizontal else sid(k, fixed) for k in range(stations_per_line)]
        lines.append({
            "id": f"{'H' if horizontal else 'V'}{i % half:02d}",
            "operator": "CITY",
            "name": f"Line {i + 1}",
            "branches": {"main": [[s, round(k * SPACING_KM, 3)] for k, s in enumerate(stops)]},
            "speed_profile": {"max_kmh": 80, "accel_ms2": 1.0, "decel_ms2": 1.0, "margin": 0.1},
            "dwell_s": 30,
            "capacity": 1860,
            "operations": OPERATIONS,
            "patterns": [{"id": "all", "stops": [stops[0], stops[-1]],
                          "timetable": {"forward": timetable, "backward": timetable}}],
        })
    return {
        "schema_version": 1,
        "name": f"grid_{len(stations)}",
        "media": {"qr": {"name": "QR code"}, "card": {"name": "Card"},
                  "single_ticket": {"name": "Single ticket", "needs_ticket": True}},
        "operators": [{
            "id": "CITY", "name": "City Metro",
            "fare": {"kind": "distance_bands", "base_cny": 3, "base_km": 6,
                     "bands": [{"up_to_km": 16, "km_per_cny": 10}, {"km_per_cny": 10}]},
            "station_defaults": {"facilities": FACILITIES,
                                 "entry": ["ticket_machines", "security", "entry_gates", {"walk_s": 90}],
                                 "exit": [{"walk_s": 90}, "exit_gates"], "transfer_walk_s": 90},
        }],
        "stations": [{"id": s, "operator": "CITY", "name_zh": s, "name_en": s,
                      "lat": 31.0 + r * SPACING_KM / 111.0, "lon": 121.0 + c * SPACING_KM / 95.0}
                     for (r, c), s in sorted(stations.items(), key=lambda kv: kv[1])],
        "lines": lines,
    }


def grid_scenario(total: int, seed: int = 1, crowding: bool = False) -> dict:
    """The grid city's morning; with `crowding`, route choice and simulation alternate twice
    (crowding in route choice, every iteration run)."""
    routing: dict = {"max_transfers": 2}
    if crowding:
        routing["crowding"] = {"max_iterations": 2, "tolerance": 0.0}
    return {
        "schema_version": 1,
        "name": "grid_city",
        "description": "Synthetic grid city for benchmarks.",
        "network": "network.yaml",
        "seed": seed,
        "period": {"start": "06:00", "end": "10:00"},
        "demand": {
            "total": total,
            "profiles": {"am": {"points": [["06:00", 0.3], ["07:30", 1.0], ["08:00", 1.0], ["10:00", 0.3]]}},
            "segments": [{"name": "all", "share": 1.0, "profile": "am",
                          "payment": {"qr": 0.6, "card": 0.3, "single_ticket": 0.1},
                          "generator": {"distance_decay_per_km": 0.05, "min_km": 2.0}}],
        },
        "routing": routing,
    }


def write_grid(directory: Path, total: int, n_lines: int = 20, stations_per_line: int = 30,
               crowding: bool = False) -> Path:
    """Write network.yaml and scenario.yaml into `directory`; returns the scenario path."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "network.yaml").write_text(yaml.safe_dump(grid_city(n_lines, stations_per_line)), encoding="utf-8")
    path = directory / "scenario.yaml"
    path.write_text(yaml.safe_dump(grid_scenario(total, crowding=crowding)), encoding="utf-8")
    return path
