"""The one writer of run directories: `run`, each of its replications and each run of a sweep
write their tables, GIS files, summary, charts, report and manifest through `write_run_dir`, into
a folder that the caller stages (sim.staging.StagedDir)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .io import TABLES, manifest, write_gis, write_json, write_tables
from .metrics import rounded


def run_identity(scenario, seed: int | None = None, replications: int = 1) -> dict[str, str]:
    """What a run directory is of, as its ownership marker records it: the scenario's name and file,
    and the variant asked for (overrides, seed, replications), so that a command's default output
    replaces only the same command's earlier results."""
    variant = [f"--set {k}={v}" for k, v in sorted(scenario.overrides.items())]
    variant += [f"--seed {seed}"] if seed is not None else []
    variant += [f"--replications {replications}"] if replications != 1 else []
    return {"name": scenario.name, "file": str(scenario.path), "variant": " ".join(variant)}


def write_run_dir(target: Path, result, command: list[str], started: float, tables: tuple[str, ...] = TABLES,
                  charts: bool = True, extra_manifest: dict[str, Any] | None = None) -> dict:
    """Write `result` (sim.api.RunResult) into the folder `target`: the `tables` asked for, the GIS
    files, summary.json, the charts and report.html when `charts`, and manifest.json last (with the
    wall time since `started`, a time.perf_counter() reading, and `extra_manifest` merged in).
    Returns the summary as written (rounded)."""
    t_write = time.perf_counter()
    # those written as they were built are in place already
    write_tables(target, result, tuple(n for n in tables if result.written.get(n) != target / f"{n}.parquet"))
    peak = result.summary["windows"]["peak_hour"]
    write_gis(target, result.scenario.network, result.trains, (peak["from_s"], peak["to_s"]))
    summary = rounded(result.summary)
    write_json(target / "summary.json", summary)
    if charts:
        from .report import RunView, standard_charts, write_run_report

        view = RunView.of_result(result)
        write_run_report(view, standard_charts(view, target / "plots"), target / "report.html")
    result.timings_s["writing"] = result.timings_s.get("writing", 0.0) + time.perf_counter() - t_write
    doc = manifest(result, command, time.perf_counter() - started, result.scenario.network_files)
    write_json(target / "manifest.json", {**doc, **(extra_manifest or {})})
    return summary
