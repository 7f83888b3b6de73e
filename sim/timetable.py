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
    """All train runs as flat arrays. Train k's calls are rows call_start[k] .. call_start[k+1]-1.
    A call is a stop, or (`call_stop` False) a station passed without stopping, which only the
    track of dynamic operations sees."""

    train_id: tuple[str, ...]
    pattern: np.ndarray  # int32, per train
    capacity: np.ndarray  # int64, persons per train
    call_start: np.ndarray  # int64, len n_trains + 1
    call_station: np.ndarray  # int32
    call_platform: np.ndarray  # int32
    call_seq: np.ndarray  # int32, position of the call's stop within its pattern (the stop before, when passing)
    call_t_arr: np.ndarray  # float64, s
    call_t_dep: np.ndarray  # float64, s
    call_stop: np.ndarray  # bool
    call_serves_to: np.ndarray  # int32: last stop position riders boarding here may ride to (shortened runs)

    @property
    def n_trains(self) -> int:
        return len(self.train_id)


def build_trains(network: Network, t_from: float, t_to: float, passes: bool = False) -> Trains:
    """Every train whose run overlaps [t_from, t_to), in order of departure from its pattern's first
    stop (ties: pattern), from the stop where it enters service, with the stations it passes
    without stopping when `passes`. A train is named by its pattern and that departure time (for
    a train entering service at a depot, the time it would have left the first stop)."""
    rows = []
    for p in network.patterns:
        dep = np.asarray(p.departures, dtype=float)
        entry = p.entry_of()
        keep = (dep + p.arr_offset[-1] >= t_from) & (dep < t_to)
        for t0, e in zip(dep[keep], entry[keep]):
            rows.append((float(t0), p.index, int(e)))
    rows.sort()
    ids, pats, caps, starts = [], [], [], [0]
    st, pl, seq, ta, td, stop, serves = [], [], [], [], [], [], []
    for t0, pi, e in rows:
        p = network.patterns[pi]
        ids.append(f"{p.id}@{format_time(t0)}")
        pats.append(pi)
        caps.append(p.capacity)
        calls = [(i, 0, s, p.platforms[i], t0 + p.arr_offset[i], t0 + p.dep_offset[i], True)
                 for i, s in enumerate(p.stops) if i >= e]
        if passes and p.passes:  # each passed station after the stop before it, in travel order
            calls += [(after, 1, s, plat, t0 + t, t0 + t, False) for after, s, plat, t in p.passes if after >= e]
            calls.sort(key=lambda c: (c[0], c[1], c[4]))
        for i, _, s, plat, a, d, is_stop in calls:
            seq.append(i)
            st.append(s)
            pl.append(plat)
            ta.append(a)
            td.append(d)
            stop.append(is_stop)
            serves.append(len(p.stops) - 1)
        starts.append(starts[-1] + len(calls))
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
        call_stop=np.asarray(stop, dtype=bool),
        call_serves_to=np.asarray(serves, dtype=np.int32),
    )


def stop_positions(network: Network) -> np.ndarray:
    """[pattern, station] -> position of the station in the pattern's stops, or -1."""
    out = np.full((len(network.patterns), len(network.stations)), -1, dtype=np.int32)
    for p in network.patterns:
        out[p.index, list(p.stops)] = np.arange(len(p.stops), dtype=np.int32)
    return out


@dataclass(frozen=True)
class Operations:
    """What trains need to run in `dynamic` operations (see engine.trains): per call, per platform
    and per train. With `dynamic` False, trains keep exactly to the timetable."""

    dynamic: bool
    prev_platform: np.ndarray  # int32 per call: platform of the train's previous call, -1 at its first
    min_run: np.ndarray  # float64 per call: shortest run (s) from the previous call's departure (late trains)
    platform_capacity: np.ndarray  # int64 per platform: trains it can hold at once (2 with a passing track)
    platform_headway: np.ndarray  # float64 per platform: minimum separation of consecutive trains (s)
    door_channels: np.ndarray  # float64 per train; 0: dwell as scheduled
    door_time: np.ndarray  # float64 per train (s)
    boarding: np.ndarray  # float64 per train: s per boarding passenger per door channel
    alighting: np.ndarray  # float64 per train: s per alighting passenger per door channel
    crowded_density: np.ndarray  # float64 per train: persons per m2 of standing area
    crowded_factor: np.ndarray  # float64 per train
    max_dwell: np.ndarray  # float64 per train (s)
    seats: np.ndarray  # float64 per train
    standing_area: np.ndarray  # float64 per train (m2)


def build_operations(network: Network, trains: Trains, dynamic: bool) -> Operations:
    """Per-call, per-platform and per-train parameters of dynamic operations from the lines'
    `operations` (a line without them: scheduled dwell, no separation, no recovery)."""
    n_calls = len(trains.call_station)
    prev = np.full(n_calls, -1, dtype=np.int32)
    min_run = np.zeros(n_calls)
    first = trains.call_start[:-1]
    not_first = np.ones(n_calls, dtype=bool)
    not_first[first[first < n_calls]] = False
    idx = np.flatnonzero(not_first)
    prev[idx] = trains.call_platform[idx - 1]
    line_of_pattern = np.asarray([p.line for p in network.patterns], dtype=np.int64)
    train_line = line_of_pattern[trains.pattern] if trains.n_trains else np.zeros(0, dtype=np.int64)
    call_train = np.repeat(np.arange(trains.n_trains), np.diff(trains.call_start))
    recovery = np.asarray([ln.ops.running_recovery if ln.ops else 0.0 for ln in network.lines])
    run = trains.call_t_arr[idx] - trains.call_t_dep[idx - 1]
    min_run[idx] = run - np.floor(run * recovery[train_line[call_train[idx]]] + 1e-9)
    plat_line = np.asarray([pl.line for pl in network.platforms], dtype=np.int64)
    plat_station = network.platform_stations()
    capacity = np.asarray([2 if network.lines[li].ops and s in network.lines[li].passing else 1
                           for li, s in zip(plat_line, plat_station)], dtype=np.int64)
    headway = np.asarray([network.lines[li].ops.min_headway_s if network.lines[li].ops else 0.0 for li in plat_line])

    def per_train(field: str, default: float) -> np.ndarray:
        values = np.asarray([float(getattr(ln.ops, field)) if ln.ops else default for ln in network.lines])
        return values[train_line] if len(train_line) else np.zeros(0)

    return Operations(
        dynamic=dynamic, prev_platform=prev, min_run=min_run, platform_capacity=capacity, platform_headway=headway,
        door_channels=per_train("door_channels", 0.0), door_time=per_train("door_time_s", 0.0),
        boarding=per_train("boarding_s", 0.0), alighting=per_train("alighting_s", 0.0),
        crowded_density=per_train("crowded_density_p_m2", np.inf), crowded_factor=per_train("crowded_factor", 1.0),
        max_dwell=per_train("max_dwell_s", 0.0), seats=per_train("seats", 0.0),
        standing_area=per_train("standing_area_m2", 1.0),
    )
