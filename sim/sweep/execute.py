"""Running one run of a sweep (in any worker process) and the backends that run many: local
processes, or a Dask cluster. A worker keeps the routing it built (the network as legs, access walks,
and the candidate search with the routes it found) for the next runs that share the network,
routing parameters and period."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import multiprocessing
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError

DASK_SETTINGS = Path(__file__).with_name("dask.yaml")
"""Dask settings for sweep workers (why: see the file)."""


def _dotted(tree: dict, prefix: str = "") -> dict[str, Any]:
    """A nested mapping as dotted keys (for dask.config.set, which would replace whole branches)."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        out.update(_dotted(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


_ROUTING: dict[str, Any] = {}
"""This process's routing (api.RoutingCache), kept between runs (see api.prepare)."""


@dataclass(frozen=True)
class Task:
    """One run: where its scenario is, what to override, which seed and replication, where to write."""

    run_id: str
    point: str
    replication: int
    scenario: str
    overrides: dict[str, Any]
    seed: int
    out: str
    """The sweep directory (the run goes to runs/<run_id>/)."""
    tables: tuple[str, ...]
    engine: str = "bulk"
    base: str = ""
    """Digest of the base scenario and its network files (a resumed sweep reruns a run made on another)."""


def run_task(task: Task) -> dict[str, Any]:
    """Run one task and write its run directory; the summary row (run, point, replication, seed,
    status, error, wall_s and every flattened KPI). A failing run gives status `failed` and its
    error instead of raising."""
    from .. import api
    from ..metrics import flatten
    from ..rundir import run_identity, write_run_dir
    from ..scenario import load_scenario
    from ..staging import StagedDir, check_output_dir

    t0 = time.perf_counter()
    row: dict[str, Any] = {"run_id": task.run_id, "point": task.point, "replication": task.replication,
                           "seed": task.seed, "status": "ok", "error": ""}
    quiet = logging.getLogger("sim")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # a run's warnings go to its summary.json, not to the console
    try:
        scenario = load_scenario(task.scenario, task.overrides)
        result = api.run(scenario, task.seed, task.replication, task.engine, routing_cache=_ROUTING)
        target = Path(task.out) / "runs" / task.run_id
        with StagedDir(target, "run", run_identity(scenario, task.seed)) as stage:  # the run appears whole or not at all
            check_output_dir(target, force=True, kinds=("run",))
            summary = write_run_dir(stage.staged, result, ["sweep", task.run_id], t0, task.tables, charts=False,
                                    extra_manifest={"sweep_point": task.point, "sweep_parameters": task.overrides,
                                                    "sweep_base": task.base})
        row.update(flatten(summary))
    except UserError as err:
        row.update(status="failed", error="; ".join(str(p) for p in err.problems))
    except Exception as err:  # a bug in one run must not stop the sweep; the row keeps it
        row.update(status="failed", error=f"internal error: {type(err).__name__}: {err}")
    finally:
        quiet.setLevel(level)
    row["wall_s"] = round(time.perf_counter() - t0, 3)
    return row


def run_local(tasks: Iterable[Task], workers: int, done: Callable[[dict], None]) -> None:
    """Run tasks on `workers` local processes (in this process when 1), calling `done` with each
    row as it completes. On KeyboardInterrupt the queued runs are dropped, the running ones finish."""
    tasks = list(tasks)
    if workers <= 1:
        for task in tasks:
            done(run_task(task))
        return
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        pending = {pool.submit(run_task, t) for t in tasks}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                done(fut.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_dask(tasks: Iterable[Task], scheduler: str, workers: int, done: Callable[[dict], None]) -> dict[str, Any]:
    """Run tasks on a Dask cluster: `scheduler` is a scheduler address (tcp://host:8786) or `local`
    (a local cluster of `workers` single-threaded worker processes). Returns what the cluster was."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - dask is in requirements.txt
        raise UserError.single("", "--scheduler", "dask.distributed is not installed") from None
    cluster = None
    if scheduler == "local":
        import dask
        import yaml

        with dask.config.set(_dotted(yaml.safe_load(DASK_SETTINGS.read_text(encoding="utf-8")))):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout=20)
        except OSError as err:
            raise UserError.single("", "--scheduler", f"cannot reach the Dask scheduler at {scheduler}: {err}") from None
    try:
        check_workers(client, scheduler)
        info = {"scheduler": scheduler, "workers": len(client.scheduler_info().get("workers", {}))}
        futures = [client.submit(run_task, t, key=f"sweep-run-{t.run_id}-{time.time_ns()}", pure=False) for t in tasks]
        try:
            for fut in as_completed(futures):
                done(fut.result())
        except KeyboardInterrupt:
            client.cancel(futures)
            raise
        return info
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def code_fingerprint() -> str:
    """A digest of this simulator's source files (the `sim` package): equal on two machines when
    they run the same code."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def check_workers(client, scheduler: str) -> None:
    """Refuse a cluster whose scheduler or workers cannot load this simulator, or whose workers run
    other code than ours: they would fail every run, or give results that differ from a local sweep."""
    where = client.run(importlib.util.find_spec, "sim")
    missing = sorted(w for w, spec in where.items() if spec is None)
    if client.run_on_scheduler(importlib.util.find_spec, "sim") is None:
        missing.insert(0, "scheduler")
    if missing:
        raise UserError.single("", "--scheduler", f"the Dask {', '.join(missing)} of {scheduler} cannot import this "
                               "simulator (the scheduler reads the runs, the workers run them): install it in their "
                               "environment (pip install -e /path/to/clone) or start them with "
                               "PYTHONPATH=/path/to/clone")
    ours = code_fingerprint()
    other = sorted(w for w, fp in client.run(code_fingerprint).items() if fp != ours)
    if other:
        raise UserError.single("", "--scheduler", f"the Dask workers {', '.join(other)} of {scheduler} run other "
                               f"simulator code than this one (source digest {ours}): install the same revision there")


def _json(path: Path) -> dict | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def recorded_differences(manifest: dict, task: Task) -> list[str]:
    """How the run recorded in `manifest` differs from `task`: parameters (path: recorded ->
    now), seed, replication, engine and the base scenario; empty when it is the same run."""
    diffs = []
    recorded = manifest.get("sweep_parameters")
    recorded = recorded if isinstance(recorded, dict) else {}
    for key in sorted(set(recorded) | set(task.overrides)):
        old, new = recorded.get(key, "(not set)"), task.overrides.get(key, "(not set)")
        if _canonical(old) != _canonical(new):
            diffs.append(f"{key}: {_canonical(old)} -> {_canonical(new)}")
    for key, now in (("seed", task.seed), ("replication", task.replication), ("engine", task.engine)):
        if manifest.get(key) != now:
            diffs.append(f"{key}: {manifest.get(key)} -> {now}")
    if manifest.get("sweep_base") != task.base:
        diffs.append("the base scenario or its network files changed")
    return diffs


def row_of_run_dir(path: Path, task: Task) -> dict[str, Any] | str | None:
    """The summary row of a run already complete with `task`'s parameters; a text naming the
    differences when it was made with others; None when it is not complete (or its files cannot
    be read): either way it must run."""
    from ..metrics import flatten

    summary, manifest = _json(path / "summary.json"), _json(path / "manifest.json")
    if summary is None or manifest is None:
        return None
    diffs = recorded_differences(manifest, task)
    if diffs:
        return ", ".join(diffs)
    try:
        kpis = flatten(summary)
    except (TypeError, ValueError, AttributeError):
        return None
    return {"run_id": task.run_id, "point": task.point, "replication": task.replication, "seed": task.seed,
            "status": "ok", "error": "", **kpis, "wall_s": manifest.get("wall_time_s", float("nan"))}
