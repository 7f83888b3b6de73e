"""The network as immutable data: stations, facilities, lines, service patterns, platforms, transfers.

Built from validated network files by `sim.netbuild.build_network`, which cross-checks every reference and
reports all problems at once. Times in seconds, distances in km.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import schema
from .distributions import Distribution
from .fare_tables import FareTable

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
    boarding_closes_s: float = 0.0
    """The platform gates close this long before each departure (s)."""


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


MODE_NAMES = {0: "tram", 1: "metro", 2: "rail", 3: "bus", 4: "ferry", 5: "cable tram", 6: "aerial lift",
              7: "funicular", 11: "trolleybus", 12: "monorail"}
"""The GTFS route types by name; an extended type (100 and up) takes its family's (see mode_name)."""
EXTENDED_ROUTE_TYPES = {1: 2, 2: 3, 3: 2, 4: 1, 7: 3, 8: 11, 9: 0, 10: 4, 12: 4, 13: 6, 14: 7}
"""Extended route types (100-1700) by hundreds, to the basic type they resemble: 100 railway,
200 coach, 300 suburban railway, 400 urban railway, 700 bus, 800 trolleybus, 900 tram, 1000 water,
1200 ferry, 1300 aerial lift, 1400 funicular (others, e.g. 1100 air or 1500 taxi, are unknown)."""


def basic_route_type(route_type: int) -> int:
    """The basic GTFS route type of a basic or extended one (-1 for an unknown extended one)."""
    return route_type if route_type < 100 else EXTENDED_ROUTE_TYPES.get(route_type // 100, -1)


def mode_name(route_type: int) -> str:
    """The name of a GTFS route type's mode ('metro', 'rail', ...; 'other' when unknown)."""
    return MODE_NAMES.get(basic_route_type(route_type), "other")


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
    reservations: schema.ReservationSpec | None = None
    """Reserved seats: riders hold a ticket for one train (None: they board any train with room)."""

    @property
    def mode(self) -> str:
        """Its mode's name (mode_name)."""
        return mode_name(self.route_type)


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
    bidirectional: bool = True
    """False: its paths lead from stations[0] to stations[1] only."""


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

    def mode_bits(self) -> tuple[list[str], np.ndarray]:
        """The names of its lines' modes in alphabetical order, and per line the bit of its mode
        (1 << that order): a set of modes is the sum of its bits, as trips `modes` code them."""
        names = sorted({ln.mode for ln in self.lines})
        return names, np.asarray([1 << names.index(ln.mode) for ln in self.lines], dtype=np.int64)

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

    def platform_stations(self) -> np.ndarray:
        """The station of each platform (int64, by platform index)."""
        return np.asarray([pl.station for pl in self.platforms], dtype=np.int64)

    def station_km_matrix(self) -> np.ndarray:
        """Straight-line km between every pair of stations."""
        lat = np.asarray([s.lat for s in self.stations])
        lon = np.asarray([s.lon for s in self.stations])
        return km_between(lat, lon, lat, lon)


EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (km, IUGG)."""


def km_between(lat_a: np.ndarray, lon_a: np.ndarray, lat_b: np.ndarray, lon_b: np.ndarray) -> np.ndarray:
    """Great-circle km between every point a (rows) and every point b (columns), haversine; points
    in degrees (WGS 84)."""
    la, lb = np.radians(lat_a)[:, None], np.radians(lat_b)[None, :]
    dlon = np.radians(lon_a)[:, None] - np.radians(lon_b)[None, :]
    h = np.sin((la - lb) / 2) ** 2 + np.cos(la) * np.cos(lb) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))


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
