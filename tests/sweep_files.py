"""Sweep files over a small toy scenario (line A-B-C every 5 minutes, gates on the way in), written
into a test's folder, and GATES, the sweep parameter giving the number of gate servers; shared by
tests/unit/test_sweep.py and test_reliability_sweeps.py."""

from __future__ import annotations

from pathlib import Path

import yaml

import toynet as T

GATES = "changes.operators.OP.station_defaults.facilities.gates.servers"


def toy(tmp: Path, total: int = 300) -> Path:
    stops = [("A", 0.0), ("B", 2.0), ("C", 4.0)]
    gate = {"kind": "gate", "servers": 2, "service": {"dist": "exponential", "mean_s": 2.0}}
    op = T.operator(facilities={"gates": gate}, entry=["gates", {"walk_s": 30}], exit=[{"walk_s": 30}])
    net = T.network([T.station("A", 121.0), T.station("B", 121.02), T.station("C", 121.04)],
                    [T.line("L", stops, {"forward": T.headway("05:30", "10:00", 300),
                                         "backward": T.headway("05:30", "10:00", 300)})], operators=[op])
    T.write(tmp, net, T.scenario(total, ["A", "B", "C"], ["A", "B", "C"], start="06:00", end="08:00", sim_end="09:00"))
    return tmp / "scn.yaml"


def sweep_file(tmp: Path, **fields) -> Path:
    toy(tmp)
    data = {"schema_version": 1, "name": "toy_sweep", "scenario": "scn.yaml", "replications": 2, "seed": 5, **fields}
    (tmp / "sweep.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return tmp / "sweep.yaml"
