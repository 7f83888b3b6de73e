"""Bus bridges: buses replacing a closed section of line (scenario `disruptions[].bus_bridge`), added to
the network as a line of their own before it is built, so that route choice, choices on the way, the
departure board and both engines treat them as any other service.

A bridge for closure `<id>` is line `<id>_bus` of operator `bus_bridge` (free), of mode bus (GTFS
route_type 3: its riders' trips `modes` say `bus`, e.g. `bus+metro`), one branch through
the stations it calls at (km posts from the closed line's, counted from the first), a pattern each way
from `first_after_s` after the closure starts to its end, every `headway_s`. Its platforms are its own
boarding queues; riders change to and from it at a station's change walk (the walk out to the street
stop is not modelled apart).
"""

from __future__ import annotations

from .errors import Problem, UserError
from .loading import LoadedNetwork
from .schema import DisruptionSpec, FareSpec, LineSpec, OperatorSpec, PatternSpec, SpeedProfile, TimetableSpec

OPERATOR = "bus_bridge"
BUS_ROUTE_TYPE = 3
"""GTFS route_type of a bus bridge (bus), so that trips `modes` tell its riders from the metro's."""


def bridge_line_id(disruption: DisruptionSpec) -> str:
    return f"{disruption.id}_bus"


def add_bus_bridges(loaded: LoadedNetwork, disruptions: list[DisruptionSpec], file: str = "") -> LoadedNetwork:
    """`loaded` with a line for every disruption's bus bridge (and the bus operator) in its root file;
    UserError naming a bridge whose stations are not on the closed line."""
    bridged = [d for d in disruptions if d.bus_bridge is not None]
    if not bridged:
        return loaded
    lines = {ln.id: ln for model, _ in loaded.files for ln in model.lines}
    new_lines, problems = [], []
    for k, d in enumerate(disruptions):
        if d.bus_bridge is None:
            continue
        line = lines.get(d.line)
        stops = _stops(line, d) if line is not None else None
        if stops is None:
            problems.append(Problem(file, f"disruptions[{k}].bus_bridge.stations",
                                    f"the bus bridge's stations must be stations of line '{d.line}' on one branch, "
                                    f"from one end of the section to the other"))
            continue
        new_lines.append(_line(d, stops))
    if problems:
        raise UserError(problems)
    root, doc = loaded.files[0]
    operators = list(root.operators)
    if not any(o.id == OPERATOR for model, _ in loaded.files for o in model.operators):
        operators.append(OperatorSpec(id=OPERATOR, name="Bus bridge", name_zh="公交短驳",
                                      fare=FareSpec(kind="distance_bands", base_cny=0.0)))
    root = root.model_copy(update={"operators": operators, "lines": [*root.lines, *new_lines]})
    return LoadedNetwork(((root, doc), *loaded.files[1:]))


def _stops(line: LineSpec, d: DisruptionSpec) -> list[tuple[str, float]] | None:
    """The (station, km from the first) the bridge calls at: its `stations`, or every station of the
    closed line's branch from one end of the section to the other; None if not on one branch."""
    assert d.bus_bridge is not None
    a, b = d.between
    for branch in line.branches.values():
        ids = [s for s, _ in branch]
        km = dict(branch)
        if a not in ids or b not in ids:
            continue
        i, j = ids.index(a), ids.index(b)
        path = ids[min(i, j): max(i, j) + 1]
        if i > j:
            path.reverse()
        wanted = d.bus_bridge.stations or path
        if any(s not in km for s in wanted) or len(wanted) < 2:
            return None
        return [(s, abs(km[s] - km[wanted[0]])) for s in wanted]
    return None


def _line(d: DisruptionSpec, stops: list[tuple[str, float]]) -> LineSpec:
    """The bridge as a line: run times shared among its stops by km."""
    bus = d.bus_bridge
    assert bus is not None
    total_km = max(stops[-1][1], 1e-3)
    runs = {f"{a}>{b}": max(1.0, round(bus.run_s * (kb - ka) / total_km)) for (a, ka), (b, kb) in zip(stops, stops[1:])}
    first = d.start + bus.first_after_s
    timetable = TimetableSpec.model_validate({"first": first, "last": d.end - 1.0,
                                              "headways": [{"from": first, "headway_s": bus.headway_s}]})
    pattern = PatternSpec(id="bridge", stops=[stops[0][0], stops[-1][0]],
                          timetable={"forward": timetable, "backward": timetable})
    return LineSpec(id=bridge_line_id(d), operator=OPERATOR, name=f"Bus bridge ({d.id})", name_zh="公交短驳",
                    color="#7f7f7f", route_type=BUS_ROUTE_TYPE, branches={"road": [(s, km) for s, km in stops]},
                    speed_profile=SpeedProfile(max_kmh=30.0, accel_ms2=1.0, decel_ms2=1.0), run_s=runs,
                    dwell_s=bus.dwell_s, capacity=bus.capacity, patterns=[pattern])
