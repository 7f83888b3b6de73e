"""Small hand-made networks and scenarios for tests, built as plain dicts and written as YAML."""

from __future__ import annotations

from pathlib import Path

import yaml

from sim.scenario import Scenario, load_scenario

DET_GATE = {"kind": "gate", "servers": 4, "service": {"dist": "deterministic", "mean_s": 2.0}}


def station(sid: str, lon: float, operator: str = "OP", **extra) -> dict:
    return {"id": sid, "operator": operator, "name_zh": sid, "name_en": sid, "lat": 31.0, "lon": lon, **extra}


def operator(oid: str = "OP", facilities: dict | None = None, entry: list | None = None,
             exit: list | None = None, transfer_walk_s: float = 60.0) -> dict:
    return {
        "id": oid,
        "name": oid,
        "fare": {"kind": "distance_bands", "base_cny": 3, "base_km": 6,
                 "bands": [{"up_to_km": 16, "km_per_cny": 10}, {"km_per_cny": 10}]},
        "station_defaults": {
            "facilities": facilities if facilities is not None else {},
            "entry": entry if entry is not None else [],
            "exit": exit if exit is not None else [],
            "transfer_walk_s": transfer_walk_s,
        },
    }


def line(lid: str, stops: list[tuple[str, float]], timetable: dict, capacity: int = 1000,
         run_s: dict | None = None, dwell_s: float = 30.0, operator: str = "OP",
         patterns: list | None = None) -> dict:
    return {
        "id": lid,
        "operator": operator,
        "name": lid,
        "branches": {"main": [[s, km] for s, km in stops]},
        "speed_profile": {"max_kmh": 80, "accel_ms2": 1.0, "decel_ms2": 1.0},
        "run_s": run_s or {},
        "dwell_s": dwell_s,
        "capacity": capacity,
        "patterns": patterns or [{"id": "all", "stops": [stops[0][0], stops[-1][0]], "timetable": timetable}],
    }


def network(stations: list[dict], lines: list[dict], operators: list[dict] | None = None,
            interchanges: list | None = None) -> dict:
    return {
        "schema_version": 1,
        "name": "toy",
        "media": {"qr": {"name": "QR code"}, "ticket": {"name": "Single ticket", "needs_ticket": True}},
        "operators": operators or [operator()],
        "stations": stations,
        "lines": lines,
        "interchanges": interchanges or [],
    }


def scenario(total: int, origins: list[str], destinations: list[str], start: str = "06:00",
             end: str = "08:00", sim_end: str | None = None, profile: list | None = None,
             payment: dict | None = None, seed: int = 1, routing: dict | None = None) -> dict:
    return {
        "schema_version": 1,
        "name": "toy",
        "network": "net.yaml",
        "seed": seed,
        "period": {"start": start, "end": end},
        "simulation": {"end": sim_end} if sim_end else {},
        "demand": {
            "total": total,
            "profiles": {"p": {"points": profile or [[start, 1.0], [end, 1.0]]}},
            "segments": [{
                "name": "all",
                "share": 1.0,
                "profile": "p",
                "payment": payment or {"qr": 1.0},
                "generator": {"origins": {"stations": origins}, "destinations": {"stations": destinations}},
            }],
            "groups": {},
        },
        "routing": routing or {},
    }


def write(tmp_path: Path, net: dict, scn: dict) -> Scenario:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "net.yaml").write_text(yaml.safe_dump(net, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (tmp_path / "scn.yaml").write_text(yaml.safe_dump(scn, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_scenario(tmp_path / "scn.yaml")


def headway(first: str, last: str, h: float) -> dict:
    return {"first": first, "last": last, "headways": [{"from": first, "headway_s": h}]}
