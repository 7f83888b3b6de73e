"""Benchmark of sweeps: runs per minute on 1 and 2 local worker processes and on a Dask local
cluster, at two demand sizes, and the overhead per run against a single run of the same scenario.

    .venv/bin/python bench/sweep_bench.py                      # 50,000 and 350,000 commuters
    .venv/bin/python bench/sweep_bench.py --totals 20000 --points 2

Each configuration runs a sweep over the baseline (Huaqiao re-screening, its transfer security
lanes varied: points share the network and routing, as in scenarios/sweep_huaqiao.yaml) with two
replications, into a fresh temporary directory, in a fresh child process. The single run is
`run_sim.py run --no-plots` of the same scenario. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
LANES = "changes.stations.sh_huaqiao.facilities.transfer_security.servers"


def write_sweep(workdir: Path, total: int, points: int) -> Path:
    sweep = {"schema_version": 1, "name": f"bench_{total}", "scenario": str(ROOT / "scenarios" / "baseline.yaml"),
             "set": {"demand.total": total, "changes.interchanges.huaqiao.policy.security": "rescreen"},
             "replications": 2, "grid": {LANES: list(range(2, 2 + points))}}
    path = workdir / f"sweep_{total}.yaml"
    path.write_text(yaml.safe_dump(sweep, sort_keys=False), encoding="utf-8")
    return path


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--totals", type=int, nargs="+", default=[50_000, 350_000])
    parser.add_argument("--points", type=int, default=4)
    args = parser.parse_args()
    py = sys.executable
    print(f"python {sys.version.split()[0]}; sweeps of {args.points} points x 2 replications")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for total in args.totals:
            sweep = write_sweep(Path(tmp), total, args.points)
            single = timed([py, "run_sim.py", "run", "scenarios/baseline.yaml", "--quiet", "--no-plots", "--force",
                            "--out", f"{tmp}/single_{total}", "--set", f"demand.total={total}",
                            "--set", "changes.interchanges.huaqiao.policy.security=rescreen"])
            runs = 2 * args.points
            for label, extra in (("1 worker", ["--workers", "1"]), ("2 workers", ["--workers", "2"]),
                                 ("dask, 2 workers", ["--workers", "2", "--scheduler", "local"])):
                out = f"{tmp}/{total}_{label.replace(' ', '_').replace(',', '')}"
                wall = timed([py, "run_sim.py", "sweep", str(sweep), "--out", out, "--quiet", *extra])
                row = {"commuters": total, "backend": label, "runs": runs, "wall_s": round(wall, 1),
                       "runs_per_min": round(60 * runs / wall, 2), "single_run_s": round(single, 1),
                       "overhead_per_run_s": round(wall / runs - single, 2) if label == "1 worker" else None}
                results.append(row)
                print(json.dumps(row))
    base = {r["commuters"]: r["runs_per_min"] for r in results if r["backend"] == "1 worker"}
    for r in results:
        print(f"{r['commuters']:>9,} {r['backend']:<16} {r['runs_per_min']:6.2f} runs/min "
              f"({r['runs_per_min'] / base[r['commuters']]:.2f}x 1 worker), wall {r['wall_s']} s")


if __name__ == "__main__":
    main()
