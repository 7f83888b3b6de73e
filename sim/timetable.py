"""Train runs: every departure of every pattern expanded into calls (station, arrival, departure).

Times are whole seconds since midnight (run times and dwells are rounded), so that a SimPy clock
stepping from call to call lands on them exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .network import Network
from .units import format_time


@dataclass(frozen=True)
class Trains:
    """All train runs as flat arrays. Train k's calls are rows call_start[k] .. call_start[k+1]-1."""

    train_id: tuple[str, ...]
    pattern: np.ndarray  # int32, per train
    capacity: np.ndarray  # int64, persons per train
    call_start: np.ndarray  # int64, len n_trains + 1
    call_station: np.ndarray  # int32
    call_platform: np.ndarray  # int32
    call_seq: np.ndarray  # int32, position of the call within its pattern
    call_t_arr: np.ndarray  # float64, s
    call_t_dep: np.ndarray  # float64, s

    @property
    def n_trains(self) -> int:
        return len(self.train_id)


def build_trains(network: Network, t_from: float, t_to: float) -> Trains:
    """Every train whose run overlaps [t_from, t_to), in order of first departure (ties: pattern)."""
    rows = []
    for p in network.patterns:
        dep = np.asarray(p.departures, dtype=float)
        keep = (dep + p.arr_offset[-1] >= t_from) & (dep < t_to)
        for t0 in dep[keep]:
            rows.append((float(t0), p.index))
    rows.sort()
    ids, pats, caps, starts = [], [], [], [0]
    st, pl, seq, ta, td = [], [], [], [], []
    for t0, pi in rows:
        p = network.patterns[pi]
        ids.append(f"{p.id}@{format_time(t0)}")
        pats.append(pi)
        caps.append(p.capacity)
        n = len(p.stops)
        st.extend(p.stops)
        pl.extend(p.platforms)
        seq.extend(range(n))
        ta.extend(t0 + a for a in p.arr_offset)
        td.extend(t0 + d for d in p.dep_offset)
        starts.append(starts[-1] + n)
    return Trains(
        train_id=tuple(ids),
        pattern=np.asarray(pats, dtype=np.int32),
        capacity=np.asarray(caps, dtype=np.int64),
        call_start=np.asarray(starts, dtype=np.int64),
        call_station=np.asarray(st, dtype=np.int32),
        call_platform=np.asarray(pl, dtype=np.int32),
        call_seq=np.asarray(seq, dtype=np.int32),
        call_t_arr=np.asarray(ta, dtype=float),
        call_t_dep=np.asarray(td, dtype=float),
    )


def stop_positions(network: Network) -> np.ndarray:
    """[pattern, station] -> position of the station in the pattern's stops, or -1."""
    out = np.full((len(network.patterns), len(network.stations)), -1, dtype=np.int32)
    for p in network.patterns:
        out[p.index, list(p.stops)] = np.arange(len(p.stops), dtype=np.int32)
    return out
