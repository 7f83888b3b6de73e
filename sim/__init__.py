"""Discrete-event transit simulator for the Yangtze River Delta commuting circle.

Notebook API::

    import sim
    scn = sim.load_scenario("scenarios/baseline.yaml").with_overrides({"demand.total": 200_000})
    res = sim.run(scn, seed=7)
    res.trips.groupby("route").travel_time_s.mean()
"""

from . import metrics
from .api import RunResult, run
from .errors import UserError
from .io import load_results
from .scenario import Scenario, load_network, load_scenario

__version__ = "0.1.0"

__all__ = ["RunResult", "Scenario", "UserError", "load_network", "load_results", "load_scenario", "metrics",
           "run", "__version__"]
