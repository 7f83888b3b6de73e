"""Charts (matplotlib): each function takes tables and returns a Figure; `save` writes a PNG.

    fig = sim.plotting.travel_time_distribution({"baseline": res.trips})
    sim.plotting.save(fig, "tt.png")
"""

from .common import DPI, clock_label, save
from .run import line_load_profile, marey_diagram, travel_time_distribution

__all__ = ["DPI", "clock_label", "line_load_profile", "marey_diagram", "save", "travel_time_distribution"]
