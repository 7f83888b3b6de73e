"""Reports of runs: charts with captions, comparisons of several runs, HTML reports.

    views = [RunView.of_run_dir(sim.load_results(d)) for d in dirs]
"""

from .charts import all_charts, standard_charts
from .view import RunView, network_from_manifest

__all__ = ["RunView", "all_charts", "network_from_manifest", "standard_charts"]
