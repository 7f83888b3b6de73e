"""Stations and line sections with their loads in a time window: tables, and GeoJSON (RFC 7946:
WGS 84, [lon, lat]) for GIS tools such as QGIS. A section is a pair of consecutive stations of a
line branch; trains that skip stations load every section they run over."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .network import Network


def stations_table(network: Network) -> pd.DataFrame:
    """One row per station: `station` (id), Chinese and English name, operator id, the lines calling
    there (comma-separated), latitude and longitude (degrees, WGS 84)."""
    lines_at: dict[int, list[str]] = {s.index: [] for s in network.stations}
    for line in network.lines:
        for station in sorted(line.km):
            lines_at[station].append(line.id)
    return pd.DataFrame({
        "station": [s.id for s in network.stations],
        "name_zh": [s.name_zh for s in network.stations],
        "name_en": [s.name_en for s in network.stations],
        "operator": [network.operators[s.operator].id for s in network.stations],
        "lines": [",".join(lines_at[s.index]) for s in network.stations],
        "lat": [s.lat for s in network.stations],
        "lon": [s.lon for s in network.stations],
    })


def _section_path(network: Network, line_id: str, a: str, b: str) -> list[tuple[str, str]]:
    """The consecutive station pairs of the line's branch from a to b (a direct pair if no branch
    holds both)."""
    line = network.lines[network.line_index[line_id]]
    ia, ib = network.station_index[a], network.station_index[b]
    for branch in line.branches:
        if ia in branch and ib in branch:
            i, j = branch.index(ia), branch.index(ib)
            step = 1 if j > i else -1
            ids = [network.stations[branch[k]].id for k in range(i, j + step, step)]
            return list(zip(ids, ids[1:]))
    return [(a, b)]


def section_loads(network: Network, trains: pd.DataFrame, window: tuple[float, float]) -> pd.DataFrame:
    """Per line (the track's, for a through train), direction and section (from_station, to_station
    in running order): trains leaving its first station in `window` (s since midnight), their mean
    and highest load (persons on board),
    highest load factor (load / capacity) and the passengers carried over it per hour."""
    cols = ["line", "direction", "from_station", "to_station", "trains", "mean_load", "max_load", "max_load_factor",
            "passengers_per_hour"]
    t0, t1 = window
    # a passed station shares the seq of the stop before it: its time orders it after that stop
    tr = trains[(trains["t_depart"] >= t0) & (trains["t_depart"] < t1)].sort_values(["train_id", "seq", "t_depart"],
                                                                                     kind="stable")
    nxt = tr.groupby("train_id", sort=False, observed=True)["station"].shift(-1)
    ok = nxt.notna().to_numpy()
    # a through train's sections belong to the line whose track it runs on there
    owner = tr["track"] if "track" in tr.columns else tr["line"]
    hops = pd.DataFrame({"line": owner.astype(str).to_numpy()[ok],
                         "direction": tr["direction"].astype(str).to_numpy()[ok],
                         "a": tr["station"].astype(str).to_numpy()[ok], "b": nxt.astype(str).to_numpy()[ok],
                         "load": tr["load_after"].to_numpy(dtype=float)[ok],
                         "factor": (tr["load_after"] / tr["capacity"]).to_numpy(dtype=float)[ok]})
    if hops.empty:
        return pd.DataFrame(columns=cols)
    pairs = hops[["line", "a", "b"]].drop_duplicates()
    expand = pd.DataFrame([(ln, a, b, x, y) for ln, a, b in pairs.itertuples(index=False)
                           for x, y in _section_path(network, ln, a, b)],
                          columns=["line", "a", "b", "from_station", "to_station"])
    sec = hops.merge(expand, on=["line", "a", "b"])
    out = sec.groupby(["line", "direction", "from_station", "to_station"], as_index=False).agg(
        trains=("load", "size"), mean_load=("load", "mean"), max_load=("load", "max"),
        max_load_factor=("factor", "max"), passengers=("load", "sum"))
    out["passengers_per_hour"] = out.pop("passengers") * 3600.0 / (t1 - t0)
    return out[cols]


def station_flows(trains: pd.DataFrame, window: tuple[float, float]) -> pd.DataFrame:
    """Per station: persons boarding and alighting at the train calls departing in `window`."""
    t0, t1 = window
    tr = trains[(trains["t_depart"] >= t0) & (trains["t_depart"] < t1)]
    return (tr.assign(station=tr["station"].astype(str)).groupby("station")[["boarded", "alighted"]].sum()
            .astype(np.int64))


def _clock(t: float) -> str:
    return f"{int(t // 3600):02d}:{int(t % 3600 // 60):02d}"


def stations_geojson(network: Network, trains: pd.DataFrame, window: tuple[float, float]) -> dict:
    """A FeatureCollection of station points with their names, operator, lines, and the persons
    boarding and alighting in `window`."""
    flows = station_flows(trains, window).to_dict("index")
    feats = []
    for row in stations_table(network).to_dict("records"):
        on, off = (int(flows[row["station"]][c]) if row["station"] in flows else 0 for c in ("boarded", "alighted"))
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
                      "properties": {"station": row["station"], "name_zh": row["name_zh"], "name_en": row["name_en"],
                                     "operator": row["operator"], "lines": row["lines"], "boarded": on,
                                     "alighted": off, "window": f"{_clock(window[0])}-{_clock(window[1])}"}})
    return {"type": "FeatureCollection", "features": feats}


def lines_geojson(network: Network, trains: pd.DataFrame, window: tuple[float, float]) -> dict:
    """A FeatureCollection of line sections, one per line, direction and section with trains in
    `window` (straight segments between the stations' coordinates), with their loads."""
    where = {s.id: [s.lon, s.lat] for s in network.stations}
    color = {ln.id: ln.color for ln in network.lines}
    feats = []
    for row in section_loads(network, trains, window).to_dict("records"):
        props = {"line": row["line"], "color": color[row["line"]], "direction": row["direction"],
                 "from_station": row["from_station"], "to_station": row["to_station"], "trains": int(row["trains"]),
                 "mean_load": round(float(row["mean_load"]), 1), "max_load": int(row["max_load"]),
                 "max_load_factor": round(float(row["max_load_factor"]), 4),
                 "passengers_per_hour": round(float(row["passengers_per_hour"]), 1),
                 "window": f"{_clock(window[0])}-{_clock(window[1])}"}
        feats.append({"type": "Feature", "properties": props, "geometry": {
            "type": "LineString", "coordinates": [where[row["from_station"]], where[row["to_station"]]]}})
    return {"type": "FeatureCollection", "features": feats}
