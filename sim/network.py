"""The network as immutable data: stations, facilities, lines, service patterns, platforms, transfers.

Built from validated network files by `build_network`, which cross-checks every reference and
reports all problems at once. Times in seconds, distances in km.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from . import schema
from .distributions import Distribution
from .errors import Problem, UserError, unknown
from .fare_tables import FareTable, compile_table
from .graphs import shortest_path
from .loading import Document, LoadedNetwork

WALK = 0
FACILITY = 1


@dataclass(frozen=True)
class PathStep:
    """A step through a station: a walk of `value` seconds (kind WALK) or a facility (kind FACILITY,
    `value` its index)."""

    kind: int
    value: float


@dataclass(frozen=True)
class Facility:
    index: int
    id: str
    station: int
    name: str
    kind: str
    servers: int
    service: Distribution


@dataclass(frozen=True)
class Operator:
    index: int
    id: str
    name: str
    fare: schema.FareSpec
    accepts: frozenset[str] | None
    fallback_medium: str | None
    timezone: str = schema.DEFAULT_TIMEZONE
    table: FareTable | None = None
    """The compiled zone or OD tariff (fare kinds zones and od_table)."""


ENTRY_CONTROL = "entry_control"
"""Name and kind of the facility a station with crowd control gets at the front of its entry path:
the queue outside its entrances."""


@dataclass(frozen=True)
class EntryControl:
    """Inflow control at a station's entrances (see schema.CrowdControlSpec): its facility, the
    holding limit of the station's platforms (persons) and the window (s) when it applies."""

    facility: int
    limit: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Station:
    index: int
    id: str
    operator: int
    name_zh: str
    name_en: str
    lat: float
    lon: float
    entry: tuple[PathStep, ...]
    exit: tuple[PathStep, ...]
    transfer_walk_s: float
    entry_control: EntryControl | None = None


@dataclass(frozen=True)
class Pattern:
    """A service pattern in one direction. Offsets are seconds after departure from the first stop."""

    index: int
    id: str
    line: int
    direction: str
    stops: tuple[int, ...]
    km: tuple[float, ...]
    arr_offset: tuple[float, ...]
    dep_offset: tuple[float, ...]
    capacity: int
    departures: tuple[float, ...]
    platforms: tuple[int, ...]
    passes: tuple[tuple[int, int, int, float], ...] = ()
    """Stations passed without stopping (express): (index of the stop before, station, platform,
    offset in s at which the train passes, by distance within the non-stop run)."""
    entry: tuple[int, ...] = ()
    """Per departure: the stop at which the train enters service (0: its first stop; more for
    trains starting at a depot along the line). Empty: every train starts at the first stop."""
    hops: tuple[tuple[tuple[int, int, float], ...], ...] = ()
    """Through-running patterns only (empty otherwise): per run between consecutive stops, the
    track it covers as (line, or -1 for a track link; operator charging the km; km) pieces."""

    def entry_of(self) -> np.ndarray:
        """Entry stop of every departure (int array, zeros when none is given)."""
        return np.asarray(self.entry, dtype=np.int64) if self.entry else np.zeros(len(self.departures), dtype=np.int64)


@dataclass(frozen=True)
class Line:
    index: int
    id: str
    operator: int
    name: str
    color: str
    km: dict[int, float]
    """Km post of each station on the line."""
    branches: tuple[tuple[int, ...], ...]
    ops: schema.LineOperations | None = None
    passing: frozenset[int] = frozenset()
    """Stations with a passing track."""
    short_name: str | None = None
    """The name riders know it by (None: its id)."""
    route_type: int = 1
    """Its mode as GTFS route_type."""


@dataclass(frozen=True)
class Platform:
    index: int
    station: int
    line: int
    direction: str


@dataclass(frozen=True)
class TransferPath:
    """One way to walk from `from_station` to `to_station` (media None: open to every medium)."""

    from_station: int
    to_station: int
    name: str
    media: frozenset[str] | None
    steps: tuple[PathStep, ...]


@dataclass(frozen=True)
class Interchange:
    """An interchange between two stations, and the policy its paths were built from (None for
    explicit paths)."""

    id: str
    stations: tuple[int, int]
    security: str | None
    seamless_media: frozenset[str] | None


@dataclass(frozen=True)
class FareRule:
    """Fare integration between a set of operators (see schema.FareRule); `tariff` is the fare
    charged over the whole run of sections under policy `through`."""

    id: str
    operators: frozenset[int]
    policy: str
    tariff: schema.FareSpec | None
    discount_cny: float
    clearing: str
    media: frozenset[str] | None


@dataclass(frozen=True)
class Coordination:
    """A timetable coordination rule with its services and stations resolved (see
    schema.CoordinationRule)."""

    id: str
    mode: str
    feeders: tuple[int, ...]
    """Pattern indices of the feeder services."""
    receiver: int
    """Pattern index of the service whose departures are timed to the feeders."""
    shift_with: tuple[int, ...]
    """Pattern indices of the services shifted by the same offset."""
    from_station: int
    to_station: int
    window: tuple[float, float]
    target_slack_s: float
    medium: str | None
    method: str = "planned_wait"
    candidates_s: tuple[float, ...] | None = None
    offset_s: float | None = None
    """A fixed offset (s): set by hand, or by the simulation search for each of its candidates."""


@dataclass(frozen=True)
class CoordinationResult:
    """What coordination chose: the receiver's offset (s, added to every departure) and the mean
    planned wait (s) of passengers from the feeder arrivals in the window, from reaching its
    platform to its first departure at least the target slack later, without the shift and with it."""

    id: str
    receiver: str
    mode: str
    offset_s: float
    transfer_time_s: float
    feeder_arrivals: int
    mean_wait_independent_s: float
    mean_wait_s: float
    method: str = "planned_wait"
    """How the offset was chosen: `planned_wait`, `fixed` (given), or `simulation` (sim.offsets)."""


@dataclass(frozen=True)
class Network:
    name: str
    media: dict[str, schema.MediumSpec]
    operators: tuple[Operator, ...]
    stations: tuple[Station, ...]
    facilities: tuple[Facility, ...]
    lines: tuple[Line, ...]
    patterns: tuple[Pattern, ...]
    platforms: tuple[Platform, ...]
    transfers: dict[tuple[int, int], tuple[TransferPath, ...]]
    """Paths between two different stations (same-station transfers walk `transfer_walk_s`)."""
    station_index: dict[str, int] = field(repr=False)
    line_index: dict[str, int] = field(repr=False)
    operator_index: dict[str, int] = field(repr=False)
    facility_index: dict[str, int] = field(repr=False)
    interchanges: tuple[Interchange, ...] = ()
    fare_rules: tuple[FareRule, ...] = ()
    coordination: tuple[Coordination, ...] = ()
    coordination_results: tuple[CoordinationResult, ...] = ()
    """Filled in when the coordination rules are applied (policies.apply_coordination)."""
    track_links: frozenset[tuple[int, int]] = frozenset()
    """Station pairs joined by a track link between two lines (both orders)."""

    @property
    def currency(self) -> str:
        """The currency every operator charges in (ISO 4217)."""
        return self.operators[0].fare.currency if self.operators else "CNY"

    def track_adjacency(self) -> dict[int, list[int]]:
        """Neighbouring stations (in index order) along every line's track and every track link."""
        out: dict[int, set[int]] = {}
        for line in self.lines:
            for branch in line.branches:
                for a, b in zip(branch, branch[1:]):
                    out.setdefault(a, set()).add(b)
                    out.setdefault(b, set()).add(a)
        for a, b in self.track_links:
            out.setdefault(a, set()).add(b)
        return {s: sorted(nb) for s, nb in out.items()}

    def station_km_matrix(self) -> np.ndarray:
        """Straight-line km between every pair of stations."""
        lat = np.radians([s.lat for s in self.stations])
        lon = np.radians([s.lon for s in self.stations])
        dlat = lat[:, None] - lat[None, :]
        dlon = lon[:, None] - lon[None, :]
        a = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
        return 2 * 6371.0088 * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def path_walk_s(steps: tuple[PathStep, ...], network: Network, needs_ticket: bool) -> float:
    """Walking plus mean service time (s) along station steps; ticket machines only if needed."""
    total = 0.0
    for st in steps:
        if st.kind == FACILITY:
            fac = network.facilities[int(st.value)]
            if fac.kind == "ticket_machine" and not needs_ticket:
                continue
            total += fac.service.mean
        else:
            total += st.value
    return total


# ---------------------------------------------------------------------------------------------------
# Run times


def profile_run_time_s(km: float, profile: schema.SpeedProfile) -> float:
    """Seconds to run `km` from stop to stop: accelerate, cruise at max speed (if reached), brake,
    times (1 + margin), rounded to whole seconds (at least 1)."""
    d = km * 1000.0
    v = profile.max_kmh / 3.6
    a, b = profile.accel_ms2, profile.decel_ms2
    reach = v * v / (2 * a) + v * v / (2 * b)
    if d >= reach:
        t = d / v + v / (2 * a) + v / (2 * b)
    else:
        vp = math.sqrt(2 * d * a * b / (a + b))
        t = vp / a + vp / b
    return float(max(1, round(t * (1 + profile.margin))))


def timetable_departures(spec: schema.TimetableSpec) -> tuple[float, ...]:
    """Departure times (whole s) from the first stop: explicit, or stepping by the headway of the
    band in which the previous departure lies, from `first` up to and including `last`."""
    if spec.departures:
        return tuple(sorted(float(round(t)) for t in spec.departures))
    assert spec.first is not None and spec.last is not None  # the schema requires both without departures
    out = []
    t = float(spec.first)
    bands = [(b.start, b.headway_s) for b in spec.headways]
    while t <= spec.last + 1e-9:
        out.append(float(round(t)))
        h = next(hd for start, hd in reversed(bands) if start <= t + 1e-9)
        t += h
    return tuple(out)


# ---------------------------------------------------------------------------------------------------
# Building


class _Origin:
    """Where a network item came from, for error messages."""

    def __init__(self, doc: Document, loc: tuple) -> None:
        self.doc, self.loc = doc, loc

    def problem(self, sub: tuple, message: str) -> Problem:
        return self.doc.problem(self.loc + sub, message)

    def where(self) -> str:
        src = self.doc.source(self.loc)
        return f"{src.file}:{src.line}"


def build_network(loaded: LoadedNetwork) -> Network:
    """Cross-check and assemble the network; UserError listing every problem found."""
    b = _Builder(loaded)
    b.operators()
    b.stations()
    b.lines()
    b.fare_tables()
    b.interchanges()
    b.fare_rules()
    b.coordination()
    if not b.problems:
        b.check_facility_cycles()
    if b.problems:
        raise UserError(b.problems)
    return Network(
        name=b.name, media=b.media, operators=tuple(b.operator_list), stations=tuple(b.station_list),
        facilities=tuple(b.facilities), lines=tuple(b.line_list), patterns=tuple(b.patterns),
        platforms=tuple(b.platforms), transfers={k: tuple(v) for k, v in b.transfers.items()},
        station_index=b.station_index, line_index=b.line_index, operator_index=b.operator_index,
        facility_index=b.facility_index, interchanges=tuple(b.interchange_list), fare_rules=tuple(b.rules),
        coordination=tuple(b.coordination_list), track_links=frozenset(b.links),
    )


class _Builder:
    """The sections of build_network; each adds to the network under construction and to the
    problem list."""

    def __init__(self, loaded: LoadedNetwork) -> None:
        self.loaded = loaded
        self.problems: list[Problem] = []
        self.media: dict[str, schema.MediumSpec] = {}
        self.items: dict[str, list[tuple]] = {k: [] for k in ("operators", "stations", "lines", "interchanges",
                                                                "fare_integration", "coordination", "track_links")}
        first_seen: dict[tuple[str, str], _Origin] = {}
        self.name = ""
        for model, doc in loaded.files:
            self.name = self.name or (model.name or doc.path.stem)
            for mid, spec in model.media.items():
                if self._unique("medium", mid, _Origin(doc, ("media", mid)), first_seen):
                    self.media[mid] = spec
            for field_name, sink in self.items.items():
                for i, item in enumerate(getattr(model, field_name)):
                    o = _Origin(doc, (field_name, i))
                    if self._unique(field_name, item.id, o, first_seen):
                        sink.append((item, o))
        if not self.media:
            self.problems.append(Problem(str(loaded.files[0][1].path), "media", "the network defines no payment media"))

    def _unique(self, kind: str, ident: str, origin: _Origin, first_seen: dict) -> bool:
        key = (kind, ident)
        if key in first_seen:
            self.problems.append(origin.problem(("id",), f"duplicate {kind.rstrip('s')} id '{ident}' "
                                                         f"(first defined at {first_seen[key].where()})"))
            return False
        first_seen[key] = origin
        return True

    def check_media(self, ids, origin: _Origin, sub: tuple) -> None:
        for mid in ids:
            if mid not in self.media:
                self.problems.append(origin.problem(sub, f"unknown medium '{mid}' (known: {', '.join(sorted(self.media))})"))

    # -- operators and stations -------------------------------------------------------------------

    def operators(self) -> None:
        ops = self.items["operators"]
        self.operator_index = {op.id: i for i, (op, _) in enumerate(ops)}
        self.operator_list = []
        for i, (op, o) in enumerate(ops):
            if op.accepts is not None:
                self.check_media(op.accepts, o, ("accepts",))
            if op.fallback_medium is not None:
                self.check_media([op.fallback_medium], o, ("fallback_medium",))
            elif op.accepts is not None and set(op.accepts) != set(self.media):
                self.problems.append(o.problem(("fallback_medium",), "needed when 'accepts' leaves out some media"))
            self.check_media(op.fare.media_factor, o, ("fare", "media_factor"))
            _check_fare(op.fare, o, ("fare",), self.problems)
            self.operator_list.append(Operator(i, op.id, op.name, op.fare,
                                               frozenset(op.accepts) if op.accepts is not None else None,
                                               op.fallback_medium, op.timezone))

    def fare_tables(self) -> None:
        """Compile the zone and OD tariffs against the stations each operator's lines serve; every
        operator charges in one currency."""
        served: dict[int, set[int]] = {}
        for pl in self.platforms:
            served.setdefault(self.line_list[pl.line].operator, set()).add(pl.station)
        names = [st.id for st in self.station_list]
        first = self.items["operators"][0][0] if self.items["operators"] else None
        for i, (spec, o) in enumerate(self.items["operators"]):
            if first is not None and spec.fare.currency != first.fare.currency:
                self.problems.append(o.problem(("fare", "currency"), f"'{spec.fare.currency}', but operator "
                                               f"'{first.id}' charges in {first.fare.currency}: every operator "
                                               "of a network charges in one currency"))
            table, problems = compile_table(spec.fare, self.station_index, served.get(i, set()), names)
            self.problems.extend(o.problem(("fare",) + sub, message) for sub, message in problems)
            if table is not None:
                self.operator_list[i] = replace(self.operator_list[i], table=table)

    def stations(self) -> None:
        stations = self.items["stations"]
        self.station_specs = [st for st, _ in stations]
        self.station_index = {st.id: i for i, (st, _) in enumerate(stations)}
        self.facilities: list[Facility] = []
        self.facility_index: dict[str, int] = {}
        self.station_list: list[Station] = []
        for si, (st, o) in enumerate(stations):
            op_i = self.operator_index.get(st.operator)
            if op_i is None:
                self.problems.append(o.problem(("operator",), unknown("operator", st.operator, self.operator_index)))
                defaults = schema.StationDefaults()
            else:
                defaults = self.items["operators"][op_i][0].station_defaults
            names: dict[str, int] = {}
            specs = self._facility_specs(st, defaults, o)
            for fname in sorted(specs):
                spec = specs[fname]
                fid = f"{st.id}.{fname}"
                idx = len(self.facilities)
                self.facilities.append(Facility(idx, fid, si, fname, spec.kind, spec.servers,
                                                Distribution.from_spec(spec.service)))
                self.facility_index[fid] = idx
                names[fname] = idx
            entry = _local_steps(st.entry if st.entry is not None else defaults.entry, names, st.id, o, ("entry",),
                                 self.problems)
            exit_ = _local_steps(st.exit if st.exit is not None else defaults.exit, names, st.id, o, ("exit",),
                                 self.problems)
            walk = st.transfer_walk_s if st.transfer_walk_s is not None else defaults.transfer_walk_s
            control = self._entry_control(st, si, names, o)
            if control is not None:
                entry = (PathStep(FACILITY, control.facility), *entry)
            self.station_list.append(Station(si, st.id, op_i if op_i is not None else -1, st.name_zh, st.name_en,
                                             st.lat, st.lon, entry, exit_, walk, control))

    def _entry_control(self, st: schema.StationSpec, si: int, names: dict[str, int], o: _Origin) -> EntryControl | None:
        """The facility (a queue outside the entrances, no service time) of a station with crowd control."""
        cc = st.crowd_control
        if cc is None:
            return None
        if ENTRY_CONTROL in names:
            self.problems.append(o.problem(("facilities", ENTRY_CONTROL),
                                           f"'{ENTRY_CONTROL}' is the name of the queue that crowd_control adds"))
            return None
        fid = f"{st.id}.{ENTRY_CONTROL}"
        idx = len(self.facilities)
        self.facilities.append(Facility(idx, fid, si, ENTRY_CONTROL, ENTRY_CONTROL, 1, Distribution("deterministic", 0.0)))
        self.facility_index[fid] = idx
        return EntryControl(idx, cc.limit, float(cc.window.start), float(cc.window.end))

    def _facility_specs(self, st: schema.StationSpec, defaults: schema.StationDefaults,
                        o: _Origin) -> dict[str, schema.FacilitySpec]:
        """The operator's default facilities with the station's overrides and extra facilities."""
        specs = dict(defaults.facilities)
        for fname, over in st.facilities.items():
            base = specs.get(fname)
            if base is None:
                if over.kind is None or over.servers is None or over.service is None:
                    self.problems.append(o.problem(("facilities", fname),
                                                   "a facility not in the operator's defaults needs kind, servers and service"))
                    continue
                specs[fname] = schema.FacilitySpec(kind=over.kind, servers=over.servers, service=over.service)
            else:
                specs[fname] = schema.FacilitySpec(kind=over.kind or base.kind, servers=over.servers or base.servers,
                                                   service=over.service or base.service)
        return specs

    # -- lines and patterns -----------------------------------------------------------------------

    def lines(self) -> None:
        lines = self.items["lines"]
        self.line_index = {ln.id: i for i, (ln, _) in enumerate(lines)}
        self.line_list: list[Line] = []
        self.patterns: list[Pattern] = []
        self.pattern_origin: list[tuple[_Origin, tuple]] = []
        self.pending_passes: list[list[tuple]] = []
        self.platform_index: dict[tuple[int, int, str], int] = {}
        self.platforms: list[Platform] = []
        self.tracks: list[tuple[dict[int, float], dict[int, list[int]], bool]] = []
        for li, (ln, o) in enumerate(lines):
            if ln.operator not in self.operator_index:
                self.problems.append(o.problem(("operator",), unknown("operator", ln.operator, self.operator_index)))
            km, adjacency, branch_list, ok = self._branches(ln, o)
            self.tracks.append((km, adjacency, ok))
            passing = set()
            for k, sid in enumerate(ln.operations.passing_tracks if ln.operations else ()):
                if self.station_index.get(sid) not in km:
                    self.problems.append(o.problem(("operations", "passing_tracks", k), f"station '{sid}' is not on this line"))
                else:
                    passing.add(self.station_index[sid])
            self.line_list.append(Line(li, ln.id, self.operator_index.get(ln.operator, -1), ln.name, ln.color, km,
                                       tuple(branch_list), ln.operations, frozenset(passing), ln.short_name,
                                       ln.route_type))
        self.track_links()
        for li, (ln, o) in enumerate(lines):
            km, _, ok = self.tracks[li]
            if not ok:
                continue
            for key in ln.run_s:
                a, sep, b = key.partition(">")
                if not sep or self.station_index.get(a) not in km or self.station_index.get(b) not in km:
                    self.problems.append(o.problem(("run_s", key), "expected 'a>b' with two stations of this line"))
            for sid in ln.dwell_s_at:
                if self.station_index.get(sid) not in km:
                    self.problems.append(o.problem(("dwell_s_at", sid), f"station '{sid}' is not on this line"))
            seen_patterns: set[str] = set()
            for pi, pat in enumerate(ln.patterns):
                if pat.id in seen_patterns:
                    self.problems.append(o.problem(("patterns", pi, "id"), f"duplicate pattern id '{pat.id}' in line '{ln.id}'"))
                    continue
                seen_patterns.add(pat.id)
                self._pattern(li, pat, o, ("patterns", pi))
        self._resolve_passes()
        if not self.problems:
            self._check_through_headways()

    def _check_through_headways(self) -> None:
        """Through-running patterns must fit the track they run on: at every platform they call at
        or pass, their timetabled trains and the others keep the owner line's minimum headway."""
        calls: dict[int, list[tuple[float, float, int]]] = {}
        for p in self.patterns:
            for i, plat in enumerate(p.platforms):
                for t in p.departures:
                    calls.setdefault(plat, []).append((t + p.arr_offset[i], t + p.dep_offset[i], p.index))
            for _, _, plat, at in p.passes:
                for t in p.departures:
                    calls.setdefault(plat, []).append((t + at, t + at, p.index))
        through = {p.index for p in self.patterns if p.hops}
        seen: set[int] = set()
        for plat, rows in sorted(calls.items()):
            ops = self.line_list[self.platforms[plat].line].ops
            if ops is None or ops.min_headway_s <= 0 or not through & {r[2] for r in rows}:
                continue
            h = ops.min_headway_s
            for at in (0, 1):  # consecutive arrivals, then consecutive departures
                ordered = sorted(rows, key=lambda r: (r[at], r[1 - at]))
                for x, y in zip(ordered, ordered[1:]):
                    culprit = next((k for k in (y[2], x[2]) if k in through), None)
                    if y[at] - x[at] >= h - 1e-9 or culprit is None or culprit in seen:
                        continue
                    seen.add(culprit)
                    o, sub = self.pattern_origin[culprit]
                    other = self.patterns[x[2] if culprit == y[2] else y[2]]
                    line = self.line_list[self.platforms[plat].line]
                    self.problems.append(o.problem(sub + ("timetable",), (
                        f"{self.patterns[culprit].id} does not fit the track of line {line.id}: at "
                        f"{self.station_specs[self.platforms[plat].station].id} trains of it and of {other.id} "
                        f"{'arrive' if at == 0 else 'leave'} at {_clock(x[at])} and {_clock(y[at])}, "
                        f"{y[at] - x[at]:.0f} s apart, less than {line.id}'s minimum headway of {h:.0f} s "
                        "(operations.min_headway_s)")))

    def track_links(self) -> None:
        """The links between two lines' tracks: (station a, station b) -> (km, run_s, operator, id)."""
        self.links: dict[tuple[int, int], tuple[float, float | None, int, str]] = {}
        for spec, o in self.items["track_links"]:
            a, b = (self.station_index.get(sid) for sid in spec.between)
            for k, (sid, s) in enumerate(zip(spec.between, (a, b))):
                if s is None:
                    self.problems.append(o.problem(("between", k), unknown("station", sid, self.station_index)))
            op = self.operator_index.get(spec.operator)
            if op is None:
                self.problems.append(o.problem(("operator",), unknown("operator", spec.operator, self.operator_index)))
            if a is None or b is None or op is None:
                continue
            if a == b or any(a in km and b in km for km, _, _ in self.tracks):
                self.problems.append(o.problem(("between",), "a track link joins stations of two different lines"))
                continue
            self.links[(a, b)] = self.links[(b, a)] = (spec.km, spec.run_s, op, spec.id)

    def _platform(self, station: int, line: int, direction: str) -> int:
        key = (station, line, direction)
        if key not in self.platform_index:
            self.platform_index[key] = len(self.platforms)
            self.platforms.append(Platform(len(self.platforms), station, line, direction))
        return self.platform_index[key]

    def _resolve_passes(self) -> None:
        """Platforms of the stations that express patterns pass without stopping, numbered after
        every stopping platform."""
        for i, (p, passes) in enumerate(zip(self.patterns, self.pending_passes)):
            if passes:
                resolved = tuple((after, s, self._platform(s, *plat), t) for after, s, t, plat in passes)
                self.patterns[i] = replace(p, passes=resolved)

    def _branches(self, ln: schema.LineSpec, o: _Origin):
        """Km post of each station, track adjacency and the branches as station indices."""
        km: dict[int, float] = {}
        adjacency: dict[int, list[int]] = {}
        branch_list = []
        ok = True
        for bname, seq in ln.branches.items():
            ids = []
            for k, (sid, kmv) in enumerate(seq):
                s = self.station_index.get(sid)
                if s is None or s in ids:
                    self.problems.append(o.problem(("branches", bname, k), unknown("station", sid, self.station_index) if s is None
                                                   else f"station '{sid}' is listed twice on this branch"))
                    ok = False
                    continue
                if s in km and abs(km[s] - kmv) > 1e-9:
                    self.problems.append(o.problem(("branches", bname, k),
                                                   f"station '{sid}' has km {kmv} here but {km[s]} on another branch"))
                km[s] = kmv
                ids.append(s)
            for a, b in zip(ids, ids[1:]):
                adjacency.setdefault(a, []).append(b)
                adjacency.setdefault(b, []).append(a)
            branch_list.append(tuple(ids))
        return km, adjacency, branch_list, ok

    def _pattern(self, li: int, pat: schema.PatternSpec, o: _Origin, sub: tuple) -> None:
        """The pattern's stops and, per direction in its timetable, a Pattern with run times and
        departures. A through-running pattern (`runs_onto`) may continue over track links onto other
        lines, calling at their platforms."""
        ln = self.items["lines"][li][0]
        used = [li]
        for k, lid in enumerate(pat.runs_onto):
            j = self.line_index.get(lid)
            if j is None or j == li:
                self.problems.append(o.problem(sub + ("runs_onto", k), f"'{lid}' is not another line of the network"))
                return
            if not self.tracks[j][2]:
                return
            used.append(j)
        adjacency: dict[int, list[int]] = {}
        for j in used:
            for a, nb in self.tracks[j][1].items():
                adjacency.setdefault(a, []).extend(nb)
        on_lines = set().union(*(self.tracks[j][0] for j in used))
        for a, b in self.links:
            if a in on_lines and b in on_lines:
                adjacency.setdefault(a, []).append(b)
        full = _resolve_stops(pat.stops, self.station_index, on_lines, adjacency, o, sub, self.problems)
        if full is None:
            return
        skip = set()
        for k, sid in enumerate(pat.skip):
            s = self.station_index.get(sid)
            if s is None or s not in full or s in (full[0], full[-1]):
                self.problems.append(o.problem(sub + ("skip", k), f"'{sid}' is not an intermediate stop of this pattern"))
            else:
                skip.add(s)
        stops = [s for s in full if s not in skip]
        km = self.tracks[li][0]
        if len(used) == 1:
            kms = [km[s] for s in stops]
            increasing = kms[1] > kms[0]
            if any((b <= a) if increasing else (b >= a) for a, b in zip(kms, kms[1:])):
                self.problems.append(o.problem(sub + ("stops",), "km posts along the pattern must strictly increase or decrease"))
                return
        for direction, tt in pat.timetable.items():
            track = full if direction == "forward" else full[::-1]
            run = self._run(track, used, o, sub)
            if run is None:
                return
            pos, pieces, plats_of, dir_name = run
            seq = [s for s in track if s not in skip]
            kseq = [pos[s] for s in seq]
            arr, dep = [0.0], [0.0]
            hops: list[tuple] = []
            for a, b in zip(seq, seq[1:]):
                between = track[track.index(a): track.index(b) + 1]
                cover = [pieces[(x, y)] for x, y in zip(between, between[1:])]
                arr.append(dep[-1] + self._stop_run(a, b, cover, li))
                owner = self.items["lines"][plats_of[b][0]][0]
                dep.append(arr[-1] + float(round(owner.dwell_s_at.get(self.station_specs[b].id, owner.dwell_s))))
                hops.append(tuple((c[0], c[1], c[2]) for c in cover))
            dep[-1] = arr[-1]
            if tt.times is not None:  # the pattern's own timing, not the line's run times and dwells
                if len(tt.times) != len(seq):
                    self.problems.append(o.problem(sub + ("timetable", direction, "times"),
                                                   f"gives {len(tt.times)} calls; the pattern has {len(seq)} stops"))
                    return
                arr, dep = [float(a) for a, _ in tt.times], [float(d) for _, d in tt.times]
            plats = [self._platform(s, *plats_of[s]) for s in seq]
            passes, at = [], 0
            for s in track:
                if s in skip:  # passed between stops `at` and `at + 1`, timed by distance
                    share = (pos[s] - kseq[at]) / (kseq[at + 1] - kseq[at])
                    passes.append((at, s, float(round(dep[at] + share * (arr[at + 1] - dep[at]))), plats_of[s]))
                elif s == seq[at + 1] if at + 1 < len(seq) else False:
                    at += 1
            self.pending_passes.append(passes)
            departures = timetable_departures(tt)
            entry: tuple[int, ...] = ()
            if tt.early_service is not None:
                departures, entry = self._early_service(tt, seq, dep, departures, o, sub + ("timetable", direction))
            self.pattern_origin.append((o, sub))
            self.patterns.append(Pattern(
                len(self.patterns), f"{ln.id}.{pat.id}.{direction}", li, dir_name, tuple(seq), tuple(kseq),
                tuple(arr), tuple(dep), pat.capacity or ln.capacity, departures, tuple(plats), entry=entry,
                hops=tuple(hops) if len(used) > 1 else ()))

    def _stop_run(self, a: int, b: int, cover: list[tuple[int, int, float]], home: int) -> float:
        """Run time (s) from stop a to the next stop b over the track pieces `cover`: on one line its
        `run_s` for 'a>b' (either way) or its speed profile over the distance; over a track link alone
        the link's `run_s` or the running line's profile; over several lines the running line's
        profile over the whole distance."""
        lines = {c[0] for c in cover}
        total = sum(c[2] for c in cover)
        if lines == {-1}:
            run_s = self.links[(a, b)][1] if len(cover) == 1 else None
            return float(run_s) if run_s is not None else profile_run_time_s(total, self.items["lines"][home][0].speed_profile)
        if len(lines) == 1:
            spec = self.items["lines"][cover[0][0]][0]
            ida, idb = self.station_specs[a].id, self.station_specs[b].id
            run = spec.run_s.get(f"{ida}>{idb}", spec.run_s.get(f"{idb}>{ida}"))
            return float(run) if run is not None else profile_run_time_s(total, spec.speed_profile)
        return profile_run_time_s(total, self.items["lines"][home][0].speed_profile)

    def _run(self, track: list[int], used: list[int], o: _Origin, sub: tuple):
        """Along a pattern's track in travel order (every station, skipped ones too): the position of
        each station (km posts on a single line; km from the first station when running onto other
        lines), each run between neighbours as (line or -1 for a link, operator, km), each station's
        platform as (owner line, direction on it), and the pattern's direction on its own line."""
        home = used[0]
        pieces: dict[tuple[int, int], tuple[int, int, float]] = {}
        for a, b in zip(track, track[1:]):
            line = next((j for j in used if b in self.tracks[j][1].get(a, ())), None)
            if line is None:
                km_link, _, op, _ = self.links[(a, b)]
                pieces[(a, b)] = (-1, op, km_link)
            else:
                pieces[(a, b)] = (line, self.line_list[line].operator, abs(self.tracks[line][0][b] - self.tracks[line][0][a]))
        if len(used) == 1:
            pos = {s: self.tracks[home][0][s] for s in track}
        else:
            pos, total = {track[0]: 0.0}, 0.0
            for a, b in zip(track, track[1:]):
                total += pieces[(a, b)][2]
                pos[b] = total
        plats_of = {}
        for i, s in enumerate(track):
            owner = next(j for j in used if s in self.tracks[j][0])
            near = []
            for a, b in ([(s, track[i + 1])] if i + 1 < len(track) else []) + ([(track[i - 1], s)] if i else []):
                if pieces[(a, b)][0] == owner:
                    near.append((a, b))
            if not near:
                self.problems.append(o.problem(sub + ("stops",), f"'{self.station_specs[s].id}' is reached and left "
                                                                 "over track links only"))
                return None
            a, b = near[0]
            km = self.tracks[owner][0]
            plats_of[s] = (owner, "up" if km[b] > km[a] else "down")
        own = next(((a, b) for a, b in zip(track, track[1:]) if pieces[(a, b)][0] == home), None)
        if own is None:
            self.problems.append(o.problem(sub + ("stops",), "the pattern does not run on its own line"))
            return None
        km = self.tracks[home][0]
        return pos, pieces, plats_of, ("up" if km[own[1]] > km[own[0]] else "down")

    def _early_service(self, tt: schema.TimetableSpec, seq: list[int], dep: list[float], departures: tuple,
                       o: _Origin, sub: tuple) -> tuple[tuple[float, ...], tuple[int, ...]]:
        """The timetable's departures preceded by the trains entering service at depots (see
        schema.EarlyService), and the entry stop of every departure."""
        es = tt.early_service
        # called for a timetable with early_service, which the schema allows only with first and headways
        assert es is not None and tt.first is not None
        at = []
        for k, sid in enumerate(es.depots):
            s = self.station_index.get(sid)
            if s is None or s not in seq:
                self.problems.append(o.problem(sub + ("early_service", "depots", k),
                                               f"'{sid}' is not a stop of this pattern"))
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

    # -- interchanges -----------------------------------------------------------------------------

    def interchanges(self) -> None:
        self.transfers: dict[tuple[int, int], list[TransferPath]] = {}
        self.interchange_list: list[Interchange] = []
        for ic, o in self.items["interchanges"]:
            ends = [self.station_index.get(s) for s in ic.stations]
            for k, (sid, s) in enumerate(zip(ic.stations, ends)):
                if s is None:
                    self.problems.append(o.problem(("stations", k), unknown("station", sid, self.station_index)))
            a, b = ends  # the schema's two stations
            if a is None or b is None:
                continue
            if a == b:
                self.problems.append(o.problem(("stations",), "an interchange joins two different stations "
                                                             "(same-station transfers use the station's transfer_walk_s)"))
                continue
            paths, security, seamless = self._interchange_paths(ic, o)
            self.interchange_list.append(Interchange(ic.id, (a, b), security, seamless))
            directions = [(a, b), (b, a)] if ic.bidirectional else [(a, b)]
            for path, sub in paths:
                if path.media is not None:
                    self.check_media(path.media, o, sub + ("media",))
                for frm, to in directions:
                    steps = self._path_steps(path, frm, to, o, sub)
                    if steps is not None:
                        self.transfers.setdefault((frm, to), []).append(TransferPath(
                            frm, to, path.name, frozenset(path.media) if path.media is not None else None, steps))

    def _interchange_paths(self, ic: schema.InterchangeSpec, o: _Origin):
        """The interchange's paths, each with the field path of what defines it: as written, or
        built from the fare-line layout and the policy (seamless media cross without leaving the
        paid area; the others exit, buy a ticket where they need one and re-enter; `rescreen` adds
        the security check)."""
        if ic.fare_line is None:
            return [(p, ("paths", i)) for i, p in enumerate(ic.paths)], None, None
        fl, policy = ic.fare_line, ic.policy or schema.InterchangePolicy()
        if policy.seamless_media == "all":
            seamless = set(self.media)
        else:
            self.check_media(policy.seamless_media, o, ("policy", "seamless_media"))
            seamless = set(policy.seamless_media) & set(self.media)
        others = sorted(set(self.media) - seamless)
        check: list[schema.Step] = [fl.security] if policy.security == "rescreen" else []
        before, after = schema.Walk(walk_s=fl.walk_before_s), schema.Walk(walk_s=fl.walk_after_s)
        out = []
        if seamless:
            out.append((schema.InterchangePath(name="seamless", media=sorted(seamless),
                                               steps=[before, *check, after]), ("fare_line",)))
        if others:
            ticket = [fl.ticket_machines] if fl.ticket_machines else []
            steps: list[schema.Step] = [before, fl.exit_gates, *ticket, *check, fl.entry_gates, after]
            out.append((schema.InterchangePath(name="exit_and_reenter", media=others, steps=steps), ("fare_line",)))
        return out, policy.security, frozenset(seamless)

    def _path_steps(self, path: schema.InterchangePath, frm: int, to: int, o: _Origin,
                    sub: tuple) -> tuple[PathStep, ...] | None:
        """A path's steps from station frm to station to, facility references resolved."""
        steps = []
        for k, step in enumerate(path.steps):
            if isinstance(step, schema.Walk):
                steps.append(PathStep(WALK, step.walk_s))
                continue
            where, dot, fname = step.partition(".")
            target = {"from": frm, "to": to}.get(where, self.station_index.get(where))
            fid = f"{self.station_specs[target].id}.{fname}" if target is not None and dot else None
            if fid not in self.facility_index:
                at = sub + ("steps", k) if sub[0] == "paths" else sub
                self.problems.append(o.problem(at, f"unknown facility '{step}' (expected from.<name>, to.<name> or "
                                                   "<station_id>.<name>)"))
                return None
            steps.append(PathStep(FACILITY, self.facility_index[fid]))
        return tuple(steps)

    def check_facility_cycles(self) -> None:
        sequences = [st.entry for st in self.station_list] + [st.exit for st in self.station_list]
        sequences += [tp.steps for paths in self.transfers.values() for tp in paths]
        cycle = _facility_cycle(sequences, self.facilities)
        if cycle:
            root = self.loaded.files[0][1]
            self.problems.append(Problem(str(root.path), "interchanges",
                                         "station paths pass facilities in a cycle (" + " -> ".join(cycle) +
                                         "): a facility used in both directions of a transfer must be split "
                                         "into one facility per direction"))

    # -- policies ---------------------------------------------------------------------------------

    def fare_rules(self) -> None:
        self.rules: list[FareRule] = []
        covered: dict[int, str] = {}
        for rule, o in self.items["fare_integration"]:
            ops = []
            for k, oid in enumerate(rule.operators):
                if oid not in self.operator_index:
                    self.problems.append(o.problem(("operators", k), unknown("operator", oid, self.operator_index)))
                elif self.operator_index[oid] in covered:
                    self.problems.append(o.problem(("operators", k), f"operator '{oid}' is already in fare rule "
                                                                     f"'{covered[self.operator_index[oid]]}'"))
                else:
                    ops.append(self.operator_index[oid])
            tariff = rule.through_fare
            if rule.through_tariff is not None:
                if rule.through_tariff not in self.operator_index:
                    self.problems.append(o.problem(("through_tariff",), unknown("operator", rule.through_tariff, self.operator_index)))
                else:
                    tariff = self.operator_list[self.operator_index[rule.through_tariff]].fare
            elif tariff is not None:
                _check_fare(tariff, o, ("through_fare",), self.problems)
                self.check_media(tariff.media_factor, o, ("through_fare", "media_factor"))
            if rule.media is not None:
                self.check_media(rule.media, o, ("media",))
            covered.update({i: rule.id for i in ops})
            self.rules.append(FareRule(rule.id, frozenset(ops), rule.policy, tariff, rule.discount_cny, rule.clearing,
                                       frozenset(rule.media) if rule.media is not None else None))

    def coordination(self) -> None:
        self.coordination_list: list[Coordination] = []
        by_id = {p.id: p for p in self.patterns}
        receivers: dict[int, str] = {}
        for rule, o in self.items["coordination"]:
            ends = []
            for fld, sid in (("from", rule.from_), ("to", rule.to)):
                if sid not in self.station_index:
                    self.problems.append(o.problem((fld,), unknown("station", sid, self.station_index)))
                ends.append(self.station_index.get(sid))
            feeders = []
            for k, pid in enumerate(rule.feeders):
                p = by_id.get(pid)
                if p is None:
                    self.problems.append(o.problem(("feeders", k), _unknown_service(pid, by_id)))
                elif ends[0] is not None and (ends[0] not in p.stops or p.stops[0] == ends[0]):
                    self.problems.append(o.problem(("feeders", k), f"service '{pid}' does not arrive at '{rule.from_}'"))
                else:
                    feeders.append(p.index)
            recv = by_id.get(rule.receiver)
            if recv is None:
                self.problems.append(o.problem(("receiver",), _unknown_service(rule.receiver, by_id)))
            elif ends[1] is not None and (ends[1] not in recv.stops or recv.stops[-1] == ends[1]):
                self.problems.append(o.problem(("receiver",), f"service '{rule.receiver}' does not depart from '{rule.to}'"))
            shifted = []
            for k, pid in enumerate([rule.receiver, *rule.shift_with]):
                p = by_id.get(pid)
                sub = ("receiver",) if k == 0 else ("shift_with", k - 1)
                if p is None:
                    if k:
                        self.problems.append(o.problem(sub, _unknown_service(pid, by_id)))
                elif p.index in feeders:
                    self.problems.append(o.problem(sub, f"service '{pid}' is a feeder of this rule: it cannot be shifted"))
                elif p.index in receivers:
                    self.problems.append(o.problem(sub, f"service '{pid}' is already shifted by coordination rule "
                                                        f"'{receivers[p.index]}'"))
                else:
                    receivers[p.index] = rule.id
                    shifted.append(p.index)
            if rule.medium is not None:
                self.check_media([rule.medium], o, ("medium",))
            frm, to = ends
            if frm is None or to is None or recv is None or len(feeders) != len(rule.feeders) or len(shifted) != 1 + len(rule.shift_with):
                continue
            if frm != to and (frm, to) not in self.transfers:
                self.problems.append(o.problem(("to",), f"no interchange leads from '{rule.from_}' to '{rule.to}'"))
                continue
            self.coordination_list.append(Coordination(
                rule.id, rule.mode, tuple(feeders), recv.index, tuple(shifted[1:]), frm, to,
                (rule.window.start, rule.window.end),
                rule.target_slack_s, rule.medium, rule.method,
                tuple(rule.candidates_s) if rule.candidates_s is not None else None, rule.offset_s))


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



def _facility_cycle(sequences, facilities: list[Facility]) -> list[str]:
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
