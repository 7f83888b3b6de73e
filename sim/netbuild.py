"""How network files become a `Network` (sim.network): `build_network` cross-checks every reference
and reports all problems at once. It runs the sections below in order, each a function from typed
records to typed records, given what the earlier ones derived; every problem found goes to one list.
Times in seconds, distances in km.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Generic, NamedTuple, TypeVar

from . import schema
from .distributions import Distribution
from .errors import Problem, UserError, unknown
from .fare_tables import compile_table
from .graphs import shortest_path
from .loading import Document, LoadedNetwork
from .network import (
    ENTRY_CONTROL,
    FACILITY,
    WALK,
    Coordination,
    EntryControl,
    Facility,
    FareRule,
    Interchange,
    Line,
    Network,
    Operator,
    PathStep,
    Pattern,
    Platform,
    Station,
    TransferPath,
    profile_run_time_s,
    timetable_departures,
)


class _Origin:
    """Where a network item came from, for error messages."""

    def __init__(self, doc: Document, loc: tuple) -> None:
        self.doc, self.loc = doc, loc

    def problem(self, sub: tuple, message: str) -> Problem:
        """A problem at field path `sub` inside the item."""
        return self.doc.problem(self.loc + sub, message)

    def where(self) -> str:
        """'file:line' where the item was written."""
        src = self.doc.source(self.loc)
        return f"{src.file}:{src.line}"


def build_network(loaded: LoadedNetwork) -> Network:
    """Cross-check and assemble the network; UserError listing every problem found."""
    problems: list[Problem] = []
    items = _collect(loaded, problems)
    operators = _operators(items.operators, items.media, problems)
    stations = _stations(items.stations, operators, problems)
    lines = _lines(items.lines, operators.index, stations.index, problems)
    links = _track_links(items.track_links, stations.index, operators.index, lines.tracks, problems)
    layout = _Layout(stations.stations, stations.index, tuple(ln for ln, _ in items.lines), lines, links)
    patterns = _patterns(items.lines, layout, problems)
    operators = _fare_tables(items.operators, operators, stations.stations, lines.lines, patterns.platforms, problems)
    if not problems:
        problems += _through_headway_problems(patterns, lines.lines, stations.stations)
    transfers = _interchanges(items.interchanges, items.media, stations, problems)
    rules = _fare_rules(items.fare_integration, items.media, operators, problems)
    coordination = _coordination(items.coordination, items.media, patterns.patterns, stations.index,
                                 transfers.paths, problems)
    if not problems:
        problems += _facility_cycle_problems(stations, transfers.paths, loaded.files[0][1])
    if problems:
        raise UserError(problems)
    return Network(
        name=items.name, media=items.media, operators=operators.operators, stations=stations.stations,
        facilities=stations.facilities, lines=lines.lines, patterns=patterns.patterns,
        platforms=patterns.platforms, transfers={k: tuple(v) for k, v in transfers.paths.items()},
        station_index=stations.index, line_index=lines.index, operator_index=operators.index,
        facility_index=stations.facility_index, interchanges=transfers.interchanges, fare_rules=rules,
        coordination=coordination, track_links=frozenset(links),
    )


# -- the items of the network files ------------------------------------------------------------------

_Spec = TypeVar("_Spec")


class _Item(NamedTuple, Generic[_Spec]):
    """A network item as written, and where."""

    spec: _Spec
    origin: _Origin


_ITEM_FIELDS = ("operators", "stations", "lines", "interchanges", "fare_integration", "coordination", "track_links")
"""The fields of a network file holding items with ids, in the order they are collected."""


@dataclass(frozen=True)
class _Items:
    """The network's name (its root file's), its payment media and its items (fields as in
    _ITEM_FIELDS), in file order; an id defined again is left out."""

    name: str
    media: dict[str, schema.MediumSpec]
    operators: list[_Item[schema.OperatorSpec]]
    stations: list[_Item[schema.StationSpec]]
    lines: list[_Item[schema.LineSpec]]
    interchanges: list[_Item[schema.InterchangeSpec]]
    fare_integration: list[_Item[schema.FareRule]]
    coordination: list[_Item[schema.CoordinationRule]]
    track_links: list[_Item[schema.TrackLinkSpec]]


def _collect(loaded: LoadedNetwork, problems: list[Problem]) -> _Items:
    """The media and items of every network file, root first; adds a problem for each id defined
    twice and for a network without media."""
    first_seen: dict[tuple[str, str], _Origin] = {}
    name = ""
    media: dict[str, schema.MediumSpec] = {}
    items: dict[str, list[_Item[Any]]] = {k: [] for k in _ITEM_FIELDS}
    for model, doc in loaded.files:
        name = name or (model.name or doc.path.stem)
        for mid, spec in model.media.items():
            if _first_definition("medium", mid, _Origin(doc, ("media", mid)), first_seen, problems):
                media[mid] = spec
        for field_name, sink in items.items():
            for i, item in enumerate(getattr(model, field_name)):
                o = _Origin(doc, (field_name, i))
                if _first_definition(field_name, item.id, o, first_seen, problems):
                    sink.append(_Item(item, o))
    if not media:
        problems.append(Problem(str(loaded.files[0][1].path), "media", "the network defines no payment media"))
    return _Items(name, media, **items)


def _first_definition(kind: str, ident: str, origin: _Origin, first_seen: dict[tuple[str, str], _Origin],
                      problems: list[Problem]) -> bool:
    """Whether `ident` is the first of its kind (recorded in `first_seen`); a problem if not."""
    key = (kind, ident)
    if key in first_seen:
        problems.append(origin.problem(("id",), f"duplicate {kind.rstrip('s')} id '{ident}' "
                                                f"(first defined at {first_seen[key].where()})"))
        return False
    first_seen[key] = origin
    return True


def _media_problems(ids: Iterable[str], media: dict[str, schema.MediumSpec], o: _Origin, sub: tuple) -> list[Problem]:
    """A problem at field path `sub` for each of `ids` that is not a medium of the network."""
    return [o.problem(sub, f"unknown medium '{mid}' (known: {', '.join(sorted(media))})") for mid in ids
            if mid not in media]


# -- operators and stations --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Operators:
    """The operators, their index by id, and each one's defaults for its stations."""

    operators: tuple[Operator, ...]
    index: dict[str, int]
    station_defaults: tuple[schema.StationDefaults, ...]


def _operators(items: list[_Item[schema.OperatorSpec]], media: dict[str, schema.MediumSpec],
               problems: list[Problem]) -> _Operators:
    """The operators in order, their media and fares checked."""
    for op, o in items:
        problems += _operator_problems(op, o, media)
    return _Operators(
        tuple(Operator(i, op.id, op.name, op.fare, frozenset(op.accepts) if op.accepts is not None else None,
                       op.fallback_medium, op.timezone) for i, (op, _) in enumerate(items)),
        {op.id: i for i, (op, _) in enumerate(items)},
        tuple(op.station_defaults for op, _ in items))


def _operator_problems(op: schema.OperatorSpec, o: _Origin, media: dict[str, schema.MediumSpec]) -> list[Problem]:
    """What is wrong with an operator's media and fare."""
    problems = []
    if op.accepts is not None:
        problems += _media_problems(op.accepts, media, o, ("accepts",))
    if op.fallback_medium is not None:
        problems += _media_problems([op.fallback_medium], media, o, ("fallback_medium",))
    elif op.accepts is not None and set(op.accepts) != set(media):
        problems.append(o.problem(("fallback_medium",), "needed when 'accepts' leaves out some media"))
    problems += _media_problems(op.fare.media_factor, media, o, ("fare", "media_factor"))
    _check_fare(op.fare, o, ("fare",), problems)
    return problems


@dataclass(frozen=True)
class _Stations:
    """The stations and their index by id; the facilities of every station (numbered station by
    station) and their index by '<station id>.<name>'."""

    stations: tuple[Station, ...]
    index: dict[str, int]
    facilities: tuple[Facility, ...]
    facility_index: dict[str, int]


def _stations(items: list[_Item[schema.StationSpec]], operators: _Operators, problems: list[Problem]) -> _Stations:
    """The stations in order, each with its facilities and entry and exit paths: its operator's
    defaults with its own settings (the queue of crowd control first on its entry path)."""
    stations: list[Station] = []
    facilities: list[Facility] = []
    for si, (st, o) in enumerate(items):
        op_i = operators.index.get(st.operator)
        if op_i is None:
            problems.append(o.problem(("operator",), unknown("operator", st.operator, operators.index)))
        defaults = schema.StationDefaults() if op_i is None else operators.station_defaults[op_i]
        specs = _facility_specs(st, defaults, o, problems)
        own = [Facility(len(facilities) + k, f"{st.id}.{name}", si, name, spec.kind, spec.servers,
                        Distribution.from_spec(spec.service)) for k, (name, spec) in enumerate(sorted(specs.items()))]
        facilities += own
        names = {f.name: f.index for f in own}
        entry = _local_steps(st.entry if st.entry is not None else defaults.entry, names, st.id, o, ("entry",),
                             problems)
        exit_ = _local_steps(st.exit if st.exit is not None else defaults.exit, names, st.id, o, ("exit",), problems)
        walk = st.transfer_walk_s if st.transfer_walk_s is not None else defaults.transfer_walk_s
        control = _entry_control(st, names, len(facilities), o, problems)
        if control is not None:
            facilities.append(Facility(control.facility, f"{st.id}.{ENTRY_CONTROL}", si, ENTRY_CONTROL, ENTRY_CONTROL,
                                       1, Distribution("deterministic", 0.0)))
            entry = (PathStep(FACILITY, control.facility), *entry)
        closes = st.boarding_closes_s if st.boarding_closes_s is not None else defaults.boarding_closes_s
        stations.append(Station(si, st.id, op_i if op_i is not None else -1, st.name_zh, st.name_en,
                                st.lat, st.lon, entry, exit_, walk, control, closes))
    return _Stations(tuple(stations), {st.id: i for i, (st, _) in enumerate(items)}, tuple(facilities),
                     {f.id: f.index for f in facilities})


def _entry_control(st: schema.StationSpec, names: dict[str, int], index: int, o: _Origin,
                   problems: list[Problem]) -> EntryControl | None:
    """The entry control of a station with crowd control, its facility (a queue outside the
    entrances, no service time) to be numbered `index`; None without crowd control, or when one of
    the station's facilities (`names`: name -> number) takes the queue's name (a problem)."""
    cc = st.crowd_control
    if cc is None:
        return None
    if ENTRY_CONTROL in names:
        problems.append(o.problem(("facilities", ENTRY_CONTROL),
                                  f"'{ENTRY_CONTROL}' is the name of the queue that crowd_control adds"))
        return None
    return EntryControl(index, cc.limit, float(cc.window.start), float(cc.window.end))


def _facility_specs(st: schema.StationSpec, defaults: schema.StationDefaults, o: _Origin,
                    problems: list[Problem]) -> dict[str, schema.FacilitySpec]:
    """The operator's default facilities with the station's overrides and extra facilities."""
    specs = dict(defaults.facilities)
    for fname, over in st.facilities.items():
        base = specs.get(fname)
        if base is None:
            if over.kind is None or over.servers is None or over.service is None:
                problems.append(o.problem(("facilities", fname),
                                          "a facility not in the operator's defaults needs kind, servers and service"))
                continue
            specs[fname] = schema.FacilitySpec(kind=over.kind, servers=over.servers, service=over.service)
        else:
            specs[fname] = schema.FacilitySpec(kind=over.kind or base.kind, servers=over.servers or base.servers,
                                               service=over.service or base.service)
    return specs


# -- lines and track links ---------------------------------------------------------------------------


class _Track(NamedTuple):
    """A line's track: the km post of each of its stations, each station's neighbours along its
    branches, and whether every station of its branches resolved (patterns are built only on
    complete tracks)."""

    km: dict[int, float]
    adjacency: dict[int, list[int]]
    complete: bool


def _fare_tables(items: list[_Item[schema.OperatorSpec]], operators: _Operators, stations: tuple[Station, ...],
                 lines: tuple[Line, ...], platforms: tuple[Platform, ...], problems: list[Problem]) -> _Operators:
    """The operators with their zone and OD tariffs compiled against the stations their lines serve
    (platforms); a problem for each station or zone a tariff lacks or does not know, and for an
    operator charging in another currency than the first."""
    served: dict[int, set[int]] = {}
    for pl in platforms:
        served.setdefault(lines[pl.line].operator, set()).add(pl.station)
    names = [st.id for st in stations]
    index = {st.id: st.index for st in stations}
    first = items[0].spec if items else None
    compiled = list(operators.operators)
    for i, (spec, o) in enumerate(items):
        if first is not None and spec.fare.currency != first.fare.currency:
            problems.append(o.problem(("fare", "currency"), f"'{spec.fare.currency}', but operator '{first.id}' "
                                      f"charges in {first.fare.currency}: every operator of a network charges in one "
                                      "currency"))
        table, found = compile_table(spec.fare, index, served.get(i, set()), names)
        problems.extend(o.problem(("fare",) + sub, message) for sub, message in found)
        if table is not None:
            compiled[i] = replace(compiled[i], table=table)
    return replace(operators, operators=tuple(compiled))


@dataclass(frozen=True)
class _Lines:
    """The lines, their index by id, and the track of each."""

    lines: tuple[Line, ...]
    index: dict[str, int]
    tracks: tuple[_Track, ...]


def _lines(items: list[_Item[schema.LineSpec]], operator_index: dict[str, int], station_index: dict[str, int],
           problems: list[Problem]) -> _Lines:
    """The lines in order with their branches (station indices) and passing tracks."""
    lines, tracks = [], []
    for li, (ln, o) in enumerate(items):
        if ln.operator not in operator_index:
            problems.append(o.problem(("operator",), unknown("operator", ln.operator, operator_index)))
        track, branches = _branches(ln, station_index, o, problems)
        tracks.append(track)
        passing = set()
        for k, sid in enumerate(ln.operations.passing_tracks if ln.operations else ()):
            if station_index.get(sid) not in track.km:
                problems.append(o.problem(("operations", "passing_tracks", k), f"station '{sid}' is not on this line"))
            else:
                passing.add(station_index[sid])
        lines.append(Line(li, ln.id, operator_index.get(ln.operator, -1), ln.name, ln.color, track.km, branches,
                          ln.operations, frozenset(passing), ln.short_name, ln.route_type, ln.reservations))
    return _Lines(tuple(lines), {ln.id: i for i, (ln, _) in enumerate(items)}, tuple(tracks))


def _branches(ln: schema.LineSpec, station_index: dict[str, int], o: _Origin,
              problems: list[Problem]) -> tuple[_Track, tuple[tuple[int, ...], ...]]:
    """A line's track and its branches as station indices."""
    km: dict[int, float] = {}
    adjacency: dict[int, list[int]] = {}
    branches = []
    complete = True
    for bname, seq in ln.branches.items():
        ids: list[int] = []
        for k, (sid, kmv) in enumerate(seq):
            s = station_index.get(sid)
            if s is None or s in ids:
                problems.append(o.problem(("branches", bname, k), unknown("station", sid, station_index) if s is None
                                          else f"station '{sid}' is listed twice on this branch"))
                complete = False
                continue
            if s in km and abs(km[s] - kmv) > 1e-9:
                problems.append(o.problem(("branches", bname, k),
                                          f"station '{sid}' has km {kmv} here but {km[s]} on another branch"))
            km[s] = kmv
            ids.append(s)
        for a, b in zip(ids, ids[1:]):
            adjacency.setdefault(a, []).append(b)
            adjacency.setdefault(b, []).append(a)
        branches.append(tuple(ids))
    return _Track(km, adjacency, complete), tuple(branches)


class _TrackLink(NamedTuple):
    """A link between two lines' tracks: its length (km), its run time (s; None: the running line's
    speed profile over its length), the operator charging its km, and its id."""

    km: float
    run_s: float | None
    operator: int
    id: str


def _track_links(items: list[_Item[schema.TrackLinkSpec]], station_index: dict[str, int],
                 operator_index: dict[str, int], tracks: tuple[_Track, ...],
                 problems: list[Problem]) -> dict[tuple[int, int], _TrackLink]:
    """The links between two lines' tracks by the stations they join (both orders)."""
    links: dict[tuple[int, int], _TrackLink] = {}
    for spec, o in items:
        a, b = (station_index.get(sid) for sid in spec.between)
        for k, (sid, s) in enumerate(zip(spec.between, (a, b))):
            if s is None:
                problems.append(o.problem(("between", k), unknown("station", sid, station_index)))
        op = operator_index.get(spec.operator)
        if op is None:
            problems.append(o.problem(("operator",), unknown("operator", spec.operator, operator_index)))
        if a is None or b is None or op is None:
            continue
        if a == b or any(a in track.km and b in track.km for track in tracks):
            problems.append(o.problem(("between",), "a track link joins stations of two different lines"))
            continue
        links[(a, b)] = links[(b, a)] = _TrackLink(spec.km, spec.run_s, op, spec.id)
    return links


# -- service patterns --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """What patterns are built on: the stations and their index by id, every line as written and
    as built, and the track links by the stations they join."""

    stations: tuple[Station, ...]
    station_index: dict[str, int]
    specs: tuple[schema.LineSpec, ...]
    lines: _Lines
    links: dict[tuple[int, int], _TrackLink]


class _PlatformKey(NamedTuple):
    """Which of a station's platforms a train uses: the line owning it and the direction on that
    line ('up': towards higher km posts, or 'down')."""

    line: int
    direction: str


class _Pass(NamedTuple):
    """A station a pattern passes without stopping: the index of the stop before, the station, the
    time it passes (s after the departure from the first stop) and its platform."""

    after: int
    station: int
    at_s: float
    platform: _PlatformKey


class _Built(NamedTuple):
    """A pattern (its passes not yet set), where it is defined (origin, field path), and the
    stations it passes."""

    pattern: Pattern
    origin: _Origin
    sub: tuple
    passes: list[_Pass]


class _PlatformNumbers:
    """Platforms numbered in the order they are first used."""

    def __init__(self) -> None:
        self.numbers: dict[tuple[int, int, str], int] = {}

    def number(self, station: int, key: _PlatformKey) -> int:
        """The number of the platform (a new one at its first use)."""
        return self.numbers.setdefault((station, key.line, key.direction), len(self.numbers))

    def platforms(self) -> tuple[Platform, ...]:
        """Every platform numbered so far, in number order."""
        return tuple(Platform(i, s, line, d) for (s, line, d), i in self.numbers.items())


@dataclass(frozen=True)
class _Patterns:
    """The service patterns, where each is defined (origin, field path), and the platforms."""

    patterns: tuple[Pattern, ...]
    defined_at: tuple[tuple[_Origin, tuple], ...]
    platforms: tuple[Platform, ...]


def _patterns(items: list[_Item[schema.LineSpec]], layout: _Layout, problems: list[Problem]) -> _Patterns:
    """The patterns of every line whose track is complete (and its run_s and dwell_s_at checked);
    platforms numbered as the patterns stop at them, then those of stations passed."""
    platforms = _PlatformNumbers()
    built: list[_Built] = []
    for li, (ln, o) in enumerate(items):
        track = layout.lines.tracks[li]
        if not track.complete:
            continue
        problems += _line_timing_problems(ln, o, track.km, layout.station_index)
        problems += _reservation_problems(ln, o, items)
        seen: set[str] = set()
        for pi, pat in enumerate(ln.patterns):
            if pat.id in seen:
                problems.append(o.problem(("patterns", pi, "id"), f"duplicate pattern id '{pat.id}' in line '{ln.id}'"))
                continue
            seen.add(pat.id)
            built += _pattern(li, pat, layout, platforms, len(built), o, ("patterns", pi), problems)
    patterns = []
    for b in built:
        passes = tuple((p.after, p.station, platforms.number(p.station, p.platform), p.at_s) for p in b.passes)
        patterns.append(replace(b.pattern, passes=passes) if passes else b.pattern)
    return _Patterns(tuple(patterns), tuple((b.origin, b.sub) for b in built), platforms.platforms())


def _reservation_problems(ln: schema.LineSpec, o: _Origin, items: list[_Item[schema.LineSpec]]) -> list[Problem]:
    """What is wrong with a line's reserved seats: more tickets than a train carries, or trains of
    another line on its platforms (a ticket is for one of its own trains)."""
    problems = []
    res = ln.reservations
    if res is not None:
        for pat in ln.patterns:
            cap = pat.capacity or ln.capacity
            if res.seats + res.standing > cap:
                problems.append(o.problem(("reservations",), f"{res.seats} seats + {res.standing} standing tickets are "
                                                             f"more than pattern '{pat.id}' carries ({cap})"))
    reserved = {x.id for x, _ in items if x.reservations is not None}
    for pi, pat in enumerate(ln.patterns):
        for k, lid in enumerate(pat.runs_onto):
            if res is not None or lid in reserved:
                problems.append(o.problem(("patterns", pi, "runs_onto", k),
                                          "trains cannot run through to or from a line with reserved seats"))
    return problems


def _line_timing_problems(ln: schema.LineSpec, o: _Origin, km: dict[int, float],
                          station_index: dict[str, int]) -> list[Problem]:
    """What is wrong with the keys of a line's run_s and dwell_s_at (`km`: its stations' km posts)."""
    problems = []
    for key in ln.run_s:
        a, sep, b = key.partition(">")
        if not sep or station_index.get(a) not in km or station_index.get(b) not in km:
            problems.append(o.problem(("run_s", key), "expected 'a>b' with two stations of this line"))
    for sid in ln.dwell_s_at:
        if station_index.get(sid) not in km:
            problems.append(o.problem(("dwell_s_at", sid), f"station '{sid}' is not on this line"))
    return problems


class _Way(NamedTuple):
    """A pattern's way along the track: the lines it runs on (its own first), every station along
    it in forward order, and the stations it passes without stopping."""

    lines: list[int]
    stations: list[int]
    skip: set[int]


class _Piece(NamedTuple):
    """A run between two neighbouring stations: the line it is on (-1: a track link), the operator
    charging its km, and its length (km)."""

    line: int
    operator: int
    km: float


class _Run(NamedTuple):
    """A pattern's track in one direction: each station's position (km posts on a single line; km
    from the first station when running onto other lines), the run between each pair of
    neighbours, each station's platform, and the pattern's direction on its own line."""

    position: dict[int, float]
    pieces: dict[tuple[int, int], _Piece]
    platform_of: dict[int, _PlatformKey]
    direction: str


def _pattern(li: int, pat: schema.PatternSpec, layout: _Layout, platforms: _PlatformNumbers, first: int,
             o: _Origin, sub: tuple, problems: list[Problem]) -> list[_Built]:
    """Per direction in the pattern's timetable, a Pattern of line `li` with run times and
    departures, numbered from `first`; none from the first direction with a problem on. A
    through-running pattern (`runs_onto`) may continue over track links onto other lines, calling at
    their platforms."""
    way = _way(li, pat, layout, o, sub, problems)
    if way is None:
        return []
    built: list[_Built] = []
    for direction, tt in pat.timetable.items():
        one = _directed_pattern(li, pat, way, direction, tt, layout, platforms, first + len(built), o, sub, problems)
        if one is None:
            break
        built.append(one)
    return built


def _way(li: int, pat: schema.PatternSpec, layout: _Layout, o: _Origin, sub: tuple,
         problems: list[Problem]) -> _Way | None:
    """The lines a pattern of line `li` runs on and its stations from its stops, skips and
    `runs_onto`; None if they are wrong (a problem) or another line's track is incomplete."""
    tracks = layout.lines.tracks
    used = [li]
    for k, lid in enumerate(pat.runs_onto):
        j = layout.lines.index.get(lid)
        if j is None or j == li:
            problems.append(o.problem(sub + ("runs_onto", k), f"'{lid}' is not another line of the network"))
            return None
        if not tracks[j].complete:
            return None
        used.append(j)
    adjacency: dict[int, list[int]] = {}
    for j in used:
        for a, nb in tracks[j].adjacency.items():
            adjacency.setdefault(a, []).extend(nb)
    on_lines = set().union(*(tracks[j].km for j in used))
    for a, b in layout.links:
        if a in on_lines and b in on_lines:
            adjacency.setdefault(a, []).append(b)
    full = _resolve_stops(pat.stops, layout.station_index, on_lines, adjacency, o, sub, problems)
    if full is None:
        return None
    skip = set()
    for k, sid in enumerate(pat.skip):
        s = layout.station_index.get(sid)
        if s is None or s not in full or s in (full[0], full[-1]):
            problems.append(o.problem(sub + ("skip", k), f"'{sid}' is not an intermediate stop of this pattern"))
        else:
            skip.add(s)
    if len(used) == 1:
        kms = [tracks[li].km[s] for s in full if s not in skip]
        increasing = kms[1] > kms[0]
        if any((b <= a) if increasing else (b >= a) for a, b in zip(kms, kms[1:])):
            problems.append(o.problem(sub + ("stops",),
                                      "km posts along the pattern must strictly increase or decrease"))
            return None
    return _Way(used, full, skip)


def _directed_pattern(li: int, pat: schema.PatternSpec, way: _Way, direction: str, tt: schema.TimetableSpec,
                      layout: _Layout, platforms: _PlatformNumbers, index: int, o: _Origin, sub: tuple,
                      problems: list[Problem]) -> _Built | None:
    """The pattern numbered `index` in `direction` ('forward' along its stops, or 'backward') with
    its timetable `tt`: stop offsets (s) from the line's run times and dwells or the timetable's
    own times, platforms numbered as it stops at them; None after a problem."""
    track = way.stations if direction == "forward" else way.stations[::-1]
    run = _run(track, way.lines, layout, o, sub, problems)
    if run is None:
        return None
    seq = [s for s in track if s not in way.skip]
    hops = _hops(seq, track, run.pieces)
    if tt.times is None:
        arr, dep = _line_offsets(seq, hops, run, li, layout)
    elif len(tt.times) != len(seq):
        problems.append(o.problem(sub + ("timetable", direction, "times"),
                                  f"gives {len(tt.times)} calls; the pattern has {len(seq)} stops"))
        return None
    else:  # the pattern's own timing, not the line's run times and dwells
        arr, dep = [float(a) for a, _ in tt.times], [float(d) for _, d in tt.times]
    plats = tuple(platforms.number(s, run.platform_of[s]) for s in seq)
    passes = _passes(track, way.skip, seq, arr, dep, run)
    departures = timetable_departures(tt)
    entry: tuple[int, ...] = ()
    if tt.early_service is not None:
        departures, entry = _early_service(tt, seq, dep, departures, layout.station_index, o,
                                           sub + ("timetable", direction), problems)
    ln = layout.specs[li]
    through = tuple(tuple((c.line, c.operator, c.km) for c in cover) for cover in hops) if len(way.lines) > 1 else ()
    pattern = Pattern(index, f"{ln.id}.{pat.id}.{direction}", li, run.direction, tuple(seq),
                      tuple(run.position[s] for s in seq), tuple(arr), tuple(dep), pat.capacity or ln.capacity,
                      departures, plats, entry=entry, hops=through)
    return _Built(pattern, o, sub, passes)


def _run(track: list[int], used: list[int], layout: _Layout, o: _Origin, sub: tuple,
         problems: list[Problem]) -> _Run | None:
    """The run of a pattern over the lines `used` (its own first) along `track`, its stations in
    travel order (skipped ones too); None if a station's platform or the pattern's direction on its
    own line cannot be told (a problem)."""
    home = used[0]
    tracks = layout.lines.tracks
    pieces = _pieces(track, used, layout)
    if len(used) == 1:
        position = {s: tracks[home].km[s] for s in track}
    else:
        position, total = {track[0]: 0.0}, 0.0
        for a, b in zip(track, track[1:]):
            total += pieces[(a, b)].km
            position[b] = total
    platform_of = {}
    for i, s in enumerate(track):
        owner = next(j for j in used if s in tracks[j].km)
        around = ([(s, track[i + 1])] if i + 1 < len(track) else []) + ([(track[i - 1], s)] if i else [])
        near = [(a, b) for a, b in around if pieces[(a, b)].line == owner]
        if not near:
            problems.append(o.problem(sub + ("stops",), f"'{layout.stations[s].id}' is reached and left "
                                                        "over track links only"))
            return None
        a, b = near[0]
        platform_of[s] = _PlatformKey(owner, "up" if tracks[owner].km[b] > tracks[owner].km[a] else "down")
    own = next(((a, b) for a, b in zip(track, track[1:]) if pieces[(a, b)].line == home), None)
    if own is None:
        problems.append(o.problem(sub + ("stops",), "the pattern does not run on its own line"))
        return None
    km = tracks[home].km
    return _Run(position, pieces, platform_of, "up" if km[own[1]] > km[own[0]] else "down")


def _pieces(track: list[int], used: list[int], layout: _Layout) -> dict[tuple[int, int], _Piece]:
    """Each run between neighbours along `track`: on the first of the lines `used` joining them, or
    over their track link."""
    pieces = {}
    for a, b in zip(track, track[1:]):
        line = next((j for j in used if b in layout.lines.tracks[j].adjacency.get(a, ())), None)
        if line is None:
            link = layout.links[(a, b)]
            pieces[(a, b)] = _Piece(-1, link.operator, link.km)
        else:
            km = layout.lines.tracks[line].km
            pieces[(a, b)] = _Piece(line, layout.lines.lines[line].operator, abs(km[b] - km[a]))
    return pieces


def _hops(seq: list[int], track: list[int], pieces: dict[tuple[int, int], _Piece]) -> list[list[_Piece]]:
    """Per run between consecutive stops `seq`, the pieces of `track` it covers."""
    out = []
    for a, b in zip(seq, seq[1:]):
        between = track[track.index(a): track.index(b) + 1]
        out.append([pieces[(x, y)] for x, y in zip(between, between[1:])])
    return out


def _line_offsets(seq: list[int], hops: list[list[_Piece]], run: _Run, li: int,
                  layout: _Layout) -> tuple[list[float], list[float]]:
    """Arrival and departure offsets (s after the departure from the first stop) at the stops `seq`
    of a pattern of line `li`: run times over the `hops`, the dwell of the line owning each stop's
    platform (none at the last stop)."""
    arr, dep = [0.0], [0.0]
    for a, b, cover in zip(seq, seq[1:], hops):
        arr.append(dep[-1] + _stop_run(a, b, cover, li, layout))
        owner = layout.specs[run.platform_of[b].line]
        dep.append(arr[-1] + float(round(owner.dwell_s_at.get(layout.stations[b].id, owner.dwell_s))))
    dep[-1] = arr[-1]
    return arr, dep


def _stop_run(a: int, b: int, cover: list[_Piece], home: int, layout: _Layout) -> float:
    """Run time (s) from stop a to the next stop b over the track pieces `cover`: on one line its
    `run_s` for 'a>b' (either way) or its speed profile over the distance; over a track link alone
    the link's `run_s` or the running line's profile; over several lines the running line's
    profile over the whole distance."""
    lines = {c.line for c in cover}
    total = sum(c.km for c in cover)
    if lines == {-1}:
        run_s = layout.links[(a, b)].run_s if len(cover) == 1 else None
        return float(run_s) if run_s is not None else profile_run_time_s(total, layout.specs[home].speed_profile)
    if len(lines) == 1:
        spec = layout.specs[cover[0].line]
        ida, idb = layout.stations[a].id, layout.stations[b].id
        run = spec.run_s.get(f"{ida}>{idb}", spec.run_s.get(f"{idb}>{ida}"))
        return float(run) if run is not None else profile_run_time_s(total, spec.speed_profile)
    return profile_run_time_s(total, layout.specs[home].speed_profile)


def _passes(track: list[int], skip: set[int], seq: list[int], arr: list[float], dep: list[float],
            run: _Run) -> list[_Pass]:
    """The stations of `track` skipped between the stops `seq`, each passed between stops `at` and
    `at + 1` at a time (whole s) set by its distance between them."""
    passes, at = [], 0
    for s in track:
        if s in skip:
            start, end = run.position[seq[at]], run.position[seq[at + 1]]
            share = (run.position[s] - start) / (end - start)
            passes.append(_Pass(at, s, float(round(dep[at] + share * (arr[at + 1] - dep[at]))), run.platform_of[s]))
        elif at + 1 < len(seq) and s == seq[at + 1]:
            at += 1
    return passes


def _early_service(tt: schema.TimetableSpec, seq: list[int], dep: list[float], departures: tuple[float, ...],
                   station_index: dict[str, int], o: _Origin, sub: tuple,
                   problems: list[Problem]) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """The timetable's departures (s) preceded by the trains entering service at depots (see
    schema.EarlyService), and the entry stop of every departure (`dep`: departure offsets in s at
    the stops `seq`)."""
    es = tt.early_service
    # called for a timetable with early_service, which the schema allows only with first and headways
    assert es is not None and tt.first is not None
    at = []
    for k, sid in enumerate(es.depots):
        s = station_index.get(sid)
        if s is None or s not in seq:
            problems.append(o.problem(sub + ("early_service", "depots", k), f"'{sid}' is not a stop of this pattern"))
        else:
            at.append(seq.index(s))
    at.sort()
    headway = next(b.headway_s for b in reversed(tt.headways) if b.start <= tt.first + 1e-9)
    early: list[tuple[float, int]] = []
    t = float(tt.first) - headway
    while at and t + dep[at[-1]] >= es.start:
        entry = next(i for i in at if t + dep[i] >= es.start)
        early.append((float(round(t)), entry))
        t -= headway
    early.reverse()
    return tuple(t for t, _ in early) + departures, tuple(e for _, e in early) + (0,) * len(departures)


def _through_headway_problems(patterns: _Patterns, lines: tuple[Line, ...],
                              stations: tuple[Station, ...]) -> list[Problem]:
    """Through-running patterns must fit the track they run on: at every platform they call at or
    pass, their timetabled trains and the others keep the owner line's minimum headway. A problem
    for each through-running pattern that does not (the first conflict found)."""
    problems = []
    platforms = patterns.platforms
    through = {p.index for p in patterns.patterns if p.hops}
    seen: set[int] = set()
    for plat, rows in sorted(_platform_times(patterns.patterns).items()):
        line = lines[platforms[plat].line]
        ops = line.ops
        if ops is None or ops.min_headway_s <= 0 or not through & {r.pattern for r in rows}:
            continue
        h = ops.min_headway_s
        for at in (0, 1):  # consecutive arrivals, then consecutive departures
            ordered = sorted(rows, key=lambda r: (r[at], r[1 - at]))
            for x, y in zip(ordered, ordered[1:]):
                culprit = next((k for k in (y.pattern, x.pattern) if k in through), None)
                if y[at] - x[at] >= h - 1e-9 or culprit is None or culprit in seen:
                    continue
                seen.add(culprit)
                o, sub = patterns.defined_at[culprit]
                other = patterns.patterns[x.pattern if culprit == y.pattern else y.pattern]
                problems.append(o.problem(sub + ("timetable",), (
                    f"{patterns.patterns[culprit].id} does not fit the track of line {line.id}: at "
                    f"{stations[platforms[plat].station].id} trains of it and of {other.id} "
                    f"{'arrive' if at == 0 else 'leave'} at {_clock(x[at])} and {_clock(y[at])}, "
                    f"{y[at] - x[at]:.0f} s apart, less than {line.id}'s minimum headway of {h:.0f} s "
                    "(operations.min_headway_s)")))
    return problems


class _PlatformTime(NamedTuple):
    """A train at a platform: its arrival and departure (s), and its pattern."""

    arr_s: float
    dep_s: float
    pattern: int


def _platform_times(patterns: tuple[Pattern, ...]) -> dict[int, list[_PlatformTime]]:
    """Every timetabled train at every platform, stopping or passing (arrival = departure)."""
    out: dict[int, list[_PlatformTime]] = {}
    for p in patterns:
        for i, plat in enumerate(p.platforms):
            for t in p.departures:
                out.setdefault(plat, []).append(_PlatformTime(t + p.arr_offset[i], t + p.dep_offset[i], p.index))
        for _, _, plat, at in p.passes:
            for t in p.departures:
                out.setdefault(plat, []).append(_PlatformTime(t + at, t + at, p.index))
    return out


# -- interchanges ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Transfers:
    """The interchanges, and their paths by the stations they lead from and to."""

    interchanges: tuple[Interchange, ...]
    paths: dict[tuple[int, int], list[TransferPath]]


class _DefinedPath(NamedTuple):
    """A path of an interchange, and the field path of what defines it (its own, or the fare line)."""

    path: schema.InterchangePath
    sub: tuple


class _PathSpecs(NamedTuple):
    """An interchange's paths, and the security and seamless media of the policy they were built
    from (None for explicit paths)."""

    paths: list[_DefinedPath]
    security: str | None
    seamless: frozenset[str] | None


def _interchanges(items: list[_Item[schema.InterchangeSpec]], media: dict[str, schema.MediumSpec],
                  stations: _Stations, problems: list[Problem]) -> _Transfers:
    """The interchanges between two different stations, their paths in each direction they are
    walked, facility references resolved."""
    interchanges: list[Interchange] = []
    paths: dict[tuple[int, int], list[TransferPath]] = {}
    for ic, o in items:
        ends = [stations.index.get(s) for s in ic.stations]
        for k, (sid, s) in enumerate(zip(ic.stations, ends)):
            if s is None:
                problems.append(o.problem(("stations", k), unknown("station", sid, stations.index)))
        a, b = ends  # the schema's two stations
        if a is None or b is None:
            continue
        if a == b:
            problems.append(o.problem(("stations",), "an interchange joins two different stations "
                                                     "(same-station transfers use the station's transfer_walk_s)"))
            continue
        specs = _interchange_paths(ic, media, o, problems)
        interchanges.append(Interchange(ic.id, (a, b), specs.security, specs.seamless, ic.bidirectional))
        directions = [(a, b), (b, a)] if ic.bidirectional else [(a, b)]
        for path, sub in specs.paths:
            if path.media is not None:
                problems += _media_problems(path.media, media, o, sub + ("media",))
            for frm, to in directions:
                steps = _path_steps(path, frm, to, stations, o, sub, problems)
                if steps is not None:
                    paths.setdefault((frm, to), []).append(TransferPath(
                        frm, to, path.name, frozenset(path.media) if path.media is not None else None, steps))
    return _Transfers(tuple(interchanges), paths)


def _interchange_paths(ic: schema.InterchangeSpec, media: dict[str, schema.MediumSpec], o: _Origin,
                       problems: list[Problem]) -> _PathSpecs:
    """The interchange's paths: as written, or built from the fare-line layout and the policy
    (seamless media cross without leaving the paid area; the others exit, buy a ticket where they
    need one and re-enter; `rescreen` adds the security check)."""
    if ic.fare_line is None:
        return _PathSpecs([_DefinedPath(p, ("paths", i)) for i, p in enumerate(ic.paths)], None, None)
    fl, policy = ic.fare_line, ic.policy or schema.InterchangePolicy()
    if policy.seamless_media == "all":
        seamless = set(media)
    else:
        problems += _media_problems(policy.seamless_media, media, o, ("policy", "seamless_media"))
        seamless = set(policy.seamless_media) & set(media)
    others = sorted(set(media) - seamless)
    check: list[schema.Step] = [fl.security] if policy.security == "rescreen" else []
    before, after = schema.Walk(walk_s=fl.walk_before_s), schema.Walk(walk_s=fl.walk_after_s)
    out = []
    if seamless:
        out.append(_DefinedPath(schema.InterchangePath(name="seamless", media=sorted(seamless),
                                                       steps=[before, *check, after]), ("fare_line",)))
    if others:
        ticket = [fl.ticket_machines] if fl.ticket_machines else []
        steps: list[schema.Step] = [before, fl.exit_gates, *ticket, *check, fl.entry_gates, after]
        out.append(_DefinedPath(schema.InterchangePath(name="exit_and_reenter", media=others, steps=steps),
                                ("fare_line",)))
    return _PathSpecs(out, policy.security, frozenset(seamless))


def _path_steps(path: schema.InterchangePath, frm: int, to: int, stations: _Stations, o: _Origin, sub: tuple,
                problems: list[Problem]) -> tuple[PathStep, ...] | None:
    """A path's steps from station frm to station to, facility references resolved; None after a
    problem."""
    steps = []
    for k, step in enumerate(path.steps):
        if isinstance(step, schema.Walk):
            steps.append(PathStep(WALK, step.walk_s))
            continue
        where, dot, fname = step.partition(".")
        target = {"from": frm, "to": to}.get(where, stations.index.get(where))
        fid = f"{stations.stations[target].id}.{fname}" if target is not None and dot else None
        if fid not in stations.facility_index:
            at = sub + ("steps", k) if sub[0] == "paths" else sub
            problems.append(o.problem(at, f"unknown facility '{step}' (expected from.<name>, to.<name> or "
                                          "<station_id>.<name>)"))
            return None
        steps.append(PathStep(FACILITY, stations.facility_index[fid]))
    return tuple(steps)


def _facility_cycle_problems(stations: _Stations, transfers: dict[tuple[int, int], list[TransferPath]],
                             root: Document) -> list[Problem]:
    """A problem (placed in the root file) if the stations' entry, exit and transfer paths pass
    facilities in a cycle."""
    sequences = [st.entry for st in stations.stations] + [st.exit for st in stations.stations]
    sequences += [tp.steps for paths in transfers.values() for tp in paths]
    cycle = _facility_cycle(sequences, stations.facilities)
    if not cycle:
        return []
    return [Problem(str(root.path), "interchanges", "station paths pass facilities in a cycle (" + " -> ".join(cycle) +
                    "): a facility used in both directions of a transfer must be split into one facility per "
                    "direction")]


# -- policies ----------------------------------------------------------------------------------------


def _fare_rules(items: list[_Item[schema.FareRule]], media: dict[str, schema.MediumSpec], operators: _Operators,
                problems: list[Problem]) -> tuple[FareRule, ...]:
    """The fare integration rules, each operator in one rule at most."""
    rules = []
    index = operators.index
    covered: dict[int, str] = {}
    for rule, o in items:
        ops = []
        for k, oid in enumerate(rule.operators):
            if oid not in index:
                problems.append(o.problem(("operators", k), unknown("operator", oid, index)))
            elif index[oid] in covered:
                problems.append(o.problem(("operators", k), f"operator '{oid}' is already in fare rule "
                                                            f"'{covered[index[oid]]}'"))
            else:
                ops.append(index[oid])
        tariff = rule.through_fare
        if rule.through_tariff is not None:
            if rule.through_tariff not in index:
                problems.append(o.problem(("through_tariff",), unknown("operator", rule.through_tariff, index)))
            else:
                tariff = operators.operators[index[rule.through_tariff]].fare
        elif tariff is not None:
            _check_fare(tariff, o, ("through_fare",), problems)
            problems += _media_problems(tariff.media_factor, media, o, ("through_fare", "media_factor"))
        if rule.media is not None:
            problems += _media_problems(rule.media, media, o, ("media",))
        covered.update({i: rule.id for i in ops})
        rules.append(FareRule(rule.id, frozenset(ops), rule.policy, tariff, rule.discount_cny, rule.clearing,
                              frozenset(rule.media) if rule.media is not None else None))
    return tuple(rules)


def _coordination(items: list[_Item[schema.CoordinationRule]], media: dict[str, schema.MediumSpec],
                  patterns: tuple[Pattern, ...], station_index: dict[str, int],
                  transfers: dict[tuple[int, int], list[TransferPath]],
                  problems: list[Problem]) -> tuple[Coordination, ...]:
    """The timetable coordination rules with their services (patterns) and stations resolved; each
    service shifted by one rule at most, and an interchange (`transfers`) leading from the feeders'
    station to the receiver's unless they are one."""
    rules = []
    by_id = {p.id: p for p in patterns}
    receivers: dict[int, str] = {}
    for rule, o in items:
        ends = []
        for fld, sid in (("from", rule.from_), ("to", rule.to)):
            if sid not in station_index:
                problems.append(o.problem((fld,), unknown("station", sid, station_index)))
            ends.append(station_index.get(sid))
        feeders = []
        for k, pid in enumerate(rule.feeders):
            p = by_id.get(pid)
            if p is None:
                problems.append(o.problem(("feeders", k), _unknown_service(pid, by_id)))
            elif ends[0] is not None and (ends[0] not in p.stops or p.stops[0] == ends[0]):
                problems.append(o.problem(("feeders", k), f"service '{pid}' does not arrive at '{rule.from_}'"))
            else:
                feeders.append(p.index)
        recv = by_id.get(rule.receiver)
        if recv is None:
            problems.append(o.problem(("receiver",), _unknown_service(rule.receiver, by_id)))
        elif ends[1] is not None and (ends[1] not in recv.stops or recv.stops[-1] == ends[1]):
            problems.append(o.problem(("receiver",), f"service '{rule.receiver}' does not depart from '{rule.to}'"))
        shifted = _shifted_services(rule, o, by_id, feeders, receivers, problems)
        if rule.medium is not None:
            problems += _media_problems([rule.medium], media, o, ("medium",))
        frm, to = ends
        if (frm is None or to is None or recv is None or len(feeders) != len(rule.feeders)
                or len(shifted) != 1 + len(rule.shift_with)):
            continue
        if frm != to and (frm, to) not in transfers:
            problems.append(o.problem(("to",), f"no interchange leads from '{rule.from_}' to '{rule.to}'"))
            continue
        rules.append(Coordination(
            rule.id, rule.mode, tuple(feeders), recv.index, tuple(shifted[1:]), frm, to,
            (rule.window.start, rule.window.end),
            rule.target_slack_s, rule.medium, rule.method,
            tuple(rule.candidates_s) if rule.candidates_s is not None else None, rule.offset_s))
    return tuple(rules)


def _shifted_services(rule: schema.CoordinationRule, o: _Origin, by_id: dict[str, Pattern], feeders: list[int],
                      receivers: dict[int, str], problems: list[Problem]) -> list[int]:
    """The rule's receiver and the services shifted with it (pattern indices; a problem for each that
    is unknown, one of the rule's `feeders`, or already in `receivers`, the services shifted by
    earlier rules, to which the others are added)."""
    shifted = []
    for k, pid in enumerate([rule.receiver, *rule.shift_with]):
        p = by_id.get(pid)
        sub = ("receiver",) if k == 0 else ("shift_with", k - 1)
        if p is None:
            if k:
                problems.append(o.problem(sub, _unknown_service(pid, by_id)))
        elif p.index in feeders:
            problems.append(o.problem(sub, f"service '{pid}' is a feeder of this rule: it cannot be shifted"))
        elif p.index in receivers:
            problems.append(o.problem(sub, f"service '{pid}' is already shifted by coordination rule "
                                           f"'{receivers[p.index]}'"))
        else:
            receivers[p.index] = rule.id
            shifted.append(p.index)
    return shifted


def _clock(t: float) -> str:
    t = int(round(t))
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"


def _unknown_service(pid: str, by_id: dict) -> str:
    known = ", ".join(sorted(by_id)[:8]) + (", ..." if len(by_id) > 8 else "")
    return f"unknown service '{pid}' (expected <line>.<pattern>.<forward|backward>, e.g. {known})"


def _local_steps(steps, names: dict[str, int], station_id: str, o: _Origin, sub: tuple,
                 problems: list[Problem]) -> tuple[PathStep, ...]:
    """A station's entry/exit steps with facility names resolved to that station's facilities."""
    out = []
    for k, step in enumerate(steps):
        if isinstance(step, schema.Walk):
            out.append(PathStep(WALK, step.walk_s))
        elif step in names:
            out.append(PathStep(FACILITY, names[step]))
        else:
            problems.append(o.problem(sub + (k,), f"unknown facility '{step}' at station '{station_id}' "
                                                 f"(known: {', '.join(sorted(names)) or 'none'})"))
    return tuple(out)


def _check_fare(fare: schema.FareSpec, o: _Origin, sub: tuple, problems: list[Problem]) -> None:
    if fare.kind == "distance_bands":
        ups = [b.up_to_km for b in fare.bands]
        if any(u is None for u in ups[:-1]):
            problems.append(o.problem(sub + ("bands",), "only the last band may omit up_to_km"))
        finite = [u for u in ups if u is not None]
        if finite and (finite != sorted(finite) or finite[0] <= fare.base_km):
            problems.append(o.problem(sub + ("bands",), "band limits must increase and exceed base_km"))


def _resolve_stops(waypoints, station_index, km, adjacency, o: _Origin, sub, problems) -> list[int] | None:
    """Every station along the pattern from its waypoints (first, vias, last), or None after
    adding a problem."""
    ids = []
    for k, sid in enumerate(waypoints):
        s = station_index.get(sid)
        if s is None or s not in km or s in ids:
            problems.append(o.problem(sub + ("stops", k), f"'{sid}' is not a station of this line's branches"
                                      if s is None or s not in km else f"'{sid}' is listed twice"))
            return None
        ids.append(s)
    full = [ids[0]]
    for a, b in zip(ids, ids[1:]):
        path = shortest_path(adjacency, a, b)
        if path is None:
            problems.append(o.problem(sub + ("stops",), "no track between consecutive stops along the line's branches"))
            return None
        full.extend(path[1:])
    if len(set(full)) != len(full):
        problems.append(o.problem(sub + ("stops",), "the pattern visits a station twice"))
        return None
    return full



def _facility_cycle(sequences, facilities: tuple[Facility, ...]) -> list[str]:
    """Facility ids along a cycle of the 'passed right after' graph (ticket machines may be
    skipped), or [] if there is none."""
    succ: dict[int, set[int]] = {}
    for seq in sequences:
        facs = [int(st.value) for st in seq if st.kind == FACILITY]
        for i, a in enumerate(facs):
            for b in facs[i + 1:]:
                succ.setdefault(a, set()).add(b)
                if facilities[b].kind != "ticket_machine":
                    break
    color: dict[int, int] = {}
    stack_path: list[int] = []

    def visit(u: int) -> list[int]:
        color[u] = 1
        stack_path.append(u)
        for v in sorted(succ.get(u, ())):
            if color.get(v) == 1:
                return stack_path[stack_path.index(v):] + [v]
            if v not in color:
                found = visit(v)
                if found:
                    return found
        stack_path.pop()
        color[u] = 2
        return []

    for u in sorted(succ):
        if u not in color:
            found = visit(u)
            if found:
                return [facilities[f].id for f in found]
    return []
