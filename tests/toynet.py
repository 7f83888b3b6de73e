"""Small hand-made networks and scenarios for tests, built as plain dicts and written as YAML."""

from __future__ import annotations

from pathlib import Path

import yaml

from sim.scenario import Scenario, load_scenario

# Operator OA: 3 CNY to 6 km, 4 CNY to 16 km, then +1 CNY per started 10 km (Shanghai Metro's form).
OA_FARE = {"kind": "distance_bands", "base_cny": 3, "base_km": 6,
           "bands": [{"up_to_km": 16, "km_per_cny": 10}, {"km_per_cny": 10}]}
# Operator OB: 2 CNY to 6 km, +1 per started 5 km to 16 km, then +1 per started 7 km (Suzhou's form).
OB_FARE = {"kind": "distance_bands", "base_cny": 2, "base_km": 6,
           "bands": [{"up_to_km": 16, "km_per_cny": 5}, {"km_per_cny": 7}], "media_factor": {"ticket": 0.9}}

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
             payment: dict | None = None, seed: int = 1, routing: dict | None = None,
             operations: str = "timetable") -> dict:
    """A scenario dict; trains keep exactly to the timetable unless operations="dynamic".

    One segment with share 1 and `payment` shares (which must add up to 1)."""
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
        "operations": {"mode": operations},
    }


def write(tmp_path: Path, net: dict, scn: dict) -> Scenario:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "net.yaml").write_text(yaml.safe_dump(net, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (tmp_path / "scn.yaml").write_text(yaml.safe_dump(scn, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_scenario(tmp_path / "scn.yaml")


def headway(first: str, last: str, h: float) -> dict:
    return {"first": first, "last": last, "headways": [{"from": first, "headway_s": h}]}


def gate(servers: int = 500, mean_s: float = 2.0) -> dict:
    return {"kind": "gate", "servers": servers, "service": {"dist": "deterministic", "mean_s": mean_s}}


def boundary_network(policy: dict | None = None, fare_rule: dict | None = None, coordination: dict | None = None,
                     security: dict | None = None, a_timetable: dict | None = None,
                     b_timetable: dict | None = None, fares: tuple[dict, dict] | None = None) -> dict:
    """Two operators meeting at an interchange across a fare line: line LA (A1-A2, operator OA) and
    line LB (B1-B2, operator OB), interchange `ab` between A2 and B1 with a fare-line layout (60 s
    walk before the fare line, 40 s after). Gates are deterministic with many servers (no queues);
    the transfer security is exponential (a queue) unless `security` says otherwise."""
    facilities = {
        "entry_gates": gate(), "exit_gates": gate(), "transfer_exit_gates": gate(mean_s=2.5),
        "transfer_entry_gates": gate(mean_s=3.5),
        "transfer_security": security or {"kind": "security", "servers": 1,
                                          "service": {"dist": "exponential", "mean_s": 4.0}},
        "ticket_machines": {"kind": "ticket_machine", "servers": 500, "service": {"dist": "deterministic", "mean_s": 20.0}},
    }
    ops = [operator("OA", facilities=facilities, entry=["ticket_machines", "entry_gates", {"walk_s": 30}],
                    exit=[{"walk_s": 30}, "exit_gates"]),
           operator("OB", facilities=facilities, entry=["ticket_machines", "entry_gates", {"walk_s": 30}],
                    exit=[{"walk_s": 30}, "exit_gates"])]
    if fares is not None:
        ops[0]["fare"], ops[1]["fare"] = fares
    stations = [station("A1", 121.0, "OA"), station("A2", 121.05, "OA"), station("B1", 121.0502, "OB"),
                station("B2", 121.10, "OB")]
    lines = [line("LA", [("A1", 0.0), ("A2", 5.0)], a_timetable or {"forward": headway("06:00", "10:00", 300)},
                  run_s={"A1>A2": 400}, operator="OA", capacity=100000),
             line("LB", [("B1", 0.0), ("B2", 5.0)], b_timetable or {"forward": headway("06:02", "11:00", 300)},
                  run_s={"B1>B2": 400}, operator="OB", capacity=100000)]
    ic = {"id": "ab", "stations": ["A2", "B1"],
          "fare_line": {"walk_before_s": 60, "walk_after_s": 40, "exit_gates": "from.transfer_exit_gates",
                        "ticket_machines": "to.ticket_machines", "security": "to.transfer_security",
                        "entry_gates": "to.transfer_entry_gates"},
          "policy": policy or {"security": "trust", "seamless_media": ["qr"]}}
    net = network(stations, lines, operators=ops, interchanges=[ic])
    if fare_rule is not None:
        net["fare_integration"] = [fare_rule]
    if coordination is not None:
        net["coordination"] = [coordination]
    return net
