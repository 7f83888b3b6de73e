"""Routing: the network as legs, how commuters reach and change between platforms, and the search for
candidate routes. Three parts, each built from what it needs and passed to whoever uses it:

- `legs` (`LegNetwork`): every leg option (a ride from a boarding platform to an alighting station
  on any train serving both) with its departures and arrivals as arrays, expected waits by time bin
  and start band, and next-train lookups. Depends on the network and the period only and is not
  changed once built: the part worth keeping between runs.
- `access` (`Access`): entry, exit and change walks, and the interchange paths open to each payment
  medium (with the media operators accept).
- `search` (`CandidateSearch`, `candidate_sets`): the bounded search for candidate routes under one
  set of routing parameters; it keeps the candidates it found, for its holder's next demand.

The fares of a leg list are `fares.leg_fares` and `fares.piece_fares`, on the legs' track pieces.
"""

from .access import Access
from .legs import BAND_S, HORIZON_S, WAIT_BIN_S, LegNetwork, LegOption, build_leg_options, mean_wait_s
from .search import CandidateSearch, Route, RoutePool, candidate_sets, leg_matrix, transfer_points

__all__ = ["BAND_S", "HORIZON_S", "WAIT_BIN_S", "Access", "CandidateSearch", "LegNetwork", "LegOption", "Route", "RoutePool",
           "build_leg_options", "candidate_sets", "leg_matrix", "mean_wait_s", "transfer_points"]
