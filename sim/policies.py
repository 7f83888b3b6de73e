"""Integration policies that compile into the timetable: timetable coordination.

(The other interconnections compile elsewhere, before any commuter moves: security trust and ticket
recognition into interchange paths when the network is built, fare integration into the fare
system, information into route choice.)

Coordination shifts every departure of a receiving service (and of the services listed to shift
with it) by one offset so that passengers from feeder trains reach its platform `target_slack_s`
before it leaves. The offset minimises the mean
planned transfer wait, from reaching the platform (feeder arrival + mean transfer time) to the
first receiving departure at least the slack later, over the feeder arrivals in the rule's window.
Offsets are whole seconds in [0, longest headway of the receiver), ties to the smallest. The waits
reported are that mean, without the shift and with it. A rule with a fixed `offset_s` uses it as it
is; a rule whose method is `simulation` is searched by the shell (sim.coordination_search), which
runs the scenario once per candidate offset with the offset fixed.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .network import Coordination, CoordinationResult, Network, path_walk_s


def transfer_time_s(network: Network, rule: Coordination) -> float:
    """Mean time (s) from the feeder's arrival to reaching the receiver's platform: the station's
    transfer walk, or the quickest interchange path (open to `rule.medium` when given), walking
    plus mean service at its facilities."""
    if rule.from_station == rule.to_station:
        return network.stations[rule.to_station].transfer_walk_s
    paths = [p for p in network.transfers[(rule.from_station, rule.to_station)]
             if rule.medium is None or p.media is None or rule.medium in p.media]
    if not paths:
        return np.inf
    needs = network.media[rule.medium].needs_ticket if rule.medium is not None else False
    return min(path_walk_s(p.steps, network, needs) for p in paths)


def planned_waits(ready: np.ndarray, departures: np.ndarray, slack_s: float, offsets: np.ndarray) -> np.ndarray:
    """Mean wait (s) of passengers reaching the platform at `ready`, for each offset added to the
    sorted `departures`: from reaching the platform to the first departure at least `slack_s`
    later (a passenger with no such departure waits to the end of the timetable plus 2 h)."""
    if ready.size == 0:
        return np.zeros(len(offsets))
    tail = np.append(departures, departures[-1] + 7200.0) if len(departures) else np.asarray([np.inf])
    want = ready[None, :] + slack_s - offsets[:, None]  # in the unshifted timetable's clock
    k = np.minimum(np.searchsorted(tail, want), len(tail) - 1)
    nxt = np.maximum(tail[k], want) + offsets[:, None]
    return (nxt - ready[None, :]).mean(axis=1)


def coordinate(network: Network, rule: Coordination) -> CoordinationResult:
    """The receiver's offset and the planned transfer waits for one rule."""
    recv = network.patterns[rule.receiver]
    at = recv.stops.index(rule.to_station)
    deps = (np.asarray(recv.departures, dtype=float) + recv.dep_offset[at])[recv.entry_of() <= at]
    arrivals = []
    for f in rule.feeders:
        p = network.patterns[f]
        i = p.stops.index(rule.from_station)
        arrivals.append((np.asarray(p.departures, dtype=float) + p.arr_offset[i])[p.entry_of() < i])
    arr = np.sort(np.concatenate(arrivals)) if arrivals else np.zeros(0)
    arr = arr[(arr >= rule.window[0]) & (arr < rule.window[1])]
    walk = transfer_time_s(network, rule)
    ready = arr + walk
    longest = float(np.diff(deps).max()) if len(deps) > 1 else 3600.0
    offsets = np.arange(0.0, np.ceil(longest))
    if rule.mode == "coordinated" and rule.offset_s is not None:
        offsets = np.asarray([0.0, float(rule.offset_s)])
    waits = planned_waits(ready, deps, rule.target_slack_s, offsets)
    best = (len(offsets) - 1 if rule.offset_s is not None else int(np.argmin(waits))) if rule.mode == "coordinated" else 0
    method = "fixed" if rule.mode == "coordinated" and rule.offset_s is not None else rule.method
    return CoordinationResult(rule.id, recv.id, rule.mode, float(offsets[best]), float(walk), int(len(arr)),
                              float(waits[0]), float(waits[best]), method)


def candidate_offsets(network: Network, rule: Coordination) -> list[float]:
    """The offsets a simulation search tries: the rule's `candidates_s`, or every whole minute
    below the receiver's longest headway."""
    if rule.candidates_s is not None:
        return sorted(set(rule.candidates_s))
    deps = np.asarray(network.patterns[rule.receiver].departures, dtype=float)
    longest = float(np.diff(deps).max()) if len(deps) > 1 else 3600.0
    return [float(x) for x in np.arange(0.0, longest, 60.0)]


def apply_coordination(network: Network) -> Network:
    """The network with every coordinated receiver's departures shifted, and every rule's result
    (offsets and planned waits) in `coordination_results`."""
    if not network.coordination:
        return network
    patterns = list(network.patterns)
    results: list[CoordinationResult] = []
    for rule in network.coordination:
        res = coordinate(network if not results else replace(network, patterns=tuple(patterns)), rule)
        results.append(res)
        if res.offset_s:
            for k in (rule.receiver, *rule.shift_with):
                patterns[k] = replace(patterns[k], departures=tuple(t + res.offset_s for t in patterns[k].departures))
    return replace(network, patterns=tuple(patterns), coordination_results=tuple(results))
