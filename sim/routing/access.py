"""Access: how commuters reach their first platform, leave the last, and change between platforms,
per payment medium.

Walk times include the mean service at the facilities passed (network.path_walk_s); a ticket
machine is passed only by media that need a ticket on the operator of the station (after the
operator's fallback for a medium it does not accept). A change between two stations joined by an
interchange takes the cheapest of the interchange's paths open to the medium; `street_walk` is the
part of it outside the stations (beyond the way out of one and in to the other), which a trip may
also walk at its start or end.
"""

from __future__ import annotations

import numpy as np

from ..fares import FareSystem
from ..network import FACILITY, Network, TransferPath, path_walk_s


class Access:
    """Entry, exit and change walks of one network, and the interchange paths open to each medium
    (medium codes index `media`)."""

    def __init__(self, network: Network) -> None:
        self.net = network
        self.media: tuple[str, ...] = tuple(sorted(network.media))
        self._fares = FareSystem(network, self.media)  # for the media operators accept
        self.transfer_out: dict[int, list[tuple[int, float]]] = {}
        """From each station: (station changed to, least walk (s) over the paths, without ticket
        machines), the station itself first (a change of platform)."""
        for s in network.stations:
            self.transfer_out.setdefault(s.index, []).append((s.index, s.transfer_walk_s))
        for (a, b), paths in network.transfers.items():
            self.transfer_out.setdefault(a, []).append(
                (b, min(path_walk_s(p.steps, network, needs_ticket=False) for p in paths)))
        def walks(steps) -> float:
            return sum(st.value for st in steps if st.kind != FACILITY)

        # an interchange path runs from one station's platforms to the other's: outside the stations
        # is what it walks beyond the way out of the first and the way in to the second
        self.street_walk: dict[tuple[int, int], float] = {
            (a, b): max(0.0, min(walks(p.steps) for p in paths)
                        - walks(network.stations[a].exit) - walks(network.stations[b].entry))
            for (a, b), paths in network.transfers.items()}
        """Walk (s) outside the stations between two stations joined by an interchange: the least
        walk of its paths (platforms to platforms) less the walks of the first station's exit and
        the second's entry, never below 0."""
        self.entry_walk: np.ndarray = np.asarray(
            [[path_walk_s(st.entry, network, self.needs_ticket(m, st.operator)) for m in self.media]
             for st in network.stations]).reshape(-1, len(self.media))
        """Walk (s) from each station's entrance to its platforms [station, medium]."""
        self.exit_walk: np.ndarray = np.asarray([path_walk_s(st.exit, network, False) for st in network.stations])
        """Walk (s) from each station's platforms out."""
        self.transfer_walk: np.ndarray = np.asarray([st.transfer_walk_s for st in network.stations])
        """Walk (s) between two platforms of one station."""
        self._change_walk: dict[tuple[int, int], np.ndarray] = {}

    def needs_ticket(self, medium: str, operator: int) -> bool:
        """Whether commuters holding `medium` buy a ticket to enter a station of `operator`."""
        return self.net.media[self.effective_medium(medium, operator)].needs_ticket

    def effective_medium(self, medium: str, operator: int) -> str:
        """The medium actually used on an operator (its fallback if it does not accept `medium`)."""
        return self._fares.effective_medium(medium, operator)

    def transfer_path(self, a: int, b: int, medium: str) -> TransferPath | None:
        """The cheapest path from station a to b open to `medium` (None: none is)."""
        paths = [p for p in self.net.transfers.get((a, b), ()) if p.media is None or medium in p.media]
        if not paths:
            return None
        op_b = self.net.stations[b].operator
        return min(paths, key=lambda p: path_walk_s(p.steps, self.net, self.needs_ticket(medium, op_b)))

    def change_walk(self, a: int, b: int) -> np.ndarray:
        """Walk plus mean service (s) of the cheapest path from station a to b, per medium (inf
        where no path is open to it). Kept once asked (a function of the network alone)."""
        key = (a, b)
        if key not in self._change_walk:
            out = np.full(len(self.media), np.inf)
            for m, name in enumerate(self.media):
                path = self.transfer_path(a, b, name)
                if path is not None:
                    out[m] = path_walk_s(path.steps, self.net, self.needs_ticket(name, self.net.stations[b].operator))
            self._change_walk[key] = out
        return self._change_walk[key]
