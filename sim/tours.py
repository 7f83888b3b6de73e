"""Where the returns of tours start: the outbound journey's expected arrival plus the stay drawn.

Demand draws each return's start as its outbound start plus the stay (schema.TourSpec); here, once
the network is known as legs, the outbound journey's expected travel time by its cheapest candidate
route (walks, mean services, expected waits and rides, no queue or full train) is added, so the
return leaves after the stay at the destination, and at the period's end at the latest. A return
whose outbound journey is slower than expected by more than the stay starts when that journey ends
instead: the engines hold it until then (`waits_for`, Plan.after).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .choice import Chooser
from .demand import RETURN, Demand
from .network import Network
from .routing import Access, CandidateSearch, LegNetwork


def place_returns(demand: Demand, network: Network, legs: LegNetwork, access: Access, search: CandidateSearch,
                  period_end: float, file: str = "") -> tuple[Demand, Chooser | None]:
    """`demand` with each return's start moved on by its outbound journey's expected travel time (s)
    and kept before `period_end`, and the route chooser of the outbound journeys that found it (for
    route choice to keep its routes and costs); the same demand and None when nobody makes a tour."""
    if demand.partner is None or demand.tour_leg is None:
        return demand, None
    returns = np.flatnonzero(demand.tour_leg == RETURN)
    outbound = demand.partner[returns]
    # the outbound journeys' candidates, found and priced once: route choice keeps them (Chooser previous=)
    chooser = Chooser(network, legs, access, search, demand.origin[outbound], demand.destination[outbound],
                      demand.payment[outbound], demand.media, demand.t_depart[outbound], np.random.default_rng(0),
                      file)  # its uniform numbers are not used
    cheapest = chooser.cheapest_routes()
    expected = chooser.costs.expected_travel_time(cheapest, chooser.medium, demand.t_depart[outbound])
    t_depart = demand.t_depart.copy()
    t_depart[returns] = np.minimum(demand.t_depart[returns] + expected, np.nextafter(period_end, 0.0))
    return replace(demand, t_depart=t_depart), chooser


def waits_for(demand: Demand) -> np.ndarray | None:
    """Per journey, the journey that must end before it starts (int64): a return's outbound
    journey, -1 for the others; None when nobody makes a tour (see Plan.after)."""
    if demand.partner is None or demand.tour_leg is None:
        return None
    return np.where(demand.tour_leg == RETURN, demand.partner, -1).astype(np.int64)
