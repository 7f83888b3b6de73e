"""Reports of runs: charts with captions, comparisons of several runs, HTML reports.

    views = [RunView.of_run_dir(sim.load_results(d)) for d in dirs]
"""

from .charts import all_charts, standard_charts
from .compare import compare_runs
from .html import write_run_report
from .view import RunView, network_from_manifest

__all__ = ["RunView", "all_charts", "compare_runs", "network_from_manifest", "standard_charts", "write_run_report"]
