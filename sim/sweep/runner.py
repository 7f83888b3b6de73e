"""Running a whole sweep into a directory: runs/<run_id>/ (each a run directory), summary.parquet,
points.parquet, manifest.json and plots/ (see README "Sweeps").

The sweep directory is locked while a sweep writes it. Each run is committed whole (staged, then
renamed), so an interrupted sweep leaves complete runs only; `resume` runs the others and then
writes the tables. summary.parquet and points.parquet are written last (each via a temporary file),
so their presence means the sweep finished.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import UserError
from ..ownership import Marker, read_marker, remove_ours, save_marker
from ..safefs import OutputLock, atomic_write
from ..staging import check_output_dir
from .execute import Task, row_of_run_dir, run_dask, run_local
from .results import points_table, summary_table
from .spec import Sweep

log = logging.getLogger(__name__)

SECONDS_PER_RUN = (1.3, 5.4e-6)
"""Rough wall time of one run: seconds plus seconds per commuter (one worker, tables and summaries
written; measured on the shipped networks, see BENCHMARKS.md "Sweeps"; machines differ 2x)."""


def estimate_s(sweep: Sweep, runs: int, workers: int) -> float:
    """About how long `runs` runs of `sweep` take on `workers` workers, in seconds."""
    from ..scenario import load_scenario

    totals = [sweep.overrides(p).get("demand.total") for p in sweep.points]
    base = load_scenario(sweep.scenario_path, sweep.model.set).model.demand.total
    mean = sum(t if isinstance(t, (int, float)) else base for t in totals) / max(len(totals), 1)
    per_run = SECONDS_PER_RUN[0] + SECONDS_PER_RUN[1] * mean
    return per_run * runs / max(1, min(workers, runs))


def sweep_identity(sweep: Sweep) -> dict[str, str]:
    """What a sweep directory is of, as its ownership marker records it."""
    return {"name": sweep.model.name, "file": str(sweep.path.resolve())}


def _prepare_dir(out: Path, sweep: Sweep, resume: bool, force: bool) -> None:
    """Check that `out` may take this sweep and, unless resuming, remove an earlier sweep's files
    there (only those this simulator wrote); then mark the folder as this sweep's."""
    identity = sweep_identity(sweep)
    if resume:
        marker = read_marker(out)
        if marker is None or marker.kind != "sweep":
            raise UserError.single(str(out), "--resume", "not a sweep directory written by this simulator: nothing "
                                   "to resume")
        if marker.identity.get("name") != sweep.model.name:
            raise UserError.single(str(out), "--resume", f"this directory holds {marker.describe()}")
        return
    found = check_output_dir(out, force, hint="use --resume to finish it, --force to start it again")
    if found is not None:
        remove_ours(out, found)
        if found.kept:
            log.warning("%s: kept what this simulator did not write: %s", out, ", ".join(found.kept[:5]))
    (out / "runs").mkdir(exist_ok=True)
    save_marker(out, Marker("sweep", identity, {}, ("runs",)))


def _write_atomic(df: pd.DataFrame, path: Path) -> None:
    atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False, engine="pyarrow", compression="zstd"))


def _mark_complete(out: Path, sweep: Sweep, written: list[Path]) -> None:
    """Record in the sweep directory's marker the files the sweep wrote at its end."""
    files = {}
    for path in written:
        st = os.lstat(path)
        files[path.relative_to(out).as_posix()] = (st.st_size, st.st_mtime_ns)
    dirs = sorted({p.relative_to(out).parent.as_posix() for p in written} - {"."} | {"runs"})
    save_marker(out, Marker("sweep", sweep_identity(sweep), files, tuple(dirs)))


def tasks_of(sweep: Sweep, out: Path, engine: str = "bulk") -> list[Task]:
    from ..io import file_digest
    from ..scenario import load_scenario

    base = load_scenario(sweep.scenario_path, sweep.model.set)
    seed = base.model.seed if sweep.model.seed is None else sweep.model.seed
    keep = sweep.model.keep_tables
    tables = ("trips", "legs", "trains", "facilities", "fares") if keep is True else tuple(keep or ())
    digest = hashlib.sha256(json.dumps([base.resolved(), {str(p): file_digest(p) for p in base.network_files}],
                                       sort_keys=True, default=str).encode()).hexdigest()[:16]
    return [Task(r.id, r.point.id, r.replication, str(sweep.scenario_path), sweep.overrides(r.point), seed, str(out),
                 tables, engine, digest) for r in sweep.runs()]


def run_sweep(sweep: Sweep, out: Path, workers: int = 1, scheduler: str | None = None, resume: bool = False,
              force: bool = False, engine: str = "bulk", progress: Callable[[int, int, int], None] | None = None, notify: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Run every run of `sweep` not yet complete into `out` (local processes, or Dask when
    `scheduler` is given) and write the sweep's tables and charts; the summary table.
    `progress(done, failed, total)` is called as runs complete. With `resume`, runs already
    complete with the parameters the sweep now gives are kept, the others run (again); a sweep
    already complete is left as it is. `notify(text)` receives what the
    user should know before the runs start (how many, about how long; default: logged)."""
    notify = notify or log.info
    if out.is_symlink():
        raise UserError.single(str(out), "--out", "is a symbolic link; give the folder itself")
    out.parent.mkdir(parents=True, exist_ok=True)
    with OutputLock(out):
        out.mkdir(exist_ok=True)
        _prepare_dir(out, sweep, resume, force)
        t0 = time.perf_counter()
        tasks = tasks_of(sweep, out, engine)
        rows, todo, stale = [], [], []
        for task in tasks:
            found = row_of_run_dir(out / "runs" / task.run_id, task) if resume else None
            if isinstance(found, str):
                stale.append(f"{task.run_id} ({found})")
            (rows.append(found) if isinstance(found, dict) else todo.append(task))
        if stale:
            log.warning("%d run(s) were made with other parameters than the sweep now gives and run again: %s",
                        len(stale), "; ".join(stale[:5]) + (f"; and {len(stale) - 5} more" if len(stale) > 5 else ""))
        if resume and not todo and all((out / n).is_file() for n in ("summary.parquet", "points.parquet", "manifest.json")):
            log.warning("%s: the sweep is complete (%d runs); nothing to do", out, len(tasks))
            return pd.read_parquet(out / "summary.parquet")
        minutes = estimate_s(sweep, len(todo), workers if scheduler is None else max(workers, 1)) / 60
        notify(f"{len(todo)} of {len(tasks)} runs to do on {workers} worker(s): about "
               + (f"{minutes:.0f} min" if minutes >= 1 else "a minute") + " (a rough estimate; machines differ)")
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
        from .charts import sweep_charts, write_sweep_report

        charts = sweep_charts(sweep, points, out / "plots")
        reports = write_sweep_report(sweep, points, charts, out)  # reads summary.parquet: after it
        _write_manifest(sweep, out, cluster, len(todo), time.perf_counter() - t0, charts)
        _mark_complete(out, sweep, [out / "summary.parquet", out / "points.parquet", out / "manifest.json",
                                    *reports, *(p for p, _ in charts)])
        return summary


def _write_manifest(sweep: Sweep, out: Path, cluster: dict, ran: int, wall_s: float, charts: list) -> None:
    from ..io import command_line, git_revision, package_versions, write_json

    atomic_write(out / "manifest.json", lambda tmp: write_json(tmp, {
        "sweep_name": sweep.model.name, "sweep_file": str(sweep.path),
        "sweep": sweep.model.model_dump(mode="json"), "scenario_file": str(sweep.scenario_path),
        "points": {p.id: {"label": p.label, "parameters": p.values} for p in sweep.points},
        "reference_point": sweep.reference.id, "runs": len(sweep.points) * sweep.model.replications,
        "runs_this_time": ran, "cluster": cluster, "command": command_line(), "versions": package_versions(),
        "git_revision": git_revision(), "wall_time_s": round(wall_s, 3), "plots": [str(p) for p, _ in charts]}))

