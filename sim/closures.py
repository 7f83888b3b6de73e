"""Closures of line sections as a scenario states them (`disruptions`), resolved against the
network: which line, which track path, when. What they do to trains and commuters is
sim.disruptions' business (the run); this module only checks and resolves them, so that loading a
scenario needs nothing of route choice or the timetable."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .errors import UserError, unknown
from .graphs import shortest_path
from .loading import Document
from .network import Network
from .schema import DisruptionSpec


@dataclass(frozen=True)
class Closure:
    id: str
    line: str
    stations: tuple[int, ...]
    """The track path from one end of the section to the other."""
    start: float
    end: float
    announced: float = 0.0
    """When it becomes known (s): from `start` to `end`."""
    expected_end: float | None = None
    """The end announced with it (s; None: `end`)."""

    @property
    def believed(self) -> Closure:
        """The closure as commuters believe it from its announcement: lasting until its expected end."""
        return self if self.expected_end is None else replace(self, end=self.expected_end)

    @property
    def believed_span(self) -> tuple[float, float]:
        """When commuters plan on the believed closure (s): from its announcement to its expected end,
        or its true end if sooner."""
        return self.announced, min(self.end, self.believed.end)

    @property
    def extended(self) -> bool:
        """Whether the line is still closed when it was expected to reopen (the true end is then announced)."""
        return self.expected_end is not None and self.expected_end < self.end

    @property
    def edges(self) -> frozenset[tuple[int, int]]:
        return frozenset((a, b) for x, y in zip(self.stations, self.stations[1:]) for a, b in ((x, y), (y, x)))



def resolve(network: Network, specs: list[DisruptionSpec], doc: Document) -> tuple[Closure, ...]:
    """The closures of a scenario's `disruptions`; UserError naming the field of each mistake (an id
    given twice names both places: closures are reported by id)."""
    problems, out = [], []
    first: dict[str, int] = {}
    for i, spec in enumerate(specs):
        if spec.id in first:
            src = doc.source(("disruptions", first[spec.id]))
            problems.append(doc.problem(("disruptions", i, "id"), f"duplicate disruption id '{spec.id}' (first "
                                                                  f"defined at {src.file}:{src.line})"))
            continue
        first[spec.id] = i
        li = network.line_index.get(spec.line)
        if li is None:
            problems.append(doc.problem(("disruptions", i, "line"), unknown("line", spec.line, network.line_index)))
            continue
        line = network.lines[li]
        ends = [network.station_index.get(sid) for sid in spec.between]
        wrong = [k for k, s in enumerate(ends) if s is None or s not in line.km]
        for k in wrong:
            problems.append(doc.problem(("disruptions", i, "between", k),
                                        unknown(f"station of line {spec.line}", spec.between[k],
                                                (network.stations[s].id for s in line.km))))
        if wrong:
            continue
        neighbours: dict[int, set[int]] = {}
        for branch in line.branches:
            for x, y in zip(branch, branch[1:]):
                neighbours.setdefault(x, set()).add(y)
                neighbours.setdefault(y, set()).add(x)
        adjacency = {s: sorted(nb) for s, nb in neighbours.items()}
        a, b = ends[0], ends[1]
        assert a is not None and b is not None  # an unknown station is in `wrong`
        out.append(Closure(spec.id, spec.line, tuple(shortest_path(adjacency, a, b) or ()), spec.start, spec.end,
                           spec.start if spec.announced is None else spec.announced,
                           spec.expected_end))
    if problems:
        raise UserError(problems)
    return tuple(out)
