"""Typed schemas of the YAML files (network and scenario): field names, types, defaults, units.

Only this module and `loading` know the file formats. Unknown keys are errors everywhere. Times
accept "HH:MM", "HH:MM:SS" (hours may pass 24) or seconds since midnight; durations are seconds
(`*_s`), distances km, speeds km/h, accelerations m/s^2, money CNY.

Every number has a physical range and must be finite: times up to 72:00; walks, dwells and
service times up to an hour; run times up to 6 h; headways from 1 s to a day, with at most 10,000
departures per timetable; capacities up to 100,000 persons; weights and densities up to 1e9 (see
the constants below). Numbers are numbers: `true`/`false` and quoted numbers ("1000") are refused,
not converted, and yes/no fields take only `true` or `false`. Text has a length too: ids up to 64
characters, names (and references by id) up to 200, descriptions and sources up to 10,000, paths up
to 4,096.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .units import format_time, parse_time

SCHEMA_VERSION = 1

SHARE_TOLERANCE = 1e-6
"""How far shares that must add up to 1 (payment media, segments given as fractions) may miss."""

# Physical ranges of the numbers in the files (see the module docstring).
HOUR_S = 3600.0
DAY_S = 24 * HOUR_S
MAX_CLOCK_S = 72 * HOUR_S
"""Latest clock time (s since midnight): 72:00, the end of a third service day."""
MIN_HEADWAY_S = 1.0
MAX_DEPARTURES = 10_000
"""Most departures from one timetable (a train every 10 s for a whole day is 8,640)."""
MAX_KM = 10_000.0
MAX_CNY = 10_000.0
MAX_WEIGHT = 1e9
"""Largest relative weight or density (OD weights, segment weights, profile densities)."""
MAX_CAPACITY = 100_000
"""Most persons (or seats) per train."""
MAX_COMMUTERS = 50_000_000
MAX_SEED = 2**63 - 1

# Longest text in the files (characters; the shipped files stay well within: ids 33, names 41, sources 429).
MAX_ID_CHARS = 64
MAX_NAME_CHARS = 200
"""Names, and references to items by id: a name this long already fills a chart's title."""
MAX_TEXT_CHARS = 10_000
"""Descriptions and sources (a network imported from GTFS lists the importer's notes in its
description)."""
MAX_PATH_CHARS = 4_096
"""File paths (Linux's PATH_MAX)."""


def _time(value: object) -> float:
    t = parse_time(value)
    if t > MAX_CLOCK_S:
        raise ValueError(f"expected a time up to 72:00 ({MAX_CLOCK_S:.0f} s since midnight)")
    return t


def _number(value: object) -> object:
    """Refuse what lax validation would silently turn into a number: true/false and quoted numbers."""
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value  # not a number at all: the type check says so
        raise ValueError("expected a number, not text (write numbers without quotes)")
    return value


Clock = Annotated[float, BeforeValidator(_time)]
"""A clock time in seconds since midnight, written as 'HH:MM[:SS]' or a number."""

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]+$", min_length=1, max_length=MAX_ID_CHARS)]
"""An identifier: letters, digits, '_' and '-'."""
Name = Annotated[str, Field(max_length=MAX_NAME_CHARS)]
"""A name people read (of a station, line, operator, medium, GTFS agency or route)."""
Ref = Annotated[str, Field(max_length=MAX_NAME_CHARS)]
"""Items named by their ids, as long as a name at most: a facility (`from.security`), a service
(`SH11.all.forward`), a section (`a>b`)."""
Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]
"""Free text: a description, a source."""
FilePath = Annotated[str, Field(max_length=MAX_PATH_CHARS)]
"""A file's path, relative to the file that gives it."""

NUMBER = BeforeValidator(_number)
Int = Annotated[int, NUMBER]
Real = Annotated[float, NUMBER, Field(allow_inf_nan=False)]
"""A finite number (not a boolean or text)."""
Flag = Annotated[bool, Field(strict=True)]
"""true or false (not 1, 0, "yes" or "no")."""
Duration = Annotated[Real, Field(ge=0, le=HOUR_S)]
"""Seconds, at most an hour (walks, dwells, service times, slack)."""
PosDuration = Annotated[Real, Field(gt=0, le=HOUR_S)]
RunTime = Annotated[Real, Field(gt=0, le=6 * HOUR_S)]
"""Seconds between two stops, at most 6 h."""
Km = Annotated[Real, Field(ge=0, le=MAX_KM)]
Cny = Annotated[Real, Field(ge=0, le=MAX_CNY)]
Weight = Annotated[Real, Field(ge=0, le=MAX_WEIGHT)]
Capacity = Annotated[Int, Field(ge=1, le=MAX_CAPACITY)]
Servers = Annotated[Int, Field(ge=1, le=1000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------------
# Shared pieces


class Distribution(Strict):
    """A service-time distribution in seconds.

    dist: deterministic (mean_s), exponential (mean_s), lognormal or gamma (mean_s, cv = standard
    deviation / mean), uniform (min_s, max_s).
    """

    dist: Literal["deterministic", "exponential", "lognormal", "gamma", "uniform"]
    mean_s: PosDuration | None = None
    cv: Annotated[Real, Field(gt=0, le=10)] | None = None
    min_s: Duration | None = None
    max_s: PosDuration | None = None

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Distribution:
        needs = {
            "deterministic": ("mean_s",),
            "exponential": ("mean_s",),
            "lognormal": ("mean_s", "cv"),
            "gamma": ("mean_s", "cv"),
            "uniform": ("min_s", "max_s"),
        }[self.dist]
        allowed = set(needs)
        for name in ("mean_s", "cv", "min_s", "max_s"):
            value = getattr(self, name)
            if name in allowed and value is None:
                raise ValueError(f"dist '{self.dist}' needs '{name}'")
            if name not in allowed and value is not None:
                raise ValueError(f"dist '{self.dist}' takes only {', '.join(needs)}, not '{name}'")
        if self.dist == "uniform" and self.max_s is not None and self.min_s is not None and self.max_s <= self.min_s:
            raise ValueError("uniform needs min_s < max_s")
        return self


class Walk(Strict):
    """A walk of fixed duration in seconds."""

    walk_s: Duration


Step = Ref | Walk
"""A step on a path through a station: a facility reference or a walk.

Facility references: in a station's `entry`/`exit`, a facility name of that station (e.g.
`security`); in an interchange path, `from.<name>` / `to.<name>` (the station left / entered) or
`<station_id>.<name>`.
"""


class FacilitySpec(Strict):
    """A bank of identical servers with one FIFO queue (gates, security lanes, ticket machines)."""

    kind: Literal["gate", "security", "ticket_machine", "other"]
    servers: Servers
    service: Distribution


class FacilityOverride(Strict):
    """Per-station change to a default facility: number of servers and/or service distribution."""

    kind: Literal["gate", "security", "ticket_machine", "other"] | None = None
    servers: Servers | None = None
    service: Distribution | None = None


class StationDefaults(Strict):
    """Defaults for an operator's stations."""

    facilities: dict[Id, FacilitySpec] = Field(default_factory=dict)
    entry: list[Step] = Field(default_factory=list)
    exit: list[Step] = Field(default_factory=list)
    transfer_walk_s: Duration = 60.0
    boarding_closes_s: Duration = 0.0
    """The platform gates close this long before a train leaves (s): a rider who reaches the platform
    later waits for the next train (China's railways: 5 min at most stations, 3 at some)."""


# --------------------------------------------------------------------------------------------------
# Network file


class MediumSpec(Strict):
    """A payment medium. `needs_ticket`: a ticket must be bought at a machine on each entry."""

    name: Name
    needs_ticket: Flag = False


class DistanceBand(Strict):
    """Beyond the previous band, one more CNY per `km_per_cny` km (started km count in full)."""

    up_to_km: Annotated[Km, Field(gt=0)] | None = None
    km_per_cny: Annotated[Real, Field(ge=0.1, le=MAX_KM)]


class ZoneFare(Strict):
    """One fare class of a zone tariff (a GTFS fare_attributes row with its fare_rules): it applies to
    a ride that starts and ends in one of the `od` pairs of zones (null: any zone; no pairs: any
    ride) and, when `contains` is given, enters exactly those zones, the two ends' included."""

    id: Id | None = None
    price: Cny
    """The fare, in the tariff's currency."""
    od: list[tuple[Id | None, Id | None]] = Field(default_factory=list)
    """[origin zone, destination zone] pairs; null stands for any zone."""
    contains: list[Id] = Field(default_factory=list)

    @model_validator(mode="after")
    def _distinct_contains(self) -> ZoneFare:
        if len(set(self.contains)) != len(self.contains):
            raise ValueError("'contains' names a zone twice")
        return self


class OdPrice(NamedTuple):
    origin: Id
    destination: Id
    price: Cny


CURRENCY_PATTERN = r"^[A-Z]{3}$"


class FareSpec(Strict):
    """An operator's tariff, in `currency` (ISO 4217; CNY when not given: `_cny` fields and the
    tables' fare columns are amounts in it).

    kind `distance_bands`: `base_cny` covers `base_km`; then each band adds ceil(km in band /
    km_per_cny). kind `per_km`: rate_cny_per_km times km, at least `minimum_cny`, rounded to
    whole units (0.5 and below down). kind `zones`: every station of the operator in a zone
    (`zone_of`); a ride pays the cheapest of the `zone_fares` that apply to it. kind `od_table`:
    the price of each pair of stations (`od_prices`, [origin, destination, price]; the reverse
    direction the same unless given, when `symmetric`). `media_factor` multiplies the fare for some
    media (discounts).

    A ride on one operator is charged once, however many times the rider changes trains on it, as
    long as each boarding is within `transfer_window_s` of the first (no window: any time) and the
    changes are at most `max_transfers` (none: any number); a boarding beyond either starts a new
    fare.
    """

    kind: Literal["distance_bands", "per_km", "zones", "od_table"]
    base_cny: Cny = 0.0
    base_km: Km = 0.0
    bands: list[DistanceBand] = Field(default_factory=list)
    rate_cny_per_km: Cny = 0.0
    minimum_cny: Cny = 0.0
    zone_of: dict[Id, Id] = Field(default_factory=dict)
    """Station id -> zone id (kind zones)."""
    zone_fares: list[ZoneFare] = Field(default_factory=list)
    od_prices: list[OdPrice] = Field(default_factory=list)
    symmetric: Flag = True
    media_factor: dict[Id, Annotated[Real, Field(gt=0, le=10)]] = Field(default_factory=dict)
    transfer_window_s: Annotated[Real, Field(gt=0, le=DAY_S)] | None = None
    max_transfers: Annotated[Int, Field(ge=0, le=20)] | None = None
    currency: Annotated[str, Field(pattern=CURRENCY_PATTERN)] = "CNY"

    @model_validator(mode="after")
    def _tables_of_their_kind(self) -> FareSpec:
        if self.kind == "zones" and not (self.zone_of and self.zone_fares):
            raise ValueError("kind 'zones' needs 'zone_of' and 'zone_fares'")
        if self.kind == "od_table" and not self.od_prices:
            raise ValueError("kind 'od_table' needs 'od_prices'")
        if self.kind != "zones" and (self.zone_of or self.zone_fares):
            raise ValueError("'zone_of' and 'zone_fares' belong to kind 'zones'")
        if self.kind != "od_table" and self.od_prices:
            raise ValueError("'od_prices' belong to kind 'od_table'")
        return self


TIMEZONE_PATTERN = r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*"
TimeZone = Annotated[str, Field(pattern=f"^{TIMEZONE_PATTERN}$", max_length=64)]
"""An IANA time zone name, e.g. Asia/Shanghai or America/Los_Angeles."""
DEFAULT_TIMEZONE = "Asia/Shanghai"


class OperatorSpec(Strict):
    id: Id
    name: Name
    name_zh: Name | None = None
    fare: FareSpec
    accepts: list[Id] | None = None
    """Media accepted at this operator's gates (all media when absent)."""
    fallback_medium: Id | None = None
    """Medium used instead by holders of a medium this operator does not accept."""
    station_defaults: StationDefaults = Field(default_factory=StationDefaults)
    timezone: TimeZone = DEFAULT_TIMEZONE
    """The time zone of its timetable (IANA name): kept from a feed's agency_timezone, written back
    by export-gtfs."""
    source: Text | None = None


class Window(Strict):
    start: Clock
    end: Clock

    @model_validator(mode="after")
    def _order(self) -> Window:
        if self.end <= self.start:
            raise ValueError("'end' must be after 'start'")
        return self


M2_PER_PERSON = 0.5
"""Platform area per waiting person (m²) that sets a holding limit from an area: GB 50157-2013
(Code for design of metro, Ministry of Housing and Urban-Rural Development, 2013) §9.3.2 takes the
platform crowd density between 0.33 and 0.75 m² per person when sizing a platform; 0.5 is inside it."""


class CrowdControlSpec(Strict):
    """Inflow control at a station's entrances (Shanghai Metro's 限流 in the peak): while `window`
    lasts, commuters from the street wait outside when the station's platforms are at their holding
    limit, and are let in after each train leaves, as many as the platforms then have room for.
    The limit is `holding_limit` persons, or `platform_area_m2` / `m2_per_person`."""

    window: Window
    holding_limit: Annotated[Int, Field(ge=1, le=1_000_000)] | None = None
    platform_area_m2: Annotated[Real, Field(gt=0, le=1_000_000)] | None = None
    m2_per_person: Annotated[Real, Field(ge=0.1, le=10)] = M2_PER_PERSON
    source: Text | None = None

    @model_validator(mode="after")
    def _one_limit(self) -> CrowdControlSpec:
        if (self.holding_limit is None) == (self.platform_area_m2 is None):
            raise ValueError("give exactly one of 'holding_limit' (persons) and 'platform_area_m2'")
        return self

    @property
    def limit(self) -> int:
        """The holding limit (persons)."""
        if self.holding_limit is not None:
            return int(self.holding_limit)
        return max(1, int(float(self.platform_area_m2 or 0.0) / self.m2_per_person))


class StationSpec(Strict):
    id: Id
    operator: Id
    name_zh: Name
    name_en: Name
    lat: Annotated[Real, Field(ge=-90, le=90)]
    lon: Annotated[Real, Field(ge=-180, le=180)]
    facilities: dict[Id, FacilityOverride] = Field(default_factory=dict)
    entry: list[Step] | None = None
    exit: list[Step] | None = None
    transfer_walk_s: Duration | None = None
    boarding_closes_s: Duration | None = None
    """As StationDefaults.boarding_closes_s, for this station (default: its operator's)."""
    crowd_control: CrowdControlSpec | None = None
    source: Text | None = None


class SpeedProfile(Strict):
    """Run time between stops from distance: accelerate, cruise at max speed, brake; times (1+margin)."""

    max_kmh: Annotated[Real, Field(ge=1, le=1000)]
    accel_ms2: Annotated[Real, Field(ge=0.01, le=10)]
    decel_ms2: Annotated[Real, Field(ge=0.01, le=10)]
    margin: Annotated[Real, Field(ge=0, le=2)] = 0.0


class HeadwayBand(Strict):
    """From clock time `from` on, trains leave every `headway_s` seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    start: Clock = Field(alias="from")
    headway_s: Annotated[Real, Field(ge=MIN_HEADWAY_S, le=24 * HOUR_S)]


class EarlyService(Strict):
    """Trains that enter service at depots or sidings along the line before the first train from
    the first stop reaches them: the headway of `first` continues backwards in time, and each of
    those earlier trains enters service at the first of `depots` that it passes at or after
    `from` (trains reaching no depot by then do not run)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    start: Clock = Field(alias="from")
    depots: Annotated[list[Id], Field(min_length=1)]


CallOffset = Annotated[Real, Field(ge=0, le=48 * HOUR_S)]
"""Seconds after a train's departure from its first stop."""


class TimetableSpec(Strict):
    """Departures from a pattern's first stop: headway bands between first and last, or a list;
    optionally trains entering service earlier at depots along the line (`early_service`)."""

    first: Clock | None = None
    last: Clock | None = None
    headways: list[HeadwayBand] = Field(default_factory=list)
    departures: Annotated[list[Clock], Field(max_length=MAX_DEPARTURES)] = Field(default_factory=list)
    early_service: EarlyService | None = None
    times: list[tuple[CallOffset, CallOffset]] | None = None
    """The pattern's own timing in this direction: [arrival, departure] in seconds after the departure
    from its first stop, at each of its stops in travel order (the first [0, 0], the last arrival
    twice). When given, the line's run_s and dwells do not apply: every train of this timetable keeps
    these times to the second (a feed's trains with their own timing profile)."""

    @model_validator(mode="after")
    def _times(self) -> TimetableSpec:
        if self.times is not None:
            if len(self.times) < 2 or tuple(self.times[0]) != (0.0, 0.0):
                raise ValueError("'times' needs a [0, 0] first stop and at least one more")
            flat = [t for call in self.times for t in call]
            if any(b < a for a, b in zip(flat, flat[1:])):
                raise ValueError("'times' must not run backwards (arrival after the previous departure, "
                                 "departure at or after arrival)")
            if self.times[-1][1] != self.times[-1][0]:
                raise ValueError("the last stop's departure in 'times' must equal its arrival")
        return self

    @model_validator(mode="after")
    def _one_form(self) -> TimetableSpec:
        if self.departures and (self.headways or self.first is not None or self.last is not None):
            raise ValueError("give either 'departures' or 'first'/'last'/'headways', not both")
        if not self.departures:
            if self.first is None or self.last is None or not self.headways:
                raise ValueError("needs 'first', 'last' and 'headways' (or a 'departures' list)")
            if self.last < self.first:
                raise ValueError("'last' is before 'first'")
            starts = [b.start for b in self.headways]
            if starts != sorted(starts):
                raise ValueError("headway bands must be in time order")
            if starts[0] > self.first:
                raise ValueError("the first headway band must start at or before 'first'")
            since = min(self.first, self.early_service.start) if self.early_service else self.first
            most = (self.last - since) / min(b.headway_s for b in self.headways) + 1
            if most > MAX_DEPARTURES:
                raise ValueError(f"its headways give up to {most:,.0f} departures, more than the {MAX_DEPARTURES:,} "
                                 "one timetable may have")
        elif self.early_service is not None:
            raise ValueError("'early_service' needs 'first' and 'headways' (not a 'departures' list)")
        twice = sorted(t for t, n in Counter(round(t) for t in self.departures).items() if n > 1)
        if twice:  # trains leave at whole seconds: two at one time would be one train
            raise ValueError(f"'departures' lists {', '.join(format_time(t) for t in twice[:5])} more than once")
        return self


class PatternSpec(Strict):
    """A service pattern: the stations a train calls at, in order, and its timetable.

    `stops` lists the first and last station and any via stations needed to pick a branch; the
    stations in between are filled in from the line's branches. `skip` names stations passed
    without stopping (express). Direction `forward` runs as written, `backward` reversed.
    """

    id: Id
    stops: Annotated[list[Id], Field(min_length=2)]
    skip: list[Id] = Field(default_factory=list)
    runs_onto: list[Id] = Field(default_factory=list)
    """Other lines this pattern's trains run on (through-running), joined to this line's track by
    the network's `track_links`: `stops` may then name their stations, and the trains call at their
    platforms, shared with those lines' own trains."""
    capacity: Capacity | None = None
    timetable: dict[Literal["forward", "backward"], TimetableSpec]
    source: Text | None = None


class LineOperations(Strict):
    """How the line's trains run when the scenario's operations are `dynamic`.

    Dwell at a call = max(scheduled dwell, door_time_s + (alightings * alighting_s + boardings *
    boarding_s) / door_channels, the flow part times crowded_factor when the standing density
    on board exceeds crowded_density_p_m2), at most max(scheduled dwell, max_dwell_s), in whole
    seconds. Trains on one track keep min_headway_s apart at every station (arrivals and
    departures) and keep their order except at `passing_tracks` stations; a late train runs each
    section up to running_recovery (a fraction of the scheduled run time) faster."""

    door_channels: Annotated[Int, Field(ge=1, le=200)]
    """Door channels along one side of a train (doors per side times streams per door)."""
    door_time_s: Duration
    """Door opening, closing and warning time per stop (s)."""
    boarding_s: Annotated[Real, Field(ge=0, le=60)]
    """Passenger flow time per boarding passenger per door channel (s)."""
    alighting_s: Annotated[Real, Field(ge=0, le=60)]
    """Passenger flow time per alighting passenger per door channel (s)."""
    crowded_density_p_m2: Annotated[Real, Field(gt=0, le=100)] = 4.0
    crowded_factor: Annotated[Real, Field(ge=1.0, le=10.0)] = 1.0
    max_dwell_s: PosDuration = 120.0
    seats: Annotated[Int, Field(ge=0, le=MAX_CAPACITY)]
    """Seats per train."""
    standing_area_m2: Annotated[Real, Field(gt=0, le=10_000)]
    """Standing floor area per train (m2)."""
    min_headway_s: Duration = 0.0
    running_recovery: Annotated[Real, Field(ge=0.0, le=0.5)] = 0.0
    passing_tracks: list[Id] = Field(default_factory=list)
    """Stations where a train may pass another (a second track at the platform)."""


class ReservationSpec(Strict):
    """Seats sold train by train, as on China's national railways: every rider of the line holds a
    ticket for one train, from their boarding to their alighting station, and boards that train only.
    A train sells `seats` seats and then `standing` standing tickets on every section between two
    stops; a rider finds a ticket on the first train that has one for their whole ride.

    Riders who bought before the day (`advance_share` of the line's riders) booked, in a random order,
    the first train whose gates close at least `booking_margin_s` after they expect to reach the
    platform (their own walks and service times, scheduled trains before, no queues). The others buy
    on the platform: their purchase is made when the gates of the next train they can reach close.
    A rider who misses the train of their ticket buys again for a later one (the seat they held rides
    empty)."""

    seats: Annotated[Int, Field(ge=0, le=MAX_CAPACITY)]
    """Seats sold per train (persons)."""
    standing: Annotated[Int, Field(ge=0, le=MAX_CAPACITY)] = 0
    """Standing tickets (无座) sold per train once its seats are sold, per section (persons)."""
    held_by_others: Annotated[Real, Field(ge=0.0, lt=1.0)] = 0.0
    """Share of every train's seats and standing tickets sold to riders the model does not carry
    (through passengers from beyond the network, travellers other than the demand's): the model's
    riders buy from the rest (rounded down)."""
    advance_share: Annotated[Real, Field(ge=0.0, le=1.0)] = 1.0
    """Share of riders holding a ticket bought before the day (0..1)."""
    booking_margin_s: Duration = 600.0
    """Riders booking in advance choose a train whose gates close at least this long after they
    expect to reach the platform (s)."""

    def for_riders(self) -> tuple[int, int]:
        """Seats and standing tickets a train sells to the model's riders: what is left after the
        share held by others, rounded down."""
        rest = 1.0 - self.held_by_others
        return math.floor(self.seats * rest), math.floor(self.standing * rest)


class LineSpec(Strict):
    id: Id
    operator: Id
    name: Name
    name_zh: Name | None = None
    short_name: Name | None = None
    """The name riders know it by (GTFS route_short_name, e.g. 11); default: its id."""
    route_type: Annotated[Int, Field(ge=0, le=1702)] = 1
    """Its mode as GTFS route_type: 1 metro (default), 2 rail, 0 tram, 12 monorail, ..."""
    color: Annotated[str, Field(pattern=r"^#[0-9A-Fa-f]{6}$")] = "#444444"
    branches: dict[Id, Annotated[list[tuple[Id, Km]], Field(min_length=2)]]
    """Named runs of consecutive stations, each as [station_id, km post]; branches meet at shared
    stations (which carry the same km post)."""
    speed_profile: SpeedProfile
    run_s: dict[Ref, RunTime] = Field(default_factory=dict)
    """Run-time overrides per segment 'a>b' (seconds, both directions), replacing the profile."""
    dwell_s: Duration = 30.0
    dwell_s_at: dict[Id, Duration] = Field(default_factory=dict)
    capacity: Capacity
    """Persons per train (seated + standing), unless a pattern says otherwise."""
    patterns: Annotated[list[PatternSpec], Field(min_length=1)]
    operations: LineOperations | None = None
    """Dwell from passenger flows, separation and recovery in dynamic operations (none: scheduled
    dwell, no separation, no recovery)."""
    reservations: ReservationSpec | None = None
    """Reserved seats: riders hold a ticket for one train (none: they board any train with room)."""
    source: Text | None = None


class InterchangePath(Strict):
    name: Id
    media: list[Id] | None = None
    """Media allowed on this path (all when absent)."""
    steps: list[Step]


class FareLine(Strict):
    """The layout of a transfer across a fare line between two operators' stations, from which the
    interchange policy builds its paths. Facility references as in interchange paths
    (`from.<name>`, `to.<name>`, `<station_id>.<name>`)."""

    walk_before_s: Duration
    """Walk (s) from the platform left to the fare line."""
    walk_after_s: Duration
    """Walk (s) from the fare line to the platform entered."""
    exit_gates: Ref
    """Gates passed when leaving the first operator's paid area."""
    entry_gates: Ref
    """Gates passed when entering the second operator's paid area."""
    ticket_machines: Ref | None = None
    """Where media that need a ticket buy one for the second operator."""
    security: Ref
    """The security check used when the receiving side re-screens transfer passengers."""


class InterchangePolicy(Strict):
    """The interconnection switches of an interchange across a fare line.

    security: `trust` (the receiving side trusts the other's screening: no check) or `rescreen`.
    seamless_media: the media that cross without leaving the paid area (ticket recognition and
    payment compatibility), or `all`; holders of any other medium exit through the gates and
    re-enter (single-journey ticket holders buy a second ticket)."""

    security: Literal["trust", "rescreen"] = "trust"
    seamless_media: Literal["all"] | list[Id] = Field(default_factory=list)


class InterchangeSpec(Strict):
    """A transfer between two stations (of the same or different operators): explicit `paths`, or
    a `fare_line` layout whose paths follow from the interchange's `policy`."""

    id: Id
    stations: Annotated[list[Id], Field(min_length=2, max_length=2)]
    bidirectional: Flag = True
    paths: list[InterchangePath] = Field(default_factory=list)
    fare_line: FareLine | None = None
    policy: InterchangePolicy | None = None
    source: Text | None = None

    @model_validator(mode="after")
    def _one_form(self) -> InterchangeSpec:
        if self.fare_line is None:
            if not self.paths:
                raise ValueError("needs 'paths', or a 'fare_line' layout with a 'policy'")
            if self.policy is not None:
                raise ValueError("'policy' needs a 'fare_line' layout (explicit 'paths' are used as written)")
        elif self.paths:
            raise ValueError("give either 'paths' or 'fare_line', not both")
        return self


class FareRule(Strict):
    """Fare integration between operators: how a trip that rides two or more of `operators` in a
    row (consecutive sections) is charged, and how its fare is shared out.

    policy `separate`: each operator's section at its own tariff (as without a rule).
    `through`: one fare for the whole run of sections, by the tariff of operator `through_tariff`
    (or by `through_fare`) on the total km. `discount`: the sum of the sections' fares less
    `discount_cny` per change of operator, never below the dearest section's fare.
    clearing (`through` and `discount`): `km_share` (each operator in proportion to its km) or
    `standalone_share` (in proportion to what its section alone would cost). `media`: the media
    the rule applies to (all when absent)."""

    id: Id
    operators: Annotated[list[Id], Field(min_length=2)]
    policy: Literal["separate", "through", "discount"] = "separate"
    through_tariff: Id | None = None
    through_fare: FareSpec | None = None
    discount_cny: Cny = 0.0
    clearing: Literal["km_share", "standalone_share"] = "km_share"
    media: list[Id] | None = None
    source: Text | None = None

    @model_validator(mode="after")
    def _complete(self) -> FareRule:
        if self.policy == "through" and (self.through_tariff is None) == (self.through_fare is None):
            raise ValueError("policy 'through' needs exactly one of 'through_tariff' or 'through_fare'")
        if len(set(self.operators)) != len(self.operators):
            raise ValueError("'operators' lists an operator twice")
        return self


class CoordinationRule(Strict):
    """Timetable coordination (management interconnection) of one transfer flow.

    Trains of the `feeders` services arrive at station `from`; passengers walk to station `to`
    (the same station for a same-station change) and board the `receiver` service. With mode
    `coordinated`, all departures of the receiver are shifted by one offset in [0, its longest
    headway) chosen to minimise the mean wait of passengers from feeder trains arriving within
    `window`, given that they should reach the platform `target_slack_s` before departure. Services
    are named `<line>.<pattern>.<direction>` (direction forward or backward)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    id: Id
    mode: Literal["independent", "coordinated"] = "independent"
    feeders: Annotated[list[Ref], Field(min_length=1)]
    receiver: Ref
    shift_with: list[Ref] = Field(default_factory=list)
    """Other services shifted by the same offset (e.g. the other branch of a Y-shaped line, so
    that trains keep their spacing on the shared track)."""
    from_: Id = Field(alias="from")
    to: Id
    window: Window
    target_slack_s: Duration = 60.0
    medium: Id | None = None
    """Whose transfer path sets the walking time (default: the quickest path)."""
    method: Literal["planned_wait", "simulation"] = "planned_wait"
    """How `coordinated` chooses the offset: `planned_wait` (the offset with the least mean planned
    transfer wait, from the timetables alone) or `simulation` (each of `candidates_s` run on the
    whole scenario with the same commuters; the offset with the least mean generalised cost of the
    commuters riding the shifted services, queues and denied boardings included)."""
    candidates_s: list[Annotated[Real, Field(ge=0, le=HOUR_S)]] | None = None
    """Offsets (s) tried by `simulation` (default: every whole minute below the receiver's longest
    headway)."""
    offset_s: Annotated[Real, Field(ge=0, le=HOUR_S)] | None = None
    """A fixed offset (s) for `coordinated`, chosen by hand: no search."""
    source: Text | None = None


class TrackLinkSpec(Strict):
    """A track connecting two lines at two stations (one on each), over which through-running
    patterns (`runs_onto`) pass. Its km are charged by `operator`'s tariff."""

    id: Id
    between: tuple[Id, Id]
    km: Km
    run_s: RunTime | None = None
    """Run time over the link (s); default: the running line's speed profile over `km`."""
    operator: Id
    source: Text | None = None


class GtfsFeedSpec(Strict):
    """A GTFS feed whose operators, stations and lines join this file's (see sim/gtfs/): `feed` a zip
    or folder (relative to this file), on service `date` (YYYYMMDD; default: its date with the most
    trips), for some `agencies` (ids or names) and `routes` (ids or short names; default: every rail
    route). This file's items take precedence over the feed's of the same id."""

    feed: FilePath
    date: str | None = None
    agencies: list[Name] | None = None
    routes: list[Name] | None = None

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, value: object) -> object:
        text = str(value) if type(value) is int else value
        if text is not None and not (isinstance(text, str) and len(text) == 8 and text.isdigit()):
            raise ValueError("expected a service date as YYYYMMDD, e.g. 20250301")
        return text


class NetworkFile(Strict):
    schema_version: Annotated[Literal[1], NUMBER] = 1
    name: Id | None = None
    description: Text | None = None
    include: list[FilePath] = Field(default_factory=list)
    gtfs: list[GtfsFeedSpec] = Field(default_factory=list)
    """GTFS feeds imported into this network (see GtfsFeedSpec)."""
    notes: list[Text] = Field(default_factory=list)
    """What an import chose or could not keep (the service day first): repeated as a warning in
    every run on this network."""
    media: dict[Id, MediumSpec] = Field(default_factory=dict)
    operators: list[OperatorSpec] = Field(default_factory=list)
    stations: list[StationSpec] = Field(default_factory=list)
    lines: list[LineSpec] = Field(default_factory=list)
    interchanges: list[InterchangeSpec] = Field(default_factory=list)
    fare_integration: list[FareRule] = Field(default_factory=list)
    coordination: list[CoordinationRule] = Field(default_factory=list)
    track_links: list[TrackLinkSpec] = Field(default_factory=list)


# --------------------------------------------------------------------------------------------------
# Scenario file


class ProfileSpec(Strict):
    """Departure-time density: piecewise linear through [time, relative density] points."""

    points: Annotated[list[tuple[Clock, Weight]], Field(min_length=2)]

    @model_validator(mode="after")
    def _ordered(self) -> ProfileSpec:
        times = [t for t, _ in self.points]
        if any(b <= a for a, b in zip(times, times[1:])):
            raise ValueError("profile points must have strictly increasing times")
        if sum(d for _, d in self.points) <= 0:
            raise ValueError("profile density must be positive somewhere")
        return self


class StationSelector(Strict):
    """A set of stations with weights: those of `operators` / `lines` / `stations` (all when none
    is given), weighted by `weights` (default `default_weight`)."""

    operators: list[Id] = Field(default_factory=list)
    lines: list[Id] = Field(default_factory=list)
    stations: list[Id] = Field(default_factory=list)
    weights: dict[Id, Weight] = Field(default_factory=dict)
    default_weight: Weight = 1.0

    @field_validator("operators", "lines", "stations")
    @classmethod
    def _not_empty(cls, ids: list[str], info: ValidationInfo) -> list[str]:
        if not ids:  # it would select every station, not none: never what an empty list says
            raise ValueError(f"an empty list selects every station, as leaving '{info.field_name}' out does; leave "
                             f"it out, or name at least one of the {info.field_name}")
        return ids


class GeneratorSpec(Strict):
    """Gravity-type OD generator: weight(o, d) = w_o * w_d * exp(-decay * km(o, d)), km straight-line."""

    origins: StationSelector = Field(default_factory=StationSelector)
    destinations: StationSelector = Field(default_factory=StationSelector)
    distance_decay_per_km: Annotated[Real, Field(ge=0, le=100)] = 0.0
    min_km: Km = 0.0
    """OD pairs closer than this (straight-line km) get no trips."""


class ZoneSelector(Strict):
    """A set of zones with weights: those of `zones` (all when absent), each weighted by its
    `by` attribute (population or jobs, from the zones file; `equal`: 1 each; default: population
    for origins, jobs for destinations) times `weights` (default 1)."""

    zones: Annotated[list[Id], Field(min_length=1)] | None = None
    by: Literal["population", "jobs", "equal"] | None = None
    weights: dict[Id, Weight] = Field(default_factory=dict)


class ZoneGeneratorSpec(Strict):
    """Gravity-type generator between zones: weight(o, d) = w_o * w_d * exp(-decay * km(o, d)), km
    straight-line between the zones' centres; origins weighted by population and destinations by
    jobs unless their `by` says otherwise. Each commuter then chooses a mode and, by rail, the
    stations (demand.zones)."""

    origins: ZoneSelector = Field(default_factory=ZoneSelector)
    destinations: ZoneSelector = Field(default_factory=ZoneSelector)
    distance_decay_per_km: Annotated[Real, Field(ge=0, le=100)] = 0.0
    min_km: Km = 0.0
    """Zone pairs closer than this (straight-line km) get no trips."""


class TourSpec(Strict):
    """Each commuter of a segment makes a tour: the outbound journey, then a return journey from its
    destination to its origin. The return leaves after a stay at the destination (h: normal with
    `mean_h` and `sd_h`, at least `min_h`) from the outbound journey's expected arrival (its start
    plus its expected travel time by its cheapest route), at the period's end at the latest, and
    never before the outbound journey arrived: a return planned earlier starts when it arrives (the
    run is repeated with those starts; summary.json `tours`)."""

    mean_h: Annotated[Real, Field(gt=0, le=24)]
    sd_h: Annotated[Real, Field(ge=0, le=24)] = 0.0
    min_h: Annotated[Real, Field(ge=0, le=24)] = 0.0

    @model_validator(mode="after")
    def _min_below_mean(self) -> TourSpec:
        if self.min_h > self.mean_h:
            raise ValueError("'min_h' must not exceed 'mean_h'")
        return self


def _sum_text(total: float) -> str:
    return f"{total:.10g}"


class SegmentSpec(Strict):
    """A demand segment: a share of demand.total with its own OD pattern, profile and media.

    `share` is read as demand.segment_shares says: a fraction of the total (the segments' shares
    add up to 1) or a weight (each segment gets share / (sum of shares) of the total)."""

    name: Id
    share: Annotated[Weight, Field(gt=0)]
    """The segment's part of demand.total: a fraction, or a weight (see DemandSpec.segment_shares)."""
    generator: GeneratorSpec | None = None
    od_table: FilePath | None = None
    """CSV with columns origin, destination, weight (path relative to the scenario file)."""
    zones: ZoneGeneratorSpec | None = None
    """Trips between zones (demand.zones), whose commuters choose a mode and stations."""
    tour: TourSpec | None = None
    """Each commuter also travels back (see TourSpec); one-way journeys when absent."""
    profile: Id
    payment: dict[Id, Annotated[Real, Field(ge=0, le=1)]]
    """Payment-medium shares: the fraction of the segment's commuters paying with each medium; they
    must add up to 1 (within 1e-6). A medium not listed is not used."""

    @field_validator("payment")
    @classmethod
    def _payment_adds_up_to_one(cls, payment: dict[str, float]) -> dict[str, float]:
        total = sum(payment.values())
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise ValueError(f"payment shares must add up to 1 (they add up to {_sum_text(total)})")
        return payment

    @model_validator(mode="after")
    def _one_source(self) -> SegmentSpec:
        if sum(x is not None for x in (self.generator, self.od_table, self.zones)) != 1:
            raise ValueError("give exactly one of 'generator', 'od_table' or 'zones'")
        return self

    @model_validator(mode="after")
    def _tours_at_stations(self) -> SegmentSpec:
        if self.tour is not None and self.zones is not None:
            raise ValueError("'tour' is not offered yet for commuters drawn between zones (their return would "
                             "need the mode and stations of their outbound journey): give the segment a "
                             "'generator' or 'od_table', or leave 'tour' out")
        return self


class GroupSpec(Strict):
    """A named OD group reported separately: trips from any station of `from_` to any of `to`
    (and back, when `both_ways`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    from_: StationSelector = Field(alias="from")
    to: StationSelector
    both_ways: Flag = True


class WalkingSpec(Strict):
    """Walking speeds of the commuters (m/s): normal with `speed_mean_m_s` and `speed_sd_m_s`,
    truncated to [`speed_min_m_s`, `speed_max_m_s`]; each commuter keeps one speed all trip, and
    the network's walk times are those of the mean walker (see sim.walking). Defaults: Weidmann
    (1993), Transporttechnik der Fussgaenger, Schriftenreihe des IVT Nr. 90, ETH Zuerich: free
    walking speed 1.34 m/s, standard deviation 0.26 m/s; the bounds keep out speeds no commuter
    walks at (ASSUMPTION)."""

    speed_mean_m_s: Annotated[Real, Field(gt=0.2, le=3.0)] = 1.34
    speed_sd_m_s: Annotated[Real, Field(gt=0.0, le=1.0)] = 0.26
    speed_min_m_s: Annotated[Real, Field(gt=0.1, le=3.0)] = 0.6
    speed_max_m_s: Annotated[Real, Field(gt=0.1, le=4.0)] = 2.4

    @model_validator(mode="after")
    def _bounds(self) -> WalkingSpec:
        if not self.speed_min_m_s < self.speed_mean_m_s < self.speed_max_m_s:
            raise ValueError("expected speed_min_m_s < speed_mean_m_s < speed_max_m_s")
        return self


class AccessModeSpec(Strict):
    """A way between a zone's centre and a station entrance: `speed_kmh` over the straight-line km
    times `detour_factor`, up to `max_km` (straight-line), after `wait_s` (a feeder bus's wait, a
    bicycle's unlocking and parking) and for `fare_cny`. Its moving time counts `time_weight` times
    in the generalised cost (default: routing.walk_weight), its wait routing.wait_weight times."""

    speed_kmh: Annotated[Real, Field(gt=0, le=200)]
    detour_factor: Annotated[Real, Field(ge=1, le=5)] = 1.3
    max_km: Annotated[Real, Field(gt=0, le=100)]
    wait_s: Duration = 0.0
    fare_cny: Cny = 0.0
    time_weight: Annotated[Real, Field(gt=0, le=100)] | None = None


class ZoneAccessSpec(Strict):
    """How a zone's commuters reach stations (and leave them at the other end): the
    `stations_per_zone` cheapest stations within reach, each by the modes given (walk, bike,
    feeder_bus) within their reach, chosen by the logit of route choice (the station's cost is
    their logsum). Defaults are ASSUMPTIONS: walking at Weidmann's 1.34 m/s (4.8 km/h, see
    demand.walking); a bicycle (shared bicycles at most stations) at 12 km/h with 2 min to unlock
    and park, 1.5 CNY; a feeder bus at 15 km/h with a 5 min wait (half a 10 min headway), 2 CNY
    (Shanghai's flat bus fare); street detour factors 1.3 (1.4 by bus)."""

    stations_per_zone: Annotated[Int, Field(ge=1, le=10)] = 3
    walk: AccessModeSpec | None = AccessModeSpec(speed_kmh=4.8, max_km=2.0)
    bike: AccessModeSpec | None = AccessModeSpec(speed_kmh=12.0, max_km=5.0, wait_s=120.0, fare_cny=1.5)
    feeder_bus: AccessModeSpec | None = AccessModeSpec(speed_kmh=15.0, detour_factor=1.4, max_km=10.0, wait_s=300.0,
                                                       fare_cny=2.0, time_weight=1.0)

    @model_validator(mode="after")
    def _some_mode(self) -> ZoneAccessSpec:
        if self.walk is None and self.bike is None and self.feeder_bus is None:
            raise ValueError("give at least one of 'walk', 'bike' or 'feeder_bus'")
        return self


class RoadModeSpec(Strict):
    """A door-to-door mode beside rail: `speed_kmh` over the straight-line km between the zones'
    centres times `detour_factor` (in-vehicle time), plus `walk_s` at the ends (walk weight) and
    `wait_s` (wait weight); money `fixed_cny` (tolls, a flat fare) plus `per_km_cny` of the road
    km (fuel, a distance fare), and by car the destination zone's `parking_cny`, over the value of
    time; `constant_s` a mode constant in
    seconds of generalised cost (what the costs leave out: comfort, reliability, habit). Only for
    zone pairs up to `max_km` apart (straight-line), and for the share `available_share` of
    commuters (a car in the household)."""

    speed_kmh: Annotated[Real, Field(gt=0, le=200)]
    detour_factor: Annotated[Real, Field(ge=1, le=5)] = 1.3
    walk_s: Duration = 0.0
    wait_s: Duration = 0.0
    fixed_cny: Cny = 0.0
    per_km_cny: Cny = 0.0
    constant_s: Annotated[Real, Field(ge=-4 * HOUR_S, le=4 * HOUR_S)] = 0.0
    max_km: Annotated[Real, Field(gt=0, le=MAX_KM)] = MAX_KM
    available_share: Annotated[Real, Field(ge=0, le=1)] = 1.0


class DepartureTimeSpec(Strict):
    """Departure-time choice against schedule delay (Small 1982). Each commuter keeps a preferred
    arrival time: their drawn start plus their route's expected travel time with no queue. They
    may leave up to `window_s` earlier or later, in steps of `bin_s`, and choose by a logit (scale
    `theta_per_min`, 1/min) on the cost T + early_weight * (time arriving early) + late_weight *
    (time arriving late) (s), within the period. T is the travel time of their route for a
    departure at that time, measured in the runs so far (sim.departure_choice). The simulation and
    the choice alternate `iterations` times; a bottleneck of 1,200 commuters settles in about 100
    (tests/analytical/test_departure_time.py). Defaults: Small (1982),
    "The scheduling of consumer activities: work trips", American Economic Review 72(3), 467-479, as
    tabulated by Arnott, de Palma and Lindsey (1993), American Economic Review 83(1), 161-179: alpha
    6.4, beta 3.9, gamma 15.21 USD/h, so early 0.61 and late 2.38 times travel time."""

    early_weight: Annotated[Real, Field(ge=0, le=10)] = 0.61
    late_weight: Annotated[Real, Field(ge=0, le=20)] = 2.38
    window_s: Annotated[Real, Field(gt=0, le=4 * HOUR_S)] = 3600.0
    bin_s: Annotated[Real, Field(ge=10, le=HOUR_S)] = 300.0
    theta_per_min: Annotated[Real, Field(gt=0, le=100)] = 0.5
    iterations: Annotated[Int, Field(ge=2, le=500)] = 50


class ZoneGroupSpec(Strict):
    """Commuters between zones reported together in `mode_choice`: from any zone of `from_` to any
    of `to` (and back, when `both_ways`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    from_: Annotated[list[Id], Field(min_length=1)] = Field(alias="from")
    to: Annotated[list[Id], Field(min_length=1)]
    both_ways: Flag = False


class TripMakingSpec(Strict):
    """Demand that responds in volume: each commuter drawn between zones is a potential trip, made
    with probability 1 / (1 + exp(theta (S - threshold))), S the composite cost of travelling (the
    mode choice's logsum, min). This is the binary logit of travelling or not with a choice of mode
    nested below it (Sheffi, Y., 1985, "Urban Transportation Networks", Prentice-Hall, ch. 6
    "Equilibrium with variable demand", the logit demand function), so `theta_per_min` may not
    exceed the mode choice's. Cheaper travel between two zones raises its trips: the new trips."""

    threshold_min: Annotated[Real, Field(ge=0, le=1000)]
    theta_per_min: Annotated[Real, Field(gt=0, le=100)]


class ZonesSpec(Strict):
    """Zones (`file`: ids, centres, population and jobs; paths relative to the scenario file) and
    the choice of their commuters: a nested logit with scale `theta_per_min` (1/min of generalised
    cost) between rail (a nest of every pair of a station near the origin and one near the
    destination, with scale `rail_nest_scale`) and the road modes (`car`, `bus`; absent: not
    offered). A station pair's rail cost is its access, its egress and the logsum of its
    candidate routes at route choice's scale; it needs theta_per_min / rail_nest_scale <=
    routing.logit_scale_per_min (station pairs compete more than modes, routes more than
    station pairs)."""

    file: FilePath | Annotated[list[FilePath], Field(min_length=1)]
    """A zones file, or several whose zones are taken together (ids unique across them)."""
    access: ZoneAccessSpec = ZoneAccessSpec()
    car: RoadModeSpec | None = None
    bus: RoadModeSpec | None = None
    theta_per_min: Annotated[Real, Field(gt=0, le=100)] = 0.1
    rail_nest_scale: Annotated[Real, Field(gt=0, le=1)] = 0.5
    trip_making: TripMakingSpec | None = None
    """Whether each commuter travels at all (see TripMakingSpec); everyone travels when absent."""
    groups: dict[Id, ZoneGroupSpec] = Field(default_factory=dict)
    """Named groups of zone pairs whose choices `mode_choice` reports apart."""

    @model_validator(mode="after")
    def _trip_making_nests(self) -> ZonesSpec:
        if self.trip_making is not None and self.trip_making.theta_per_min > self.theta_per_min * (1 + 1e-9):
            raise ValueError(f"trip_making.theta_per_min ({self.trip_making.theta_per_min:g}) must not exceed "
                             f"theta_per_min ({self.theta_per_min:g}): travelling or not may not compete more than "
                             "the modes (the nested logit would not be consistent)")
        return self


class DemandSpec(Strict):
    """`total` commuters, split over the `segments` by their shares (largest remainder).

    segment_shares: `fractions` (default): each segment's `share` is its fraction of the total, and
    the shares must add up to 1 (within 1e-6). `weights`: shares are relative weights, normalised
    over the segments (e.g. thousands of commuters: each segment gets share / (sum of shares) of the
    total)."""

    total: Annotated[Int, Field(ge=0, le=MAX_COMMUTERS)]
    profiles: dict[Id, ProfileSpec]
    segment_shares: Literal["fractions", "weights"] = "fractions"
    """How the segments' `share` values are read: fractions that add up to 1, or weights."""
    segments: Annotated[list[SegmentSpec], Field(min_length=1)]
    groups: dict[Id, GroupSpec] = Field(default_factory=dict)
    walking: WalkingSpec | None = None
    """Walking speeds that differ between commuters (off when absent: everyone walks each walk in
    the network's time)."""
    zones: ZonesSpec | None = None
    """Zones and the choice of mode and stations of the segments drawn between them."""
    departure_time: DepartureTimeSpec | None = None
    """Departure-time choice against schedule delay (off when absent)."""

    @model_validator(mode="after")
    def _zones_for_zone_segments(self) -> DemandSpec:
        if self.zones is None and any(seg.zones is not None for seg in self.segments):
            raise ValueError("segments drawn between zones need demand.zones (the zones file and their choice)")
        return self

    @model_validator(mode="after")
    def _tours_alone(self) -> DemandSpec:
        if any(seg.tour is not None for seg in self.segments):
            if self.departure_time is not None:
                raise ValueError("segments with 'tour' and departure_time cannot run together yet (a return's "
                                 "start follows its outbound journey): leave one out")
            if any(seg.zones is not None for seg in self.segments):
                raise ValueError("segments with 'tour' cannot yet run beside segments drawn between zones "
                                 "(the mode choice reorders the commuters a tour pairs): leave one out")
        return self

    @field_validator("segments")
    @classmethod
    def _fractions_add_up_to_one(cls, segments: list[SegmentSpec], info: ValidationInfo) -> list[SegmentSpec]:
        if info.data.get("segment_shares") != "fractions":  # weights, or an invalid value reported on its own
            return segments
        total = sum(seg.share for seg in segments)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise ValueError(f"segment shares must add up to 1 (they add up to {_sum_text(total)}); to give them "
                             "as weights that are normalised, set demand.segment_shares: weights")
        return segments


class CrowdingSpec(Strict):
    """Crowding in route choice: in-vehicle time weighted by how full the trains are (seated and
    standing multipliers; Wardman & Whelan 2011, Transport Reviews 31(3), averages over British
    studies: 1.19 seated, 2.32 standing) plus the extra wait full trains cause; route choice and
    simulation alternate, the crowding costs averaged over the runs (method of successive averages),
    until, after a run, fewer than `tolerance` of the commuters would change route (that run is the
    result), or for `max_iterations` runs."""

    seated_multiplier: Annotated[Real, Field(ge=1.0, le=5.0)] = 1.19
    standing_multiplier: Annotated[Real, Field(ge=1.0, le=10.0)] = 2.32
    max_iterations: Annotated[Int, Field(ge=1, le=50)] = 2
    tolerance: Annotated[Real, Field(ge=0.0, le=1.0)] = 0.005


class OutsideOptionSpec(Strict):
    """Leaving the rail network on the way (a taxi by default), from the station where the commuter
    stands to their destination, priced by the same generalised cost as the rail alternatives:
    `wait_s` as a wait, the ride (straight-line distance times `detour_factor`, at `speed_kmh`) as
    in-vehicle time, and its fare over the value of time: `fare_base_cny` covering `base_km`, then
    `fare_per_km_cny` up to `long_km` and `fare_long_per_km_cny` beyond. Defaults: Shanghai's taxi
    tariff from 15 January 2022 (14 CNY for 3 km, 2.7 CNY/km, 50 % more beyond 15 km; Shanghai
    Daily, 4 January 2022, https://www.shine.cn/news/metro/2201040419/); the wait, speed and
    detour factor are ASSUMPTIONS (Shanghai's expressways averaged 40.7 km/h in the 2019 morning
    peak, Shanghai Comprehensive Transportation annual report; ground roads less)."""

    mode: Id = "taxi"
    wait_s: Annotated[Real, Field(ge=0, le=2 * HOUR_S)] = 300.0
    speed_kmh: Annotated[Real, Field(gt=0, le=200)] = 30.0
    detour_factor: Annotated[Real, Field(ge=1, le=5)] = 1.3
    fare_base_cny: Cny = 14.0
    base_km: Annotated[Real, Field(ge=0, le=1000)] = 3.0
    fare_per_km_cny: Cny = 2.7
    long_km: Annotated[Real, Field(ge=0, le=1000)] = 15.0
    fare_long_per_km_cny: Cny = 4.05


class DecisionsSpec(Strict):
    """Choices on the way, each a switch (all on by default). A re-choice weighs, by the logit of
    route choice, the rest of the planned route, the candidate routes from the station where the
    commuter stands and the outside option, with waits to the next train on the departure board."""

    when_stranded: bool = True
    """When no train still to come can carry a commuter on their planned leg (the last one has gone,
    or none runs), re-choose; with nothing else that can carry them, they leave the network there.
    Off: they wait on the platform to the end of the run."""
    after_denial: bool = True
    """After each denied boarding: wait for the next train or re-choose."""
    fastest_train: bool = True
    """With `real_time` information (on the informed operators): at the platform, let a train go when
    a later one gets the commuter to their alighting station at a lower generalised cost (a later
    express that arrives first)."""
    max_rechoices: Annotated[Int, Field(ge=1, le=20)] = 5
    """Choices after denied boardings or being put off, per commuter (after the last they wait on);
    stranded, a commuter chooses anyway (up to four times as many, then leaves)."""


class RoutingSpec(Strict):
    """Generalised cost (seconds of in-vehicle time) and the logit route choice."""

    wait_weight: Annotated[Real, Field(gt=0, le=100)] = 2.0
    walk_weight: Annotated[Real, Field(gt=0, le=100)] = 2.0
    transfer_penalty_s: Annotated[Real, Field(ge=0, le=2 * HOUR_S)] = 300.0
    value_of_time_cny_per_h: Annotated[Cny, Field(gt=0)] = 40.0
    logit_scale_per_min: Annotated[Real, Field(ge=0, le=100)] = 0.3
    """Logit scale theta in 1/min of generalised cost; 0 makes every candidate equally likely."""
    mode_nest_scale: Annotated[Real, Field(gt=0, le=1)] = 1.0
    """Route choice as a nested logit with the candidates nested by the modes they ride (metro,
    rail, metro+rail, ...): the nest's scale (dissimilarity) mu in (0, 1]; routes of one mode then
    compete more with each other than with another mode's. 1: the multinomial logit."""
    max_transfers: Annotated[Int, Field(ge=0, le=5)] = 3
    cost_band_rel: Annotated[Real, Field(ge=0, le=100)] = 0.3
    cost_band_abs_s: Annotated[Real, Field(ge=0, le=2 * HOUR_S)] = 600.0
    """Candidates cost at most best * (1 + rel) + abs."""
    max_routes: Annotated[Int, Field(ge=1, le=20)] = 5
    information: Literal["expected", "real_time"] = "expected"
    """Information interconnection: choose routes on expected waits (random incidence on the
    timetable of the hour) or, with `real_time`, on the actual next departures of every leg."""
    real_time_operators: list[Id] | None = None
    """With real_time: the operators whose departures commuters know (all when absent); legs on
    other operators are valued at their expected wait."""
    crowding: CrowdingSpec | None = None
    """Crowding in route choice (off when absent)."""
    decisions: DecisionsSpec = DecisionsSpec()
    outside_option: OutsideOptionSpec | None = OutsideOptionSpec()
    """Null: no way out of the rail network but to walk out where stranded."""


class PeriodSpec(Strict):
    """Commuters arrive at their origin in [start, end). KPIs count those starting at or after
    `warm_up_until` (default: start); summary.json also gives the KPIs of everyone."""

    start: Clock
    end: Clock
    warm_up_until: Clock | None = None

    @model_validator(mode="after")
    def _order(self) -> PeriodSpec:
        if self.end <= self.start:
            raise ValueError("'end' must be after 'start'")
        if self.warm_up_until is not None and not self.start <= self.warm_up_until < self.end:
            raise ValueError("'warm_up_until' must be within the period")
        return self

    @property
    def kpi_from(self) -> float:
        return self.start if self.warm_up_until is None else self.warm_up_until


class SimulationSpec(Strict):
    end: Clock | None = None
    """Clock time at which the simulation stops (default: period end + 2 h); commuters still
    travelling then are reported `in_system`."""


Patch = dict[str, Any] | None
"""A merge patch of one network item (null removes it)."""


class NetworkChanges(Strict):
    """Changes to the network by id: each item's fields merge over the network file's (a mapping
    replaces field by field; lists of items with ids, such as a line's `patterns` or an
    interchange's `paths`, take a mapping from id to item; null removes an item; an item not in the
    network is added when it says `add: true`, and an id not in the network without it is an error
    naming the nearest ids)."""

    media: dict[Id, Patch] = Field(default_factory=dict)
    operators: dict[Id, Patch] = Field(default_factory=dict)
    stations: dict[Id, Patch] = Field(default_factory=dict)
    lines: dict[Id, Patch] = Field(default_factory=dict)
    interchanges: dict[Id, Patch] = Field(default_factory=dict)
    fare_integration: dict[Id, Patch] = Field(default_factory=dict)
    coordination: dict[Id, Patch] = Field(default_factory=dict)
    track_links: dict[Id, Patch] = Field(default_factory=dict)


class OperationsSpec(Strict):
    """`timetable`: trains keep exactly to the timetable (dwell fixed, no interaction between
    trains). `dynamic`: dwell grows with passenger flows and trains keep their separation and order
    on shared track (lines' `operations`), so delays propagate."""

    mode: Literal["timetable", "dynamic"] = "dynamic"


class KpiSpec(Strict):
    """Extra KPI windows: `windows: {am_peak: ["07:00", "09:00"]}` gives summary.json
    `windows.am_peak` with every trip KPI of the commuters starting in [from, to) and the load KPIs
    of the train calls departing in it; `peak_hour` (the busiest hour) is always there."""

    windows: dict[Id, tuple[Clock, Clock]] = Field(default_factory=dict)

    @field_validator("windows")
    @classmethod
    def _windows(cls, windows: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for name, (t0, t1) in windows.items():
            if name == "peak_hour":
                raise ValueError("'peak_hour' is the busiest hour, always given; name the window otherwise")
            if t1 <= t0:
                raise ValueError(f"window {name!r}: the end must be after the start")
        return windows


class BusBridgeSpec(Strict):
    """Buses replacing the closed section while it is closed (a line of its own, both ways, with its
    own platforms and boarding queues at the stations it calls at), from `first_after_s` after the
    closure starts to its end, every `headway_s`, `capacity` persons a bus, `run_s` from one end to
    the other (shared among the stops by km), free. Defaults: 90 persons a bus (Shanghai's 2013 Line
    3 relief shuttles carried up to 90: Shanghai Daily); the first bus 15 minutes after the closure
    (the city's transport bureau's promise: Shanghai Daily); a bus every 2 minutes and 60 s stops
    are ASSUMPTIONS."""

    stations: list[Id] | None = None
    """Stations the buses call at, in order (default: every station of the line from one end of the
    section to the other)."""
    headway_s: Annotated[Real, Field(ge=MIN_HEADWAY_S, le=2 * HOUR_S)] = 120.0
    capacity: Capacity = 90
    run_s: Annotated[Real, Field(gt=0, le=4 * HOUR_S)]
    dwell_s: Annotated[Real, Field(ge=0, le=HOUR_S)] = 60.0
    first_after_s: Annotated[Real, Field(ge=0, le=4 * HOUR_S)] = 900.0


class DisruptionSpec(Strict):
    """A section of a line closed from `start` to `end`: the track between the stations `between`
    (both directions; stations inside it are not served). Trains that would run into it in that
    time end their run at the station before it and carry on from the station after it (trains
    turned back on either side); riders aboard for beyond are put off where the train ends and choose
    there (routing.decisions). From `start` on, departure boards show the shortened runs."""

    id: Id
    line: Id
    between: tuple[Id, Id]
    start: Clock
    end: Clock
    bus_bridge: BusBridgeSpec | None = None
    """Buses replacing the section while it is closed (none when absent)."""
    announced: Clock | None = None
    """When the closure becomes known (default `start`, at most `end`): commuters on platforms then,
    and those reaching a platform later while it lasts, whose trains it cuts choose again
    (routing.decisions); commuters starting from then on choose their route knowing of it."""
    expected_end: Clock | None = None
    """The end announced with it (default `end`): until then, choices weigh the trains as if the line
    reopened at `expected_end`. If it is still closed then, the true end is announced: riders on
    platforms whose next train it cuts choose again, and choices from then on weigh the trains that run."""

    @model_validator(mode="after")
    def _order(self) -> DisruptionSpec:
        if self.end <= self.start:
            raise ValueError("'end' must be after 'start'")
        if self.announced is not None and not self.start <= self.announced < self.end:
            raise ValueError("'announced' must be within the closure (from 'start', before 'end')")
        if self.expected_end is not None and self.expected_end <= max(self.start, self.announced or self.start):
            raise ValueError("'expected_end' must be after 'start' and 'announced'")
        if self.bus_bridge is not None and self.start + self.bus_bridge.first_after_s >= self.end:
            raise ValueError("'bus_bridge.first_after_s': the first bus would leave after the closure ends")
        if self.between[0] == self.between[1]:
            raise ValueError("'between' needs two different stations")
        return self


class ZoneSpec(Strict):
    """A zone: a town, subdistrict or grid cell, its centre, residents and jobs (persons). A
    selector weighting zones by a figure needs it on every zone it selects."""

    id: Id
    name: Name
    name_zh: Name | None = None
    lat: Annotated[Real, Field(ge=-90, le=90)]
    lon: Annotated[Real, Field(ge=-180, le=180)]
    population: Weight | None = None
    """Residents (persons); absent where no figure is known."""
    jobs: Weight | None = None
    """Jobs (persons employed there); absent where no figure is known."""
    parking_cny: Cny = 0.0
    """What parking a car there for a working day costs (CNY), paid by those who drive there."""
    source: Text | None = None


class ZoneFile(Strict):
    """A zones file: the zones demand.zones names."""

    schema_version: Annotated[Literal[1], NUMBER] = 1
    name: Id | None = None
    description: Text | None = None
    notes: list[Text] = Field(default_factory=list)
    zones: Annotated[list[ZoneSpec], Field(min_length=1)]

    @field_validator("zones")
    @classmethod
    def _unique_ids(cls, zones: list[ZoneSpec]) -> list[ZoneSpec]:
        twice = sorted(k for k, n in Counter(z.id for z in zones).items() if n > 1)
        if twice:
            raise ValueError(f"zone ids must be unique: {', '.join(twice)} given more than once")
        return zones


class CalibrationParameter(Strict):
    """A number of the scenario to fit: its dotted path (segments by name, e.g.
    `demand.segments.kunshan_to_shanghai.share` or `demand.zones.car.constant_s`), the range it may
    take, and the first trial step (default: 5 % of the range)."""

    path: Ref
    min: Real
    max: Real
    step: Real | None = None

    @model_validator(mode="after")
    def _range(self) -> CalibrationParameter:
        if not self.min < self.max:
            raise ValueError("expected min < max")
        if self.step is not None and not 0 < abs(self.step) <= self.max - self.min:
            raise ValueError("expected a step other than 0, at most max - min")
        return self


class CalibrationCount(Strict):
    """An observed figure and the parameter it sets: `kpi` is its dotted path in summary.json (e.g.
    `interchanges.huaqiao.transfers`, `mode_choice.segments.<name>.mode_shares.car`); a `count`
    of commuters from fitting runs smaller than the scenario's demand is scaled up to it, a `share`
    is not."""

    id: Id
    kpi: Ref
    value: Real
    kind: Literal["count", "share"]
    fits: Id
    """The parameter this count sets (each parameter is set by exactly one count)."""
    source: Text
    """Where the figure comes from: publisher, date, address (and how it was derived)."""


class CalibrationFile(Strict):
    """A calibration: the scenario whose `parameters` are fitted to the observed `counts`, and the
    name of the calibrated scenario written (a variant that extends it). The fitting runs use
    `total` commuters (default the scenario's demand.total) and its seed; they stop when every count
    is matched within `tolerance` (relative), or fail after `max_iterations` runs."""

    schema_version: Annotated[Literal[1], NUMBER] = 1
    name: Id
    description: Text | None = None
    scenario: FilePath
    total: Annotated[Int, Field(ge=1, le=MAX_COMMUTERS)] | None = None
    max_iterations: Annotated[Int, Field(ge=2, le=50)] = 12
    tolerance: Annotated[Real, Field(gt=0, le=0.5)] = 0.01
    parameters: Annotated[dict[Id, CalibrationParameter], Field(min_length=1)]
    counts: Annotated[list[CalibrationCount], Field(min_length=1)]

    @model_validator(mode="after")
    def _one_count_per_parameter(self) -> CalibrationFile:
        fits = Counter(c.fits for c in self.counts)
        ids = Counter(c.id for c in self.counts)
        unknown_fits = sorted(set(fits) - set(self.parameters))
        unset = sorted(set(self.parameters) - set(fits))
        twice = sorted(p for p, n in fits.items() if n > 1)
        mistakes = ([f"counts fit unknown parameters: {', '.join(unknown_fits)} (known: {', '.join(self.parameters)})"]
                    if unknown_fits else [])
        mistakes += ([f"no count identifies the parameters {', '.join(unset)}: give each parameter one count that it "
                      "moves (`fits`)"] if unset else [])
        mistakes += ([f"more than one count fits {', '.join(twice)}: each parameter is set by exactly one count"]
                     if twice else [])
        mistakes += ([f"count ids must be unique: {', '.join(sorted(i for i, n in ids.items() if n > 1))}"]
                     if any(n > 1 for n in ids.values()) else [])
        if mistakes:
            raise ValueError("; ".join(mistakes))
        return self


class ScenarioFile(Strict):
    schema_version: Annotated[Literal[1], NUMBER] = 1
    name: Id
    description: Text | None = None
    network: FilePath
    """Path of the network file, relative to this scenario file."""
    seed: Annotated[Int, Field(ge=0, le=MAX_SEED)] = 0
    period: PeriodSpec
    simulation: SimulationSpec = Field(default_factory=SimulationSpec)
    demand: DemandSpec
    routing: RoutingSpec = Field(default_factory=RoutingSpec)
    changes: NetworkChanges | None = None
    """Changes to the network for this scenario (see NetworkChanges)."""
    operations: OperationsSpec = Field(default_factory=OperationsSpec)
    kpis: KpiSpec = Field(default_factory=KpiSpec)
    disruptions: list[DisruptionSpec] = Field(default_factory=list)
    """Sections of line closed for a time (see DisruptionSpec)."""

    @model_validator(mode="after")
    def _scales_nest(self) -> ScenarioFile:
        z = self.demand.zones
        if z is not None and z.theta_per_min / z.rail_nest_scale > self.routing.logit_scale_per_min * (1 + 1e-9):
            raise ValueError(f"demand.zones.theta_per_min / rail_nest_scale ({z.theta_per_min:g} / "
                             f"{z.rail_nest_scale:g}) must not exceed routing.logit_scale_per_min "
                             f"({self.routing.logit_scale_per_min:g}): station pairs may not compete more than the "
                             "routes between two stations (the nested logit would not be consistent)")
        return self

    @model_validator(mode="after")
    def _one_kind_of_iteration(self) -> ScenarioFile:
        if self.demand.departure_time is not None and self.routing.crowding is not None:
            raise ValueError("demand.departure_time and routing.crowding each repeat the simulation to an "
                             "equilibrium, and cannot run together yet: set routing.crowding: null to choose "
                             "departure times")
        return self
