"""Batch sweeps: a grid (or zip, or sample) of scenario parameters with replications, run on local
processes or a Dask cluster, summarised per run and per point with confidence intervals.

    sweep = load_sweep("scenarios/sweep_huaqiao.yaml")
    summary = run_sweep(sweep, Path("results/sweep_huaqiao"), workers=2)
"""

from .runner import run_sweep
from .spec import Sweep, check_points, expand, load_sweep

__all__ = ["Sweep", "check_points", "expand", "load_sweep", "run_sweep", "run_sweep_file"]


def run_sweep_file(path, out=None, workers: int = 1, scheduler: str | None = None, resume: bool = False,
                   force: bool = False):
    """Load the sweep file at `path` and run it into `out` (default results/<sweep name> in the
    current directory); the summary table (one row per run: parameters, status, every KPI)."""
    from pathlib import Path

    sweep = load_sweep(path)
    target = Path(out) if out is not None else Path("results") / sweep.model.name
    return run_sweep(sweep, target, workers=workers, scheduler=scheduler, resume=resume, force=force)
