"""KPIs as pure functions of the recorded tables, and confidence intervals across replications."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

COMPONENTS = ("access_s", "wait_s", "in_vehicle_s", "transfer_s", "egress_s")


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def trip_kpis(trips: pd.DataFrame) -> dict:
    """Counts, travel-time statistics (s), mean components (s), denied boardings, mean fare (CNY)."""
    arrived = trips[trips["status"] == "arrived"]
    tt = arrived["travel_time_s"].to_numpy()
    out: dict = {
        "commuters": int(len(trips)),
        "arrived": int(len(arrived)),
        "in_system": int(len(trips) - len(arrived)),
        "travel_time_mean_s": _num(tt.mean()) if len(tt) else None,
        "travel_time_p50_s": _num(np.percentile(tt, 50)) if len(tt) else None,
        "travel_time_p85_s": _num(np.percentile(tt, 85)) if len(tt) else None,
        "travel_time_p95_s": _num(np.percentile(tt, 95)) if len(tt) else None,
    }
    for c in COMPONENTS:
        out[f"{c[:-2]}_mean_s"] = _num(arrived[c].mean()) if len(arrived) else None
    denied = trips["denied_boardings"].to_numpy()
    out["denied_boardings"] = int(denied.sum())
    out["denied_share"] = _num((denied > 0).mean()) if len(trips) else None
    out["transfers_mean"] = _num(trips["n_transfers"].mean()) if len(trips) else None
    out["fare_mean_cny"] = _num(trips["fare_cny"].mean()) if len(trips) else None
    return out


def peak_load_factor(trains: pd.DataFrame) -> dict[str, float]:
    """Per line: the highest departing load / capacity over all calls."""
    if trains.empty:
        return {}
    lf = trains["load_after"] / trains["capacity"]
    return {str(k): float(v) for k, v in lf.groupby(trains["line"], observed=True).max().items()}


def peak_standing_density(trains: pd.DataFrame, standing: dict[str, tuple[float, float]]) -> dict[str, float]:
    """Per line with seats and standing area (line id -> (seats, m2)): the highest standing
    density (persons per m2) of a departing train."""
    out = {}
    for line, (seats, area) in standing.items():
        loads = trains.loc[trains["line"].astype(str) == line, "load_after"].to_numpy()
        if len(loads):
            out[line] = round(float(max(0.0, loads.max() - seats) / area), 3)
    return out


def revenue_by_operator(legs: pd.DataFrame) -> dict[str, float]:
    """Fare revenue (CNY) per operator over the legs actually boarded."""
    boarded = legs[legs["t_board"].notna()]
    if boarded.empty:
        return {}
    sums = boarded.groupby("operator", observed=True)["fare_cny"].sum()
    return {str(k): round(float(v), 2) for k, v in sums.items()}


def transfers_between(legs: pd.DataFrame, trips: pd.DataFrame, stations: tuple[str, str]) -> pd.DataFrame:
    """Every completed change of train between the two stations (either way): commuter, payment
    medium, direction ('a>b'), transfer time (alighting to reaching the next platform: walks, gates,
    security, queues) and onward wait (platform to boarding), in seconds."""
    cid, leg = legs["commuter_id"].to_numpy(), legs["leg"].to_numpy()
    order = np.lexsort((leg, cid)) if len(cid) and not (np.diff(cid * 64 + leg) > 0).all() else slice(None)
    cid = cid[order]
    frm = _station_codes(legs["alight_station"], stations)[order]
    to = _station_codes(legs["board_station"], stations)[order]
    pair = (cid[1:] == cid[:-1]) & (frm[:-1] >= 0) & (to[1:] >= 0) & (frm[:-1] != to[1:])
    t_alight = legs["t_alight"].to_numpy()[order][:-1][pair]
    t_platform, t_board = (legs[c].to_numpy()[order][1:][pair] for c in ("t_platform", "t_board"))
    done = ~np.isnan(t_platform)
    who = cid[:-1][pair][done]
    names = np.asarray([f"{stations[0]}>{stations[1]}", f"{stations[1]}>{stations[0]}"])
    return pd.DataFrame({
        "commuter_id": who,
        "payment": _payment_of(trips, who),
        "direction": names[frm[:-1][pair][done]],
        "transfer_s": (t_platform - t_alight)[done],
        "onward_wait_s": (t_board - t_platform)[done],
    })


def _payment_of(trips: pd.DataFrame, who: np.ndarray) -> np.ndarray:
    """Payment medium (str) of commuters `who`, looked up by commuter id."""
    ids = trips["commuter_id"].to_numpy()
    pos = np.searchsorted(ids, who) if len(who) else np.zeros(0, dtype=np.int64)
    return trips["payment"].to_numpy()[pos].astype(str) if len(who) else np.asarray([], dtype=str)


def _station_codes(column: pd.Series, stations: tuple[str, str]) -> np.ndarray:
    """0 or 1 where the column holds the first or second of `stations`, -1 elsewhere."""
    col = column.astype("category") if not isinstance(column.dtype, pd.CategoricalDtype) else column
    cats = list(col.cat.categories)
    lookup = np.full(len(cats) + 1, -1, dtype=np.int64)
    for k, sid in enumerate(stations):
        if sid in cats:
            lookup[cats.index(sid)] = k
    return lookup[col.cat.codes.to_numpy()]


def _transfer_stats(x: pd.DataFrame) -> dict:
    return {
        "transfers": int(len(x)),
        "transfer_mean_s": _num(x["transfer_s"].mean()) if len(x) else None,
        "transfer_p95_s": _num(np.percentile(x["transfer_s"], 95)) if len(x) else None,
        "onward_wait_mean_s": _num(x["onward_wait_s"].mean()) if len(x) else None,
    }


def interchange_kpis(legs: pd.DataFrame, trips: pd.DataFrame, stations: tuple[str, str]) -> dict:
    """Transfers through one interchange: counts, mean and p95 transfer time, mean onward wait,
    overall, per payment medium and per direction."""
    x = transfers_between(legs, trips, stations)
    out = _transfer_stats(x)
    out["by_medium"] = {str(m): _transfer_stats(g) for m, g in x.groupby("payment", sort=True)}
    out["by_direction"] = {str(d): _transfer_stats(g) for d, g in x.groupby("direction", sort=True)}
    return out


def summarize(trips: pd.DataFrame, legs: pd.DataFrame, trains: pd.DataFrame,
              groups: dict[str, np.ndarray] | None = None,
              interchanges: dict[str, tuple[str, str]] | None = None, kpi_from: float | None = None,
              standing: dict[str, tuple[float, float]] | None = None) -> dict:
    """summary.json: KPIs of the commuters starting at or after `kpi_from` (all when None) and of
    the train calls departing from then on: overall, per line and operator, per segment, per named
    group and per interchange (named by id, with its two station ids). With a warm-up, `warm_up`
    gives its end, how many commuters it left out and the trip KPIs of everyone."""
    if kpi_from is not None:
        keep = (trips["t_depart"] >= kpi_from).to_numpy()
        out = summarize(trips[keep], legs[np.isin(legs["commuter_id"].to_numpy(), trips["commuter_id"].to_numpy()[keep])],
                        trains[trains["t_depart"] >= kpi_from], {k: m[keep] for k, m in (groups or {}).items()},
                        interchanges, standing=standing)
        out["warm_up"] = {"until_s": kpi_from, "commuters_excluded": int((~keep).sum()), "all_commuters": trip_kpis(trips)}
        return out
    out = trip_kpis(trips)
    out["peak_load_factor"] = peak_load_factor(trains)
    out["peak_standing_density_p_m2"] = peak_standing_density(trains, standing or {})
    out["fare_revenue_cny"] = revenue_by_operator(legs)
    out["interchanges"] = {k: interchange_kpis(legs, trips, st) for k, st in (interchanges or {}).items()}
    out["segments"] = {str(s): trip_kpis(trips[trips["segment"] == s])
                       for s in trips["segment"].cat.categories}
    out["groups"] = {}
    for name, mask in (groups or {}).items():
        ids = trips["commuter_id"].to_numpy()[mask]
        g = trip_kpis(trips[mask])
        mine = legs[legs["commuter_id"].isin(ids)]
        g["fare_revenue_cny"] = revenue_by_operator(mine)
        g["interchanges"] = {k: interchange_kpis(mine, trips, st) for k, st in (interchanges or {}).items()}
        out["groups"][name] = g
    return out


def flatten(summary: dict, prefix: str = "") -> dict[str, float]:
    """Nested KPIs to dotted names with numeric values (for replication and sweep tables)."""
    out: dict[str, float] = {}
    for k, v in summary.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, name + "."))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[name] = float(v)
    return out


def confidence_intervals(summaries: list[dict], level: float = 0.95) -> dict[str, dict]:
    """Mean and t-based confidence interval of every numeric KPI across replications."""
    flat = [flatten(s) for s in summaries]
    keys = sorted(set().union(*flat)) if flat else []
    out = {}
    for k in keys:
        vals = np.asarray([f[k] for f in flat if k in f and f[k] is not None], dtype=float)
        if len(vals) == 0:
            continue
        mean = float(vals.mean())
        if len(vals) > 1:
            from scipy import stats  # imported here: scipy.stats takes half a second to import

            half = float(stats.t.ppf((1 + level) / 2, len(vals) - 1) * vals.std(ddof=1) / math.sqrt(len(vals)))
        else:
            half = float("nan")
        out[k] = {"mean": mean, "ci_low": _num(mean - half), "ci_high": _num(mean + half), "n": int(len(vals))}
    return out
