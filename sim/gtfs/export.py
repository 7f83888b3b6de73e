"""Our network and timetable as a GTFS feed (a zip file).

Operators become agencies (in their time zones), stations parent stations with one platform per line and direction
(`<station>:<line>:<up|down>`), lines routes (their short names and route types), every departure of every pattern a trip (named like
the simulator's trains, `<line>.<pattern>.<direction>@HH:MM:SS`) on one service running every day,
with its stop times (times past 24:00 as GTFS writes them) and shape_dist_traveled in km. A
through-running train is one trip per line it runs on, linked in-seat (transfer_type 4, one
block_id). Transfers: min_transfer_time of the platform walk at stations of several lines, and of
the quickest path of each interchange (walks plus mean service times; GTFS has no facilities,
media or policies). Fares (v1): a zone tariff as its fare classes, the zones on the platforms' zone_id
(named `<operator>:<zone>` when several operators charge by zone); an OD table as zones of one station
each (`<station>`), one fare per price; a flat fare (no distance bands) as a fare without rules; with
each its currency, transfer window and number of changes. Not exported: distance tariffs (GTFS cannot
express them), media factors, fare integration rules, capacities, facilities. What GTFS requires and
the network lacks is documented below.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..fare_tables import OdTable
from ..network import Network, Pattern, path_walk_s
from ..safefs import atomic_write
from ..units import format_time

URL = "https://www.example.com/"
"""agency_url and feed_publisher_url, which GTFS requires and the network does not have (a domain
reserved for examples, so that it is never taken for the operator's address)."""
SERVICE_ID = "daily"

Row = Sequence[str | int | float]
"""A row of a GTFS table, as the csv module writes it."""


def export_feed(network: Network, out_path: str | Path, service_dates: tuple[str, str] | None = None) -> Path:
    """Write `network` as a GTFS zip at `out_path` (written whole or not at all). The timetable runs
    on every day from service_dates[0] to [1] (YYYYMMDD; default: 1 January of this year to 31
    December of the next)."""
    today = dt.date.today()
    start, end = service_dates or (f"{today.year}0101", f"{today.year + 1}1231")
    tables: dict[str, Sequence[Row]] = {
        "agency.txt": _agency(network),
        "stops.txt": _stops(network),
        "routes.txt": [["route_id", "agency_id", "route_short_name", "route_long_name", "route_type", "route_color"]] +
                      [[ln.id, network.operators[ln.operator].id, ln.short_name or ln.id, ln.name, ln.route_type,
                        ln.color.lstrip("#")] for ln in network.lines],
        "calendar.txt": [["service_id", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
                          "start_date", "end_date"], [SERVICE_ID, *[1] * 7, start, end]],
        "feed_info.txt": [["feed_publisher_name", "feed_publisher_url", "feed_lang", "feed_start_date", "feed_end_date",
                           "feed_version", "feed_contact_url"],
                          [f"yrd-sim ({network.name})", URL, "en", start, end, network.name, URL]],
        "translations.txt": [["table_name", "field_name", "language", "translation", "record_id"]] +
                            [["stops", "stop_name", "zh", s.name_zh, s.id] for s in network.stations
                             if s.name_zh != s.name_en],  # a name given in one language only is no translation
    }
    trips, stop_times, in_seat = _trips(network)
    tables["trips.txt"], tables["stop_times.txt"] = trips, stop_times
    tables["transfers.txt"] = _transfers(network) + in_seat
    attributes, rules, zones = _fares(network)
    if len(attributes) > 1:
        tables["fare_attributes.txt"], tables["fare_rules.txt"] = attributes, rules
        tables["stops.txt"] = [[*row, "zone_id" if i == 0 else zones.get(str(row[0]), "")]
                               for i, row in enumerate(tables["stops.txt"])]
    return _write_zip(Path(out_path), tables)


def platform_id(network: Network, platform: int) -> str:
    """A platform's stop_id: `<station>:<line>:<up|down>`."""
    p = network.platforms[platform]
    return f"{network.stations[p.station].id}:{network.lines[p.line].id}:{p.direction}"


def _agency(network: Network) -> Sequence[Row]:
    """The operators that run lines."""
    running = {ln.operator for ln in network.lines}
    return [["agency_id", "agency_name", "agency_url", "agency_timezone"]] + \
        [[op.id, op.name, URL, op.timezone] for op in network.operators if op.index in running]


def _stops(network: Network) -> list[Row]:
    rows: list[Row] = [["stop_id", "stop_name", "stop_lat", "stop_lon", "location_type", "parent_station"]]
    rows += [[s.id, s.name_en, s.lat, s.lon, 1, ""] for s in network.stations]
    called = sorted({k for p in network.patterns for k in p.platforms})
    for k in called:
        s = network.stations[network.platforms[k].station]
        rows.append([platform_id(network, k), s.name_en, s.lat, s.lon, 0, s.id])
    return rows


def _parts(network: Network, p: Pattern, entry: int) -> list[list[int]]:
    """The pattern's stops from `entry` on, split where the train passes onto another line's platforms."""
    parts: list[list[int]] = []
    for i in range(entry, len(p.stops)):
        line = network.platforms[p.platforms[i]].line
        if not parts or network.platforms[p.platforms[parts[-1][-1]]].line != line:
            parts.append([])
        parts[-1].append(i)
    return parts


def _trips(network: Network) -> tuple[list[Row], list[Row], list[Row]]:
    """trips.txt and stop_times.txt rows, and the in-seat transfers of through-running trains."""
    trips: list[Row] = [["route_id", "service_id", "trip_id", "direction_id", "block_id"]]
    times: list[Row] = [["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence", "shape_dist_traveled"]]
    in_seat: list[Row] = []
    for p in network.patterns:
        direction = 0 if p.direction == "up" else 1
        for t0, entry in zip(p.departures, p.entry_of()):
            name = f"{p.id}@{format_time(t0)}"
            parts = _parts(network, p, int(entry))
            ids = [name] if len(parts) == 1 else [f"{name}#{k + 1}" for k in range(len(parts))]
            for tid, part in zip(ids, parts):
                line = network.lines[network.platforms[p.platforms[part[0]]].line]
                trips.append([line.id, SERVICE_ID, tid, direction, name if len(parts) > 1 else ""])
                km0 = p.km[part[0]]
                for seq, i in enumerate(part, start=1):
                    times.append([tid, format_time(t0 + p.arr_offset[i]), format_time(t0 + p.dep_offset[i]),
                                  platform_id(network, p.platforms[i]), seq, round(abs(p.km[i] - km0), 3)])
            for (a, pa), (b, pb) in zip(zip(ids, parts), zip(ids[1:], parts[1:])):
                in_seat.append([platform_id(network, p.platforms[pa[-1]]), platform_id(network, p.platforms[pb[0]]),
                                4, "", a, b])
    return trips, times, in_seat


def _fares(network: Network) -> tuple[list[Row], list[Row], dict[str, str]]:
    """fare_attributes.txt and fare_rules.txt rows of the tariffs GTFS can express (see the module
    docstring), and the zone_id of each platform's stop_id."""
    attributes: list[Row] = [["fare_id", "price", "currency_type", "payment_method", "transfers", "agency_id",
                              "transfer_duration"]]
    rules: list[Row] = [["fare_id", "origin_id", "destination_id", "contains_id"]]
    zones: dict[str, str] = {}
    running = {ln.operator for ln in network.lines}
    zoned = [op for op in network.operators if op.fare.kind == "zones" and op.index in running]
    for op in network.operators:
        fare = op.fare
        if op.index not in running or (fare.kind in ("distance_bands", "per_km") and (fare.bands or fare.kind == "per_km")):
            continue
        zone_name = (lambda z, op=op: f"{op.id}:{z}") if len(zoned) > 1 else (lambda z: z)
        tail: list[str | int | float] = [fare.currency, 1, "" if fare.max_transfers is None else fare.max_transfers, op.id,
                "" if fare.transfer_window_s is None else round(fare.transfer_window_s)]
        platforms = [k for k, pl in enumerate(network.platforms) if network.lines[pl.line].operator == op.index]
        if fare.kind == "distance_bands":
            attributes.append([op.id, fare.base_cny, *tail])
        elif fare.kind == "zones":
            for k in platforms:
                zones[platform_id(network, k)] = zone_name(fare.zone_of[network.stations[network.platforms[k].station].id])
            for c, zf in enumerate(fare.zone_fares):
                fid = f"{op.id}:{zf.id or c + 1}"
                attributes.append([fid, zf.price, *tail])
                rules += [[fid, "" if o is None else zone_name(o), "" if d is None else zone_name(d), ""] for o, d in zf.od]
                rules += [[fid, "", "", zone_name(z)] for z in zf.contains]
        else:  # od_table: a zone per station, a fare per price
            for k in platforms:
                zones[platform_id(network, k)] = network.stations[network.platforms[k].station].id
            table = op.table
            assert isinstance(table, OdTable)  # compiled for kind od_table
            n = table.n_stations
            for price in sorted(set(table.price.tolist())):
                fid = f"{op.id}:{price:g}"
                attributes.append([fid, price, *tail])
                rules += [[fid, network.stations[c // n].id, network.stations[c % n].id, ""]
                          for c, p in zip(table.codes.tolist(), table.price.tolist()) if p == price]
    return attributes, rules, zones


def _transfers(network: Network) -> list[Row]:
    """Platform walks at stations of several lines, and each interchange's quickest path."""
    rows: list[Row] = [["from_stop_id", "to_stop_id", "transfer_type", "min_transfer_time", "from_trip_id", "to_trip_id"]]
    lines_at: dict[int, set[int]] = {}
    for plat in network.platforms:
        lines_at.setdefault(plat.station, set()).add(plat.line)
    for s in network.stations:
        if len(lines_at.get(s.index, ())) > 1:
            rows.append([s.id, s.id, 2, round(s.transfer_walk_s), "", ""])
    for (a, b), paths in sorted(network.transfers.items()):
        quickest = min(path_walk_s(tp.steps, network, needs_ticket=False) for tp in paths)
        rows.append([network.stations[a].id, network.stations[b].id, 2, round(quickest), "", ""])
    return rows


ZIP_COMMENT = b"GTFS feed written by yrd-sim export-gtfs"
"""The archive comment of every feed written here: export-gtfs --force replaces only such a file."""


def written_here(path: Path) -> bool:
    """Whether `path` is a feed this simulator exported (a regular file, not a link, whose archive
    comment is ZIP_COMMENT)."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as z:
            return z.comment == ZIP_COMMENT
    except (OSError, zipfile.BadZipFile):
        return False


def _write_zip(path: Path, tables: Mapping[str, Sequence[Row]]) -> Path:
    """The tables as CSV files in a zip at `path`, replacing it only once complete."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            z.comment = ZIP_COMMENT
            for name, rows in tables.items():
                text = io.StringIO()
                csv.writer(text, lineterminator="\n").writerows(rows)
                z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), text.getvalue(),
                           compress_type=zipfile.ZIP_DEFLATED)

    atomic_write(path, write)
    return path
