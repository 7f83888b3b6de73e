"""Discrete-event transit simulator for the Yangtze River Delta commuting circle.

Notebook API::

    import sim
    scn = sim.load_scenario("scenarios/baseline.yaml").with_overrides({"demand.total": 200_000})
    res = sim.run(scn, seed=7)
    res.trips.groupby("route").travel_time_s.mean()
    summary = sim.run_sweep("scenarios/sweep_huaqiao.yaml", out="results/sweep_huaqiao", workers=2)
"""

from . import metrics
from .api import RunResult, run
from .errors import UserError
from .io import load_results
from .scenario import Scenario, load_network, load_scenario

__version__ = "0.1.0"


def run_sweep(path, out=None, workers: int = 1, scheduler: str | None = None, resume: bool = False,
              force: bool = False):
    """Run the sweep file at `path` (see sim.sweep); the summary table as a DataFrame."""
    from .sweep import run_sweep_file  # here: keeps `import sim` light

    return run_sweep_file(path, out, workers, scheduler, resume, force)

__all__ = ["RunResult", "Scenario", "UserError", "load_network", "load_results", "load_scenario", "metrics",
           "run", "run_sweep", "__version__"]
