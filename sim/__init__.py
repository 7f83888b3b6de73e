"""Discrete-event transit simulator for the Yangtze River Delta commuting circle.

Notebook API::

    import sim
    scn = sim.load_scenario("scenarios/baseline.yaml").with_overrides({"demand.total": 200_000})
    res = sim.run(scn, seed=7)
    res.trips.groupby("route").travel_time_s.mean()
    summary = sim.run_sweep("scenarios/sweep_huaqiao.yaml", out="results/sweep_huaqiao", workers=2)
"""

import os

# Parquet is written through pyarrow, whose default jemalloc pool runs a background thread; a process
# forked while that thread holds one of its locks (the chart processes, `git` for the manifest) can
# wait for it forever. The system allocator has no such thread. A user's own setting is kept.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

# A run fills hundreds of MB of fresh arrays. numpy asks the kernel for transparent huge pages for
# every large array; where the kernel then compacts memory at each fault (transparent_hugepage/defrag
# at `madvise`), filling fresh memory cost 5 ms per MB against 0.4 ms without, 3 to 5 s of a
# 1,000,000-commuter run (BENCHMARKS.md). A user's own NUMPY_MADVISE_HUGEPAGE is kept.
if "NUMPY_MADVISE_HUGEPAGE" not in os.environ:
    from numpy._core.multiarray import _set_madvise_hugepage  # type: ignore[attr-defined]  # not in the stubs

    _set_madvise_hugepage(False)

from . import metrics  # noqa: E402  (after the setting above, before pyarrow is first imported)
from .api import RunResult, run  # noqa: E402
from .errors import UserError  # noqa: E402
from .io import load_results  # noqa: E402
from .scenario import Scenario, load_network, load_scenario  # noqa: E402

__version__ = "0.1.0"


def run_sweep(path, out=None, workers: int = 1, scheduler: str | None = None, resume: bool = False,
              force: bool = False):
    """Run the sweep file at `path` (see sim.sweep); the summary table as a DataFrame."""
    from .sweep import run_sweep_file  # here: keeps `import sim` light

    return run_sweep_file(path, out, workers, scheduler, resume, force)

__all__ = ["RunResult", "Scenario", "UserError", "load_network", "load_results", "load_scenario", "metrics",
           "run", "run_sweep", "__version__"]
