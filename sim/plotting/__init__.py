"""Charts (matplotlib): each function takes tables and returns a Figure (the type is exported for
callers that hold charts); `save` writes a PNG.

    fig = sim.plotting.travel_time_distribution({"baseline": res.trips})
    sim.plotting.save(fig, "tt.png")
"""

from matplotlib.figure import Figure

from .common import DPI, clock_label, save
from .compare import (
    facility_waits,
    fares_revenue,
    load_profiles,
    mode_choice,
    percentile_changes,
    time_part_changes,
    time_parts,
    transfer_times,
    travel_time_cdfs,
    travel_time_changes,
)
from .maps import network_map
from .policies import coordination_tradeoff
from .run import (
    boardings_alightings,
    crowding_heatmap,
    line_load_profile,
    marey_diagram,
    path_sections,
    queue_lengths,
    travel_time_distribution,
)
from .sweep import MAX_SERIES, kpi_by_dimension, kpi_heatmap

__all__ = ["DPI", "MAX_SERIES", "Figure", "boardings_alightings", "clock_label", "coordination_tradeoff", "crowding_heatmap",
           "facility_waits", "fares_revenue", "kpi_by_dimension", "kpi_heatmap", "line_load_profile", "load_profiles",
           "marey_diagram", "mode_choice", "network_map", "path_sections", "percentile_changes", "queue_lengths", "save",
           "time_part_changes", "time_parts", "transfer_times", "travel_time_cdfs",
           "travel_time_changes", "travel_time_distribution"]
