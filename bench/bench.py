"""Benchmark: the bulk engine against the reference engine, and scaling, on real and synthetic inputs.

    .venv/bin/python bench/bench.py                     # default cases (several minutes)
    .venv/bin/python bench/bench.py --quick             # small sizes, a smoke test of the harness
    .venv/bin/python bench/bench.py --cases baseline:1000000 switches:1000000 grid:5000000 --repeat 3
    .venv/bin/python bench/bench.py --cases regional:1000000 baseline:1000000 --repeat 3

Case kinds: baseline (scenarios/baseline.yaml), nochoice (the baseline with no choice on the way),
timetable (the baseline in timetable operations), regional (scenarios/regional_baseline.yaml: metro
and intercity rail), zones (scenarios/cross_border_zones.yaml: commuters drawn between zones
choosing rail, car or bus), allzones (bench/all_zones.yaml: every commuter drawn between zones, with trip
making), shanghaiday (scenarios/shanghai_day.yaml: the whole Shanghai Metro for a day; TOTAL commuters make
2 x TOTAL journeys), switches (every integration switch at work, bench/all_switches.yaml), grid and
gridcrowd (a synthetic grid city, without and with crowding).

Each case runs end to end in a fresh child process (loading, demand, routing, simulation, writing
every table as Parquet) and reports wall time per phase, commuters per second and peak memory (the
child's maximum resident set). With --repeat N every run is repeated N times and the run with the
median wall time is reported, with the minimum and maximum. Cases marked `+ref` also run the
reference engine on the same input, check that its trips are identical, and print the speed ratio
of the medians. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CASES = ["baseline:100000+ref", "baseline:1000000", "switches:1000000", "baseline:5000000", "grid:1000000"]
QUICK_CASES = ["baseline:20000+ref", "switches:20000+ref", "grid:20000"]


NO_CHOICES = {"routing.decisions.when_stranded": False, "routing.decisions.after_denial": False,
              "routing.decisions.fastest_train": False}
"""The `nochoice` case: the baseline with every choice on the way off (everyone follows their plan)."""


def scenario_path(kind: str, total: int, workdir: Path) -> Path:
    if kind in ("baseline", "timetable", "nochoice"):
        return ROOT / "scenarios" / "baseline.yaml"
    if kind == "regional":
        return ROOT / "scenarios" / "regional_baseline.yaml"
    if kind == "zones":
        return ROOT / "scenarios" / "cross_border_zones.yaml"
    if kind == "allzones":
        return ROOT / "bench" / "all_zones.yaml"
    if kind == "shanghaiday":
        return ROOT / "scenarios" / "shanghai_day.yaml"
    if kind == "switches":
        return ROOT / "bench" / "all_switches.yaml"
    if kind in ("grid", "gridcrowd"):
        from bench.synthetic import write_grid

        return write_grid(workdir / kind, total, crowding=kind == "gridcrowd")
    raise SystemExit(f"unknown case kind {kind!r} (baseline, nochoice, timetable, regional, zones, allzones, shanghaiday, switches, grid or "
                     "gridcrowd)")


def child(kind: str, total: int, engine: str, out: Path) -> None:
    """Run one case in this process and print its figures as JSON."""
    from sim import api
    from sim.io import TABLES, write_tables
    from sim.scenario import load_scenario

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    overrides = {"demand.total": total, **({"operations.mode": "timetable"} if kind == "timetable" else {}),
                 **(NO_CHOICES if kind == "nochoice" else {})}
    scn = load_scenario(scenario_path(kind, total, out), overrides)  # loaded once, as `run --set` does
    timings["load"] = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    result = api.run(scn, engine=engine, tables_to=out)  # the tables written as they are built, as `run` does
    timings.update(result.timings_s)
    t1 = time.perf_counter()
    write_tables(out, result, tuple(name for name in TABLES if name not in result.written))
    timings["writing"] = timings.get("writing", 0.0) + time.perf_counter() - t1
    wall = time.perf_counter() - t0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # engine runs: those of route choice with crowding (one without)
    runs = result.summary.get("crowding", {}).get("runs", 1)
    print(json.dumps({"kind": kind, "total": total, "engine": engine, "wall_s": wall, "phases_s": timings,
                      "peak_mib": peak_mib, "arrived": result.summary["arrived"], "engine_runs": runs}))


def run_child(kind: str, total: int, engine: str, out: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, str(total), engine, str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    if done.returncode != 0:
        raise SystemExit(f"case {kind}:{total} ({engine}) failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def same_trips(a: Path, b: Path) -> bool:
    import pandas as pd

    ta, tb = pd.read_parquet(a / "trips.parquet"), pd.read_parquet(b / "trips.parquet")
    try:
        pd.testing.assert_frame_equal(ta, tb, check_exact=True)
        return True
    except AssertionError:
        return False


def median_run(kind: str, total: int, engine: str, out: Path, repeat: int) -> dict:
    """Run a case `repeat` times, each writing into its own folder out/run-<i> (a run writes its
    tables only into a folder without them); the run with the median wall time, with the range of
    walls."""
    runs = sorted((run_child(kind, total, engine, out / f"run-{i}") for i in range(repeat)), key=lambda r: r["wall_s"])
    chosen = dict(runs[len(runs) // 2])
    chosen["wall_range"] = (runs[0]["wall_s"], runs[-1]["wall_s"])
    chosen["repeat"] = repeat
    return chosen


def describe(r: dict) -> str:
    phases = " ".join(f"{k}={v:.2f}" for k, v in r["phases_s"].items())
    rate = r["total"] / r["wall_s"]
    spread = f" (min {r['wall_range'][0]:.2f}, max {r['wall_range'][1]:.2f}, n={r['repeat']})" if r["repeat"] > 1 else ""
    return (f"{r['kind']:8s} {r['total']:>9,d} {r['engine']:9s} wall {r['wall_s']:7.2f} s{spread}  "
            f"{rate:>10,.0f} commuters/s  peak {r['peak_mib']:7.0f} MiB  [{phases}]"
            + (f"  engine runs: {r['engine_runs']}" if r.get("engine_runs", 1) > 1 else ""))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", nargs="*", help="KIND:TOTAL[+ref], KIND baseline, nochoice (the baseline with no choice on the way), timetable (the baseline in timetable "
                                              "operations), regional (scenarios/regional_baseline.yaml: "
                                              "metro and intercity rail), zones (scenarios/cross_border_zones.yaml), "
                                              "allzones (bench/all_zones.yaml), shanghaiday (scenarios/shanghai_day.yaml, TOTAL commuters "
                                              "making tours), switches (every integration "
                                              "switch at work, bench/all_switches.yaml), grid or gridcrowd")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--repeat", type=int, default=1, help="runs per case; the median is reported")
    p.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        kind, total, engine, out = args.child
        child(kind, int(total), engine, Path(out))
        return 0
    cases = args.cases or (QUICK_CASES if args.quick else DEFAULT_CASES)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; each case in a fresh process")
    with tempfile.TemporaryDirectory() as tmp:
        for number, case in enumerate(cases):
            spec, _, ref = case.partition("+")
            kind, _, total = spec.partition(":")
            out = Path(tmp) / f"{number}-{kind}-{total}"  # a case may be listed twice (a sitting's before and after)
            bulk = median_run(kind, int(total), "bulk", out / "bulk", args.repeat)
            print(describe(bulk), flush=True)
            if ref == "ref":
                reference = median_run(kind, int(total), "reference", out / "reference", args.repeat)
                print(describe(reference), flush=True)
                same = same_trips(out / "bulk" / "run-0", out / "reference" / "run-0")
                sim_ratio = reference["phases_s"]["simulation"] / bulk["phases_s"]["simulation"]
                print(f"  reference / bulk: wall {reference['wall_s'] / bulk['wall_s']:.1f}x, "
                      f"simulation phase {sim_ratio:.1f}x; trips identical: {same}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
