"""Zone and origin-destination tariffs compiled against a network's stations: the arrays that price
rides of an operator whose fare is by zone (`ZoneTable`) or by pair of stations (`OdTable`).

A ride here is one fare section (consecutive legs on one operator, charged once; see `fares`),
described by its first boarding station, its last alighting station and the zones of every station
along the track it rode (a bit set: bit z for zone z of the table).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .schema import FareSpec

MAX_ZONES = 63
"""Zones of one tariff, at most: a ride's zones are the bits of one int64."""


@dataclass(frozen=True)
class ZoneTable:
    """A zone tariff: the zone of every station and its fare classes as arrays."""

    zone_ids: tuple[str, ...]
    zone_of: np.ndarray
    """Zone index of each station of the network (-1: none)."""
    price: np.ndarray
    """Price of each fare class."""
    od_ok: np.ndarray
    """[class, origin zone, destination zone]: whether the class applies between the two zones (bool)."""
    contains: np.ndarray
    """Bits of the zones each class requires a ride to enter exactly (-1: any)."""

    def prices(self, board: np.ndarray, alight: np.ndarray, zones: np.ndarray) -> np.ndarray:
        """The cheapest applicable class's price for rides from station `board` to `alight` through
        the zone bits `zones` (NaN where none applies)."""
        oz, dz = self.zone_of[board], self.zone_of[alight]
        out = np.full(len(board), np.inf)
        for c, price in enumerate(self.price.tolist()):
            applies = self.od_ok[c, oz, dz] & ((self.contains[c] < 0) | (zones == self.contains[c]))
            out = np.where(applies, np.minimum(out, price), out)
        return np.where(np.isinf(out), np.nan, out)

    def zone_bits(self, stations: np.ndarray) -> int:
        """The zone bits of a set of stations (those without a zone add none)."""
        z = self.zone_of[np.asarray(stations, dtype=np.int64)]
        return int(np.bitwise_or.reduce(np.left_shift(1, z[z >= 0]), initial=0))


@dataclass(frozen=True)
class OdTable:
    """An origin-destination tariff: the price of each ordered pair of stations."""

    n_stations: int
    codes: np.ndarray
    """origin * n_stations + destination of every priced pair, sorted (int64)."""
    price: np.ndarray

    def prices(self, board: np.ndarray, alight: np.ndarray, zones: np.ndarray) -> np.ndarray:
        """The price of each ride from station `board` to `alight` (NaN for a pair without one;
        `zones` unused)."""
        code = np.asarray(board, dtype=np.int64) * self.n_stations + np.asarray(alight, dtype=np.int64)
        i = np.minimum(np.searchsorted(self.codes, code), len(self.codes) - 1)
        return np.where(self.codes[i] == code, self.price[i], np.nan)


FareTable = ZoneTable | OdTable


def compile_table(fare: FareSpec, station_index: dict[str, int], served: set[int],
                  names: list[str]) -> tuple[FareTable | None, list[tuple[tuple, str]]]:
    """The table of a zone or OD tariff (None for a distance tariff), and its problems as (field
    path under the fare, message): stations unknown or without a zone or price, zones unknown.
    `served`: the stations of the operator's platforms; `names`: every station's id by index."""
    if fare.kind == "zones":
        return _zone_table(fare, station_index, served, names)
    if fare.kind == "od_table":
        return _od_table(fare, station_index, served, names)
    return None, []


def _zone_table(fare: FareSpec, station_index: dict[str, int], served: set[int],
                names: list[str]) -> tuple[FareTable | None, list[tuple[tuple, str]]]:
    problems: list[tuple[tuple, str]] = []
    zone_ids = tuple(sorted(set(fare.zone_of.values())))
    if len(zone_ids) > MAX_ZONES:
        return None, [(("zone_of",), f"{len(zone_ids)} zones; at most {MAX_ZONES}")]
    zone_index = {z: i for i, z in enumerate(zone_ids)}
    zone_of = np.full(len(names), -1, dtype=np.int64)
    for sid, zone in fare.zone_of.items():
        if sid not in station_index:
            problems.append((("zone_of", sid), f"unknown station '{sid}'"))
        else:
            zone_of[station_index[sid]] = zone_index[zone]
    missing = sorted(names[s] for s in served if zone_of[s] < 0)
    if missing:
        problems.append((("zone_of",), f"{len(missing)} station{'s' * (len(missing) != 1)} of this operator without a zone: "
                                       f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}"))
    n = len(zone_ids)
    od_ok = np.zeros((len(fare.zone_fares), n, n), dtype=bool)
    contains = np.full(len(fare.zone_fares), -1, dtype=np.int64)
    for c, zf in enumerate(fare.zone_fares):
        for k, (o, d) in enumerate(zf.od or [(None, None)]):
            bad = [z for z in (o, d) if z is not None and z not in zone_index]
            if bad:
                problems.append((("zone_fares", c, "od", k), f"unknown zone '{bad[0]}' (zones: {', '.join(zone_ids)})"))
                continue
            rows = slice(None) if o is None else zone_index[o]
            cols = slice(None) if d is None else zone_index[d]
            od_ok[c, rows, cols] = True
        if zf.contains:
            unknown = [z for z in zf.contains if z not in zone_index]
            if unknown:
                problems.append((("zone_fares", c, "contains"), f"unknown zone '{unknown[0]}'"))
            else:
                contains[c] = sum(1 << zone_index[z] for z in zf.contains)
    price = np.asarray([zf.price for zf in fare.zone_fares], dtype=float)
    return ZoneTable(zone_ids, zone_of, price, od_ok, contains), problems


def _od_table(fare: FareSpec, station_index: dict[str, int], served: set[int],
              names: list[str]) -> tuple[FareTable | None, list[tuple[tuple, str]]]:
    problems: list[tuple[tuple, str]] = []
    n = len(names)
    given: dict[int, float] = {}
    for k, (o, d, price) in enumerate(fare.od_prices):
        unknown = [s for s in (o, d) if s not in station_index]
        if unknown:
            problems.append((("od_prices", k), f"unknown station '{unknown[0]}'"))
            continue
        code = station_index[o] * n + station_index[d]
        if code in given:
            problems.append((("od_prices", k), f"a second price from '{o}' to '{d}'"))
        given[code] = float(price)
    if fare.symmetric:
        for code, price in list(given.items()):
            given.setdefault((code % n) * n + code // n, price)
    stations = sorted(served)
    missing = [(a, b) for a in stations for b in stations if a != b and a * n + b not in given]
    if missing:
        shown = ", ".join(f"{names[a]} to {names[b]}" for a, b in missing[:3])
        problems.append((("od_prices",), f"{len(missing)} pair{'s' * (len(missing) != 1)} of this operator's stations without a price: "
                                         f"{shown}{' ...' if len(missing) > 3 else ''}"))
    codes = np.asarray(sorted(given), dtype=np.int64)
    return OdTable(n, codes, np.asarray([given[c] for c in codes.tolist()], dtype=float)), problems
