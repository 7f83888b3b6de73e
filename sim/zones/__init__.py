"""Zones: commuters who start and end in places rather than at stations, and choose how to travel.

    zones = load_zones(path)                                  # ids, centres, residents, jobs
    weights = segment_weights(demand_spec, zones, problems)   # gravity weights of zone segments
    choice = choose_modes(demand, zones, spec, network, legs, access, search, rng)
    choice.demand                                             # who rides rail, from which stations
"""

from .access import ACCESS_MODES, StationAccess, station_access
from .choice import MODES, ModeChoice, choose_modes, road_cost
from .data import Zones, check_groups, load_zones, segment_weights
from .kpis import mode_choice_kpis, zone_trips_table

__all__ = ["ACCESS_MODES", "MODES", "ModeChoice", "StationAccess", "Zones", "check_groups", "choose_modes",
           "load_zones", "mode_choice_kpis", "road_cost", "segment_weights", "station_access", "zone_trips_table"]
