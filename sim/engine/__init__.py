"""The simulation runtime (SimPy). Two engines run the same Plan and give the same Records:

- `bulk`: commuters are rows in numpy arrays, moved in batches between FIFO queues when a train
  calls; trains are SimPy processes.
- `reference`: one SimPy process per commuter and `simpy.Resource` queues; small and slow, the
  yardstick the bulk engine is tested against.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

from ..memory import trim_heap
from ..plan import Plan
from .itinerary import OnTheWay
from .records import Records


def run_engine(plan: Plan, engine: str = "bulk", progress: Callable[[float], None] | None = None,
               way: OnTheWay | None = None) -> Records:
    """Simulate `plan` with the named engine; `progress` gets the simulated clock (s) now and then;
    `way`: choices on the way (none when absent: everyone follows their plan)."""
    if engine == "bulk":
        from .bulk import run_bulk as run
    elif engine == "reference":
        from .reference import run_reference as run
    else:
        raise ValueError(f"unknown engine {engine!r} (expected 'bulk' or 'reference')")
    # what exists before the run (the plan, the route search's candidates, the decision hook's choices)
    # outlives it: the collector, full passes included, need not walk it while the engine runs
    gc.freeze()
    try:
        rec = run(plan, progress, way)
        # the SimPy environment and the processes still waiting in it at the end refer to each other,
        # and through them to the engine's queues and itineraries: let them go now, not when the
        # collector next runs (which may be after the tables, holding hundreds of MB the tables could
        # have used)
        gc.collect()
    finally:
        gc.unfreeze()
    trim_heap()  # the engine's queues and itineraries, freed: the tables need the room
    return rec


__all__ = ["OnTheWay", "Records", "run_engine"]
