"""What the commuters drawn between zones chose: a table (one row each) and summary KPIs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import ZoneGroupSpec
from .access import ACCESS_MODES
from .choice import MODES, NO_TRIP, ModeChoice

NO_MODE = "none"
"""The mode label of a commuter for whom no mode was offered (no station in reach, no road mode)."""


def zone_trips_table(choice: ModeChoice, trips: pd.DataFrame) -> pd.DataFrame:
    """One row per commuter drawn between zones: `commuter_id` (of the trips table, -1 off rail),
    `segment`, `origin_zone`, `destination_zone`, `t_home` (s, leaving home), `mode` (rail, car,
    bus or none), `access_mode` / `egress_mode` and `access_s` / `egress_s` (rail: between the zone
    centre and the station entrance, s), and `door_to_door_s`: by rail, access + the trip's travel
    time + egress (NaN when the trip did not arrive); by road, the modelled time."""
    travel = np.full(len(trips), np.nan)
    travel[trips["commuter_id"].to_numpy()] = trips["travel_time_s"].to_numpy()
    rail = choice.commuter >= 0
    rail_time = np.full(len(rail), np.nan)
    rail_time[rail] = choice.access_s[rail] + travel[choice.commuter[rail]] + choice.egress_s[rail]
    # code -1 (no mode; no way to a station off rail) reads the last label
    labels = np.asarray((*MODES, NO_MODE))
    ways = np.asarray((*ACCESS_MODES, ""))
    return pd.DataFrame({
        "commuter_id": choice.commuter,
        "segment": categorical(choice.segment, choice.demand.segment_names),
        "origin_zone": categorical(choice.origin_zone, choice.zones.ids),
        "destination_zone": categorical(choice.destination_zone, choice.zones.ids),
        "t_home": choice.t_home,
        "mode": pd.Categorical(labels[choice.mode], categories=list(labels)),
        "access_mode": ways[choice.access_mode],
        "access_s": choice.access_s,
        "egress_mode": ways[choice.egress_mode],
        "egress_s": choice.egress_s,
        "door_to_door_s": np.where(rail, rail_time, choice.road_time_s),
    })


def categorical(codes: np.ndarray, labels: tuple[str, ...]) -> pd.Categorical[str]:
    """Labels by their codes (int), as a categorical of every label."""
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=pd.Index(list(labels)))


def mode_choice_kpis(table: pd.DataFrame, kpi_from: float | None = None,
                     groups: dict[str, ZoneGroupSpec] | None = None) -> dict:
    """Of the zone commuters leaving home at or after `kpi_from`: their number, the number of them
    who travel (`trips`: all but no_trip), the number of each mode chosen (no_trip included), each
    mode's share of the trips and mean door-to-door time (s), the shares of the ways to the station
    of those by rail; the same per segment and per named group of zones."""
    counted = table if kpi_from is None else table[table["t_home"] >= kpi_from]
    out = _kpis(counted)
    out["segments"] = {str(s): _kpis(counted[counted["segment"] == s]) for s in table["segment"].cat.categories
                       if (counted["segment"] == s).any()}
    if groups:
        out["groups"] = {name: _kpis(counted[_in_group(counted, g)]) for name, g in groups.items()}
    return out


def _in_group(rows: pd.DataFrame, group: ZoneGroupSpec) -> np.ndarray:
    o, d = rows["origin_zone"].astype(str), rows["destination_zone"].astype(str)
    inside = (o.isin(group.from_) & d.isin(group.to)).to_numpy()
    if group.both_ways:
        inside |= (o.isin(group.to) & d.isin(group.from_)).to_numpy()
    return inside


def _kpis(rows: pd.DataFrame) -> dict:
    n = len(rows)
    if not n:
        return {"commuters": 0, "trips": 0, "mode_counts": {}, "mode_shares": {}, "door_to_door_mean_s": {},
                "rail_access_shares": {}}
    counts = rows["mode"].value_counts(sort=False)
    trips = n - int(counts.get(MODES[NO_TRIP], 0))
    door = rows.groupby("mode", observed=True)["door_to_door_s"].mean()
    by_rail = rows[rows["mode"] == MODES[0]]
    access = by_rail["access_mode"].value_counts(sort=False)
    return {
        "commuters": n,
        "trips": trips,
        "mode_counts": {str(m): int(c) for m, c in counts.items() if c},
        "mode_shares": {str(m): float(c) / trips for m, c in counts.items() if c and m != MODES[NO_TRIP]},
        "door_to_door_mean_s": {str(m): float(v) for m, v in door.items() if np.isfinite(v)},
        "rail_access_shares": {str(m): float(c) / len(by_rail) for m, c in access.items() if c},
    }
