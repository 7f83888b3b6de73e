"""Warnings, on a loaded scenario, about values the schema accepts but a modeller would hardly
mean, and what the imports of its network's feeds could not keep: facilities served implausibly fast, a value of time outside the plausible range, stations
whose coordinates do not fit their km posts. Each names its file, line and field."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .loading import Document
from .schema import Distribution

MIN_SERVICE_S = 0.1
"""Shortest plausible mean service time of a facility (s): a gate takes about a second a person."""
VALUE_OF_TIME_CNY_PER_H = (5.0, 500.0)
"""Plausible values of time (CNY/h) of commuters in the region (the shipped scenarios use 40)."""
MAX_COORDINATE_EXCESS_KM = 5.0
"""How much further apart in a straight line than their km posts say two neighbouring stations of
a line may be before their coordinates are suspect (km; the shipped networks: at most 0.6). A track
is never shorter than the straight line, so a station put in the wrong place lies far beyond it."""
EARTH_RADIUS_KM = 6371.0088
"""Mean radius of the earth (km), as in the network's straight-line distances."""


def input_warnings(scenario) -> list[str]:
    """Warnings, each naming the file, line and field, about facilities served implausibly fast, a
    value of time outside the plausible range and stations whose coordinates do not fit their km
    posts (a station put in the wrong place)."""
    return (import_notes(scenario) + service_time_warnings(scenario) + value_of_time_warnings(scenario)
            + coordinate_warnings(scenario))


def import_notes(scenario) -> list[str]:
    """What the imports of the network's files chose or could not keep (their `notes`), each with its file."""
    return [f"{doc.path}: {note}" for model, doc in (scenario.loaded_network.files if scenario.loaded_network else ())
            for note in model.notes]


def _services(scenario) -> Iterator[tuple[Document, tuple, Distribution]]:
    """(document, field path, distribution) of every facility service in the network's files: the
    operators' station defaults and the stations' own."""
    for model, doc in scenario.loaded_network.files if scenario.loaded_network else ():
        for i, op in enumerate(model.operators):
            for name, fac in op.station_defaults.facilities.items():
                yield doc, ("operators", i, "station_defaults", "facilities", name, "service"), fac.service
        for i, st in enumerate(model.stations):
            for name, fac in st.facilities.items():
                if fac.service is not None:
                    yield doc, ("stations", i, "facilities", name, "service"), fac.service


def service_time_warnings(scenario) -> list[str]:
    """Facilities whose mean service time is below MIN_SERVICE_S (e.g. 1e-300 s): they never queue."""
    out = []
    for doc, loc, dist in _services(scenario):
        mean, field = _mean(dist)
        if mean < MIN_SERVICE_S:
            out.append(str(doc.problem(loc + (field,), (
                f"a mean service time of {mean:g} s is implausibly short (below {MIN_SERVICE_S:g} s; a gate takes "
                "about a second a person): the facility serves everyone at once and never queues"))))
    return out


def _mean(dist: Distribution) -> tuple[float, str]:
    """A service distribution's mean (s) and the field that sets it."""
    # the schema (Distribution) requires min_s and max_s for uniform, mean_s for every other kind
    if dist.dist == "uniform":
        assert dist.min_s is not None and dist.max_s is not None
        return (dist.min_s + dist.max_s) / 2, "max_s"
    assert dist.mean_s is not None
    return dist.mean_s, "mean_s"


def value_of_time_warnings(scenario) -> list[str]:
    """A value of time outside VALUE_OF_TIME_CNY_PER_H: fares then outweigh any time saved (too
    small) or count for nothing (too large) in route choice."""
    vot = scenario.model.routing.value_of_time_cny_per_h
    low, high = VALUE_OF_TIME_CNY_PER_H
    if low <= vot <= high:
        return []
    effect = "every fare outweighs any time saved" if vot < low else "fares count for next to nothing"
    return [str(scenario.doc.problem(("routing", "value_of_time_cny_per_h"), (
        f"a value of time of {vot:g} CNY/h is implausibly {'small' if vot < low else 'large'} (commuters' values "
        f"of time lie within about {low:g} to {high:g} CNY/h): in route choice {effect}")))]


def coordinate_warnings(scenario) -> list[str]:
    """Stations that lie, in a straight line, more than MAX_COORDINATE_EXCESS_KM further from each
    of their neighbours on the lines than the km posts say (e.g. moved to latitude 0), each against
    its nearest-fitting neighbour; placed at the station's `lat`."""
    net = scenario.network
    pairs = [(x, y, abs(line.km[x] - line.km[y]), line.id) for line in net.lines for branch in line.branches
             for x, y in zip(branch, branch[1:])]
    if not pairs:
        return []
    a, b = np.asarray([p[0] for p in pairs]), np.asarray([p[1] for p in pairs])
    gap = np.asarray([p[2] for p in pairs], dtype=float)
    lat, lon = np.radians([s.lat for s in net.stations]), np.radians([s.lon for s in net.stations])
    h = np.sin((lat[b] - lat[a]) / 2) ** 2 + np.cos(lat[a]) * np.cos(lat[b]) * np.sin((lon[b] - lon[a]) / 2) ** 2
    straight = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    excess = straight - gap
    fitting: dict[int, int] = {}  # station -> its pair with the nearest-fitting neighbour
    for k, (x, y, _, _) in enumerate(pairs):
        for station in (x, y):
            if station not in fitting or excess[k] < excess[fitting[station]]:
                fitting[station] = k
    defined = _station_fields(scenario)
    out = []
    for station, k in fitting.items():
        if excess[k] <= MAX_COORDINATE_EXCESS_KM:
            continue
        st, line = net.stations[station], pairs[k][3]
        other = net.stations[int(b[k] if a[k] == station else a[k])]
        doc, loc = defined.get(st.id, (scenario.doc, ("network",)))
        out.append(str(doc.problem(loc, (
            f"station {st.id} at ({st.lat:g}, {st.lon:g}) lies {straight[k]:,.1f} km in a straight line from "
            f"{other.id}, its nearest neighbour on line {line}, whose km posts are {gap[k]:g} km apart (a track is "
            "never shorter than the straight line); check its lat and lon"))))
    return out


def _station_fields(scenario) -> dict[str, tuple[Document, tuple]]:
    """Station id -> the network file that defines it and the field path of its `lat`."""
    out: dict[str, tuple[Document, tuple]] = {}
    for model, doc in scenario.loaded_network.files if scenario.loaded_network else ():
        for i, st in enumerate(model.stations):
            out.setdefault(st.id, (doc, ("stations", i, "lat")))
    return out
