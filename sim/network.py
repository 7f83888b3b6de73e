"""The network as immutable data: stations, facilities, lines, service patterns, platforms, transfers.

Built from validated network files by `build_network`, which cross-checks every reference and
reports all problems at once. Times in seconds, distances in km.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from . import schema
from .distributions import Distribution
from .errors import Problem, UserError
from .loading import Document, LoadedNetwork, format_loc

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

    def station_km_matrix(self) -> np.ndarray:
        """Straight-line km between every pair of stations."""
        lat = np.radians([s.lat for s in self.stations])
        lon = np.radians([s.lon for s in self.stations])
        dlat = lat[:, None] - lat[None, :]
        dlon = lon[:, None] - lon[None, :]
        a = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
        return 2 * 6371.0088 * np.arcsin(np.minimum(1.0, np.sqrt(a)))


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
        loc = self.loc + sub
        return Problem(str(self.doc.path), format_loc(loc), message, self.doc.line_of(loc))


def build_network(loaded: LoadedNetwork) -> Network:
    """Cross-check and assemble the network; UserError listing every problem found."""
    problems: list[Problem] = []
    media: dict[str, schema.MediumSpec] = {}
    ops: list[tuple[schema.OperatorSpec, _Origin]] = []
    stations: list[tuple[schema.StationSpec, _Origin]] = []
    lines: list[tuple[schema.LineSpec, _Origin]] = []
    inters: list[tuple[schema.InterchangeSpec, _Origin]] = []
    first_seen: dict[tuple[str, str], _Origin] = {}

    def unique(kind: str, ident: str, origin: _Origin) -> bool:
        key = (kind, ident)
        if key in first_seen:
            prev = first_seen[key]
            where = f"{prev.doc.path}:{prev.doc.line_of(prev.loc)}"
            problems.append(origin.problem(("id",), f"duplicate {kind} id '{ident}' (first defined at {where})"))
            return False
        first_seen[key] = origin
        return True

    name = ""
    for model, doc in loaded.files:
        name = name or (model.name or doc.path.stem)
        for mid, spec in model.media.items():
            if unique("medium", mid, _Origin(doc, ("media", mid))):
                media[mid] = spec
        for kind, field_name, sink in (("operator", "operators", ops), ("station", "stations", stations),
                                       ("line", "lines", lines), ("interchange", "interchanges", inters)):
            for i, item in enumerate(getattr(model, field_name)):
                o = _Origin(doc, (field_name, i))
                if unique(kind, item.id, o):
                    sink.append((item, o))

    if not media:
        problems.append(Problem(str(loaded.files[0][1].path), "media", "the network defines no payment media"))

    def check_media(ids, origin: _Origin, sub: tuple) -> None:
        for mid in ids:
            if mid not in media:
                problems.append(origin.problem(sub, f"unknown medium '{mid}' (known: {', '.join(sorted(media))})"))

    operator_index = {op.id: i for i, (op, _) in enumerate(ops)}
    operators = []
    for i, (op, o) in enumerate(ops):
        if op.accepts is not None:
            check_media(op.accepts, o, ("accepts",))
        if op.fallback_medium is not None:
            check_media([op.fallback_medium], o, ("fallback_medium",))
        elif op.accepts is not None and set(op.accepts) != set(media):
            problems.append(o.problem(("fallback_medium",), "needed when 'accepts' leaves out some media"))
        check_media(op.fare.media_factor, o, ("fare", "media_factor"))
        _check_fare(op.fare, o, problems)
        operators.append(Operator(i, op.id, op.name, op.fare,
                                  frozenset(op.accepts) if op.accepts is not None else None, op.fallback_medium))

    # Stations and their facilities
    station_index = {st.id: i for i, (st, _) in enumerate(stations)}
    facilities: list[Facility] = []
    facility_index: dict[str, int] = {}
    station_list: list[Station] = []
    for si, (st, o) in enumerate(stations):
        op_i = operator_index.get(st.operator)
        if op_i is None:
            problems.append(o.problem(("operator",), f"unknown operator '{st.operator}'"))
            defaults = schema.StationDefaults()
        else:
            defaults = ops[op_i][0].station_defaults
        names: dict[str, int] = {}
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
                specs[fname] = schema.FacilitySpec(
                    kind=over.kind or base.kind, servers=over.servers or base.servers, service=over.service or base.service)
        for fname in sorted(specs):
            spec = specs[fname]
            fid = f"{st.id}.{fname}"
            idx = len(facilities)
            facilities.append(Facility(idx, fid, si, fname, spec.kind, spec.servers, Distribution.from_spec(spec.service)))
            facility_index[fid] = idx
            names[fname] = idx

        entry = _local_steps(st.entry if st.entry is not None else defaults.entry, names, st.id, o, ("entry",),
                             problems)
        exit_ = _local_steps(st.exit if st.exit is not None else defaults.exit, names, st.id, o, ("exit",),
                             problems)
        walk = st.transfer_walk_s if st.transfer_walk_s is not None else defaults.transfer_walk_s
        station_list.append(Station(si, st.id, op_i if op_i is not None else -1, st.name_zh, st.name_en,
                                    st.lat, st.lon, entry, exit_, walk))

    # Lines and patterns
    line_index = {ln.id: i for i, (ln, _) in enumerate(lines)}
    line_list: list[Line] = []
    patterns: list[Pattern] = []
    platform_index: dict[tuple[int, int, str], int] = {}
    platforms: list[Platform] = []
    for li, (ln, o) in enumerate(lines):
        if ln.operator not in operator_index:
            problems.append(o.problem(("operator",), f"unknown operator '{ln.operator}'"))
        km: dict[int, float] = {}
        adjacency: dict[int, list[int]] = {}
        branch_list = []
        ok = True
        for bname, seq in ln.branches.items():
            ids = []
            for k, (sid, kmv) in enumerate(seq):
                s = station_index.get(sid)
                if s is None:
                    problems.append(o.problem(("branches", bname, k), f"unknown station '{sid}'"))
                    ok = False
                    continue
                if s in km and abs(km[s] - kmv) > 1e-9:
                    problems.append(o.problem(("branches", bname, k),
                                              f"station '{sid}' has km {kmv} here but {km[s]} on another branch"))
                km[s] = kmv
                ids.append(s)
            for a, b in zip(ids, ids[1:]):
                adjacency.setdefault(a, []).append(b)
                adjacency.setdefault(b, []).append(a)
            branch_list.append(tuple(ids))
        line_list.append(Line(li, ln.id, operator_index.get(ln.operator, -1), ln.name, ln.color, km, tuple(branch_list)))
        if not ok:
            continue
        for key in ln.run_s:
            a, sep, b = key.partition(">")
            if not sep or a not in station_index or b not in station_index or station_index[a] not in km \
                    or station_index[b] not in km:
                problems.append(o.problem(("run_s", key), "expected 'a>b' with two stations of this line"))
        for sid in ln.dwell_s_at:
            if station_index.get(sid) not in km:
                problems.append(o.problem(("dwell_s_at", sid), f"station '{sid}' is not on this line"))
        seen_patterns: set[str] = set()
        for pi, pat in enumerate(ln.patterns):
            po_sub = ("patterns", pi)
            if pat.id in seen_patterns:
                problems.append(o.problem(po_sub + ("id",), f"duplicate pattern id '{pat.id}' in line '{ln.id}'"))
                continue
            seen_patterns.add(pat.id)
            full = _resolve_stops(pat.stops, station_index, km, adjacency, o, po_sub, problems)
            if full is None:
                continue
            skip = set()
            for k, sid in enumerate(pat.skip):
                s = station_index.get(sid)
                if s is None or s not in full or s in (full[0], full[-1]):
                    problems.append(o.problem(po_sub + ("skip", k), f"'{sid}' is not an intermediate stop of this pattern"))
                else:
                    skip.add(s)
            stops = [s for s in full if s not in skip]
            kms = [km[s] for s in stops]
            increasing = kms[1] > kms[0]
            if any((b <= a) if increasing else (b >= a) for a, b in zip(kms, kms[1:])):
                problems.append(o.problem(po_sub + ("stops",), "km posts along the pattern must strictly increase or decrease"))
                continue
            for direction, tt in pat.timetable.items():
                seq = stops if direction == "forward" else stops[::-1]
                kseq = [km[s] for s in seq]
                up = kseq[1] > kseq[0]
                dir_name = "up" if up else "down"
                arr, dep = [0.0], [0.0]
                for a, b, ka, kb in zip(seq, seq[1:], kseq, kseq[1:]):
                    ida, idb = stations[a][0].id, stations[b][0].id
                    run = ln.run_s.get(f"{ida}>{idb}", ln.run_s.get(f"{idb}>{ida}"))
                    run = float(run) if run is not None else profile_run_time_s(abs(kb - ka), ln.speed_profile)
                    arr.append(dep[-1] + run)
                    dwell = ln.dwell_s_at.get(idb, ln.dwell_s)
                    dep.append(arr[-1] + float(round(dwell)))
                dep[-1] = arr[-1]
                plats = []
                for s in seq:
                    key = (s, li, dir_name)
                    if key not in platform_index:
                        platform_index[key] = len(platforms)
                        platforms.append(Platform(len(platforms), s, li, dir_name))
                    plats.append(platform_index[key])
                departures = timetable_departures(tt)
                patterns.append(Pattern(
                    len(patterns), f"{ln.id}.{pat.id}.{direction}", li, dir_name, tuple(seq), tuple(kseq),
                    tuple(arr), tuple(dep), pat.capacity or ln.capacity, departures, tuple(plats)))

    # Transfers between stations
    transfers: dict[tuple[int, int], list[TransferPath]] = {}
    for ic, o in inters:
        ends = [station_index.get(s) for s in ic.stations]
        for k, (sid, s) in enumerate(zip(ic.stations, ends)):
            if s is None:
                problems.append(o.problem(("stations", k), f"unknown station '{sid}'"))
        if None in ends:
            continue
        a, b = ends
        if a == b:
            problems.append(o.problem(("stations",), "an interchange joins two different stations "
                                                    "(same-station transfers use the station's transfer_walk_s)"))
            continue
        directions = [(a, b), (b, a)] if ic.bidirectional else [(a, b)]
        for p_i, path in enumerate(ic.paths):
            if path.media is not None:
                check_media(path.media, o, ("paths", p_i, "media"))
            for frm, to in directions:
                steps = []
                for k, step in enumerate(path.steps):
                    if isinstance(step, schema.Walk):
                        steps.append(PathStep(WALK, step.walk_s))
                        continue
                    where, dot, fname = step.partition(".")
                    target = {"from": frm, "to": to}.get(where, station_index.get(where))
                    fid = f"{stations[target][0].id}.{fname}" if target is not None and dot else None
                    if fid not in facility_index:
                        problems.append(o.problem(("paths", p_i, "steps", k),
                                                  f"unknown facility '{step}' (expected from.<name>, to.<name> or "
                                                  "<station_id>.<name>)"))
                        break
                    steps.append(PathStep(FACILITY, facility_index[fid]))
                transfers.setdefault((frm, to), []).append(TransferPath(
                    frm, to, path.name, frozenset(path.media) if path.media is not None else None, tuple(steps)))

    if not problems:
        sequences = [st.entry for st in station_list] + [st.exit for st in station_list]
        sequences += [tp.steps for paths in transfers.values() for tp in paths]
        cycle = _facility_cycle(sequences, facilities)
        if cycle:
            root = loaded.files[0][1]
            problems.append(Problem(str(root.path), "interchanges",
                                    "station paths pass facilities in a cycle (" + " -> ".join(cycle) +
                                    "): a facility used in both directions of a transfer must be split "
                                    "into one facility per direction"))
    if problems:
        raise UserError(problems)
    return Network(
        name=name, media=media, operators=tuple(operators), stations=tuple(station_list),
        facilities=tuple(facilities), lines=tuple(line_list), patterns=tuple(patterns), platforms=tuple(platforms),
        transfers={k: tuple(v) for k, v in transfers.items()},
        station_index=station_index, line_index=line_index, operator_index=operator_index,
        facility_index=facility_index,
    )


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


def _check_fare(fare: schema.FareSpec, o: _Origin, problems: list[Problem]) -> None:
    if fare.kind == "distance_bands":
        ups = [b.up_to_km for b in fare.bands]
        if any(u is None for u in ups[:-1]):
            problems.append(o.problem(("fare", "bands"), "only the last band may omit up_to_km"))
        finite = [u for u in ups if u is not None]
        if finite and (finite != sorted(finite) or finite[0] <= fare.base_km):
            problems.append(o.problem(("fare", "bands"), "band limits must increase and exceed base_km"))


def _resolve_stops(waypoints, station_index, km, adjacency, o: _Origin, sub, problems) -> list[int] | None:
    ids = []
    for k, sid in enumerate(waypoints):
        s = station_index.get(sid)
        if s is None or s not in km:
            problems.append(o.problem(sub + ("stops", k), f"'{sid}' is not a station of this line's branches"))
            return None
        ids.append(s)
    full = [ids[0]]
    for a, b in zip(ids, ids[1:]):
        path = _bfs(a, b, adjacency)
        if path is None:
            problems.append(o.problem(sub + ("stops",), "no track between consecutive stops along the line's branches"))
            return None
        full.extend(path[1:])
    if len(set(full)) != len(full):
        problems.append(o.problem(sub + ("stops",), "the pattern visits a station twice"))
        return None
    return full


def _bfs(a: int, b: int, adjacency: dict[int, list[int]]) -> list[int] | None:
    prev = {a: a}
    queue = deque([a])
    while queue:
        u = queue.popleft()
        if u == b:
            path = [b]
            while path[-1] != a:
                path.append(prev[path[-1]])
            return path[::-1]
        for v in adjacency.get(u, ()):
            if v not in prev:
                prev[v] = u
                queue.append(v)
    return None


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
