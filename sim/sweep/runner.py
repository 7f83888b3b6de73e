"""Running a whole sweep into a directory: runs/<run_id>/ (each a run directory), summary.parquet,
points.parquet, manifest.json and plots/ (see README "Sweeps").

The sweep directory is locked while a sweep writes it. Each run is committed whole (staged, then
renamed), so an interrupted sweep leaves complete runs only; `resume` runs the others and then
writes the tables. summary.parquet and points.parquet are written last (each via a temporary file),
so their presence means the sweep finished.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import UserError
from .execute import Task, row_of_run_dir, run_dask, run_local
from .results import points_table, summary_table
from .spec import Sweep

MARKER = "sweep.json"
"""Written first into a sweep directory: what it is (so --force and --resume recognise it)."""


def _lock(out: Path):
    """An exclusive lock on the sweep directory (a second sweep into it fails at once)."""
    handle = open(out / ".sweep.lock", "w")  # noqa: SIM115 - held open for the sweep's duration
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise UserError.single(str(out), "--out", "another sweep is writing this directory") from None
    return handle


def _prepare_dir(out: Path, sweep: Sweep, resume: bool, force: bool) -> None:
    marker = out / MARKER
    entries = [p for p in out.iterdir() if p.name != ".sweep.lock"]
    if resume:
        if not marker.is_file():
            raise UserError.single(str(out), "--resume", "not a sweep directory (no sweep.json): nothing to resume")
        if json.loads(marker.read_text(encoding="utf-8")).get("name") != sweep.model.name:
            raise UserError.single(str(out), "--resume", "this directory holds another sweep")
        return
    if entries and not force:
        raise UserError.single(str(out), "--out", "directory is not empty (use --resume to finish a sweep, "
                                                  "--force to start it again)")
    if entries and not marker.is_file():
        raise UserError.single(str(out), "--force", "refusing to empty a directory that is not a sweep directory")
    for p in entries:
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    (out / MARKER).write_text(json.dumps({"name": sweep.model.name, "sweep_file": str(sweep.path)}) + "\n",
                              encoding="utf-8")


def _write_atomic(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    df.to_parquet(tmp, index=False, engine="pyarrow", compression="zstd")
    os.replace(tmp, path)


def tasks_of(sweep: Sweep, out: Path, engine: str = "bulk") -> list[Task]:
    from ..scenario import load_scenario

    base = load_scenario(sweep.scenario_path, sweep.model.set)
    seed = base.model.seed if sweep.model.seed is None else sweep.model.seed
    keep = sweep.model.keep_tables
    tables = ("trips", "legs", "trains", "facilities", "fares") if keep is True else tuple(keep or ())
    return [Task(r.id, r.point.id, r.replication, str(sweep.scenario_path), sweep.overrides(r.point), seed, str(out),
                 tables, engine) for r in sweep.runs()]


def run_sweep(sweep: Sweep, out: Path, workers: int = 1, scheduler: str | None = None, resume: bool = False,
              force: bool = False, engine: str = "bulk", progress: Callable[[int, int, int], None] | None = None
              ) -> pd.DataFrame:
    """Run every run of `sweep` not yet complete into `out` (local processes, or Dask when
    `scheduler` is given) and write the sweep's tables and charts; the summary table.
    `progress(done, failed, total)` is called as runs complete."""
    out.mkdir(parents=True, exist_ok=True)
    lock = _lock(out)
    try:
        _prepare_dir(out, sweep, resume, force)
        t0 = time.perf_counter()
        tasks = tasks_of(sweep, out, engine)
        rows, todo = [], []
        for task in tasks:
            row = row_of_run_dir(out / "runs" / task.run_id, task) if resume else None
            (rows.append(row) if row is not None else todo.append(task))
        failed = [0]

        def done(row: dict[str, Any]) -> None:
            rows.append(row)
            failed[0] += row["status"] != "ok"
            if progress is not None:
                progress(len(rows), failed[0], len(tasks))

        if progress is not None:
            progress(len(rows), 0, len(tasks))
        cluster = {"backend": "local processes", "workers": workers}
        if scheduler is not None:
            cluster = {"backend": "dask", **run_dask(todo, scheduler, workers, done)}
        else:
            run_local(todo, workers, done)
        summary = summary_table(sweep, rows)
        points = points_table(sweep, summary)
        _write_atomic(summary, out / "summary.parquet")
        _write_atomic(points, out / "points.parquet")
        from .charts import sweep_charts

        charts = sweep_charts(sweep, points, out / "plots")
        _write_manifest(sweep, out, cluster, len(todo), time.perf_counter() - t0, charts)
        return summary
    finally:
        lock.close()


def _write_manifest(sweep: Sweep, out: Path, cluster: dict, ran: int, wall_s: float, charts: list) -> None:
    from ..io import command_line, git_revision, package_versions, write_json

    write_json(out / "manifest.json", {
        "sweep_name": sweep.model.name, "sweep_file": str(sweep.path),
        "sweep": sweep.model.model_dump(mode="json"), "scenario_file": str(sweep.scenario_path),
        "points": {p.id: {"label": p.label, "parameters": p.values} for p in sweep.points},
        "reference_point": sweep.reference.id, "runs": len(sweep.points) * sweep.model.replications,
        "runs_this_time": ran, "cluster": cluster, "command": command_line(), "versions": package_versions(),
        "git_revision": git_revision(), "wall_time_s": round(wall_s, 3), "plots": [str(p) for p, _ in charts]})

