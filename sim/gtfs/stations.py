"""Stations of a feed: parent stations with their platforms grouped, stops without a parent as
stations of their own; names in English and Chinese from stop_name and translations.txt."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import UserError
from .feed import Feed, parse_numbers


@dataclass(frozen=True)
class Stations:
    """`of`: stop_id -> station stop_id; per station its name (en, zh), lat, lon and row number."""

    of: dict[str, str]
    name_en: dict[str, str]
    name_zh: dict[str, str]
    lat: dict[str, float]
    lon: dict[str, float]
    row: dict[str, int]

    def km(self, a: str, b: str) -> float:
        """Great-circle distance (km) between two stations."""
        return haversine_km(self.lat[a], self.lon[a], self.lat[b], self.lon[b])


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (km) between two points (degrees), on a sphere of the Earth's mean radius."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return float(2 * 6371.0088 * np.arcsin(min(1.0, np.sqrt(h))))


def read_stations(feed: Feed) -> Stations:
    """Every stop's station: its parent station (the parent's parent for a boarding area), or itself.
    UserError for unknown parents and stations without coordinates."""
    stops = feed.table("stops.txt", ("stop_id",), ("stop_name", "stop_lat", "stop_lon", "location_type",
                                                   "parent_station"))
    if stops.empty:
        raise UserError([feed.problem("stops.txt", "", "the file has no stops")])
    dup = stops.index[stops["stop_id"].duplicated()]
    if len(dup):
        raise feed.rows_problem("stops.txt", "stop_id", dup, lambda i: f"duplicate stop_id '{stops.loc[i, 'stop_id']!s}'")
    parent = stops["parent_station"]
    has_parent = parent != ""
    feed.check_known("stops.txt", "parent_station", parent[has_parent], set(stops["stop_id"]), "parent station",
                     "stops.txt")
    lat = parse_numbers(feed, "stops.txt", "stop_lat", stops["stop_lat"], minimum=-90)
    lon = parse_numbers(feed, "stops.txt", "stop_lon", stops["stop_lon"], minimum=-180)
    ids = stops["stop_id"].tolist()
    up = dict(zip(ids, parent))
    kind = dict(zip(ids, stops["location_type"]))
    of = {}
    for sid in ids:
        st = sid
        for _ in range(3):  # boarding area -> platform -> station
            if up[st] and kind[st] != "1":
                st = up[st]
        of[sid] = st
    station_ids = sorted(set(of.values()))
    row = dict(zip(ids, stops.index))
    coords = pd.DataFrame({"station": [of[s] for s in ids], "lat": lat, "lon": lon})
    own = coords[np.asarray([of[s] == s for s in ids], dtype=bool)].set_index("station")
    mean = coords.groupby("station")[["lat", "lon"]].mean()
    lat_of, lon_of = {}, {}
    for st in station_ids:
        la, lo = (own.loc[st, "lat"], own.loc[st, "lon"]) if st in own.index else (np.nan, np.nan)
        if np.isnan(la) or np.isnan(lo):
            la, lo = mean.loc[st, "lat"], mean.loc[st, "lon"]
        if np.isnan(la) or np.isnan(lo):
            raise UserError([feed.problem("stops.txt", "stop_lat", f"station '{st}' has no coordinates (nor have its "
                                                                   "platforms)", int(row[st]) + 2)])
        lat_of[st], lon_of[st] = float(la), float(lo)
    names = dict(zip(ids, stops["stop_name"]))
    en, zh = _translations(feed, names)
    return Stations(of, {s: en.get(s) or names[s] or s for s in station_ids},
                    {s: zh.get(s) or names[s] or s for s in station_ids}, lat_of, lon_of,
                    {s: int(row[s]) for s in station_ids})


def _translations(feed: Feed, names: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """English and Chinese stop names from translations.txt (by record_id, or by field_value, the
    record_id form taking precedence)."""
    tr = feed.optional("translations.txt", ("table_name", "field_name", "language", "translation"),
                       ("record_id", "field_value"))
    out: tuple[dict[str, str], dict[str, str]] = ({}, {})
    if tr is None:
        return out
    tr = tr[(tr["table_name"] == "stops") & (tr["field_name"] == "stop_name")]
    by_value: dict[tuple[int, str], str] = {}
    for lang, rec, value, text in zip(tr["language"].str.lower(), tr["record_id"], tr["field_value"], tr["translation"]):
        k = 0 if lang.startswith("en") else 1 if lang.startswith("zh") else -1
        if k < 0:
            continue
        if rec:
            out[k][rec] = text
        elif value:
            by_value[(k, value)] = text
    for sid, name in names.items():
        for k in (0, 1):
            if sid not in out[k] and (k, name) in by_value:
                out[k][sid] = by_value[(k, name)]
    return out
