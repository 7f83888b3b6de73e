"""KPIs as pure functions of the recorded tables, and confidence intervals across replications.

Every KPI is defined in docs/outputs.md. Times in seconds, money in CNY, densities in persons/m2.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

COMPONENTS = ("access_s", "wait_s", "in_vehicle_s", "transfer_s", "egress_s")


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


class TripColumns:
    """The trips columns the trip KPIs read, as arrays read once (the KPIs of many subsets reuse them)."""

    def __init__(self, trips: pd.DataFrame) -> None:
        status = trips["status"]
        self.n = len(trips)
        self.arrived, self.in_system, self.left = ((status == s).to_numpy() for s in ("arrived", "in_system", "left"))
        self.travel_time = trips["travel_time_s"].to_numpy()
        self.components = {c: trips[c].to_numpy() for c in COMPONENTS}
        self.denied = trips["denied_boardings"].to_numpy()
        # tables written before `denied_wait_s` existed have no such column: its mean is then unknown
        self.denied_wait = trips["denied_wait_s"].to_numpy() if "denied_wait_s" in trips else None
        self.transfers, self.fare = trips["n_transfers"].to_numpy(), trips["fare_cny"].to_numpy()
        # tables written before `modes` existed have none: their mode shares are unknown
        self.mode_code: np.ndarray | None = None
        self.mode_labels: list[str] = []
        if "modes" in trips:
            self.mode_code, self.mode_labels = _mode_labels(trips["modes"], self.left)

    def take(self, rows: np.ndarray | slice) -> TripColumns:
        """The columns of the `rows` (bool, indices or a slice) alone, with these mode labels (the
        shares of a subset name only the labels it counts, in the same sorted order)."""
        out = object.__new__(TripColumns)
        out.arrived, out.in_system, out.left = self.arrived[rows], self.in_system[rows], self.left[rows]
        out.travel_time = self.travel_time[rows]
        out.n = len(out.travel_time)
        out.components = {c: v[rows] for c, v in self.components.items()}
        out.denied = self.denied[rows]
        out.denied_wait = self.denied_wait[rows] if self.denied_wait is not None else None
        out.transfers, out.fare = self.transfers[rows], self.fare[rows]
        out.mode_code = self.mode_code[rows] if self.mode_code is not None else None
        out.mode_labels = self.mode_labels
        return out


def _mode_labels(modes: pd.Series, left: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Per trip, the index of its mode-share label in the labels, and the labels in sorted order:
    the modes ridden ('metro+rail'), 'left' for who left the rail network on the way, 'none' for
    who boarded nothing. Coded once: the shares of many subsets count codes (labels no trip has
    count none and are not shown)."""
    if isinstance(modes.dtype, pd.CategoricalDtype):  # by code: no string per trip (a missing one reads 'nan')
        uniques = [str(x) for x in modes.cat.categories] + ["nan"]
        codes = modes.cat.codes.to_numpy().astype(np.int64)
        codes[codes < 0] = len(uniques) - 1
    else:
        codes, found = pd.factorize(modes.astype(str), use_na_sentinel=False)
        uniques = [str(x) for x in found]
    labels = ["none" if u == "" else str(u) for u in uniques] + ["left"]
    names = sorted(set(labels))
    index = {x: i for i, x in enumerate(names)}
    remap = np.asarray([index[x] for x in labels], dtype=np.int64)
    return remap[np.where(left, len(labels) - 1, codes)], names


def trip_kpis(trips: pd.DataFrame | TripColumns, rows: np.ndarray | None = None) -> dict:
    """Counts (commuters, arrived, in the network at the end, left it on the way), travel-time
    statistics (s), mean components (s), denied boardings (commuters left behind, their wait from the
    first denial, denials per train call), mean fare (CNY); of the `rows` of `trips` (bool; all when
    None)."""
    t = trips if isinstance(trips, TripColumns) else TripColumns(trips)
    rows = np.ones(t.n, dtype=bool) if rows is None else rows
    arrived = t.arrived & rows
    tt = t.travel_time[arrived]
    n = int(rows.sum())
    p50, p85, p95 = np.percentile(tt, [50, 85, 95]).tolist() if len(tt) else (math.nan,) * 3  # one partition
    out: dict = {
        "commuters": n,
        "arrived": int(arrived.sum()),
        "in_system": int((t.in_system & rows).sum()),
        "left": int((t.left & rows).sum()),
        "travel_time_mean_s": _num(tt.mean()) if len(tt) else None,
        "travel_time_p50_s": _num(p50),
        "travel_time_p85_s": _num(p85),
        "travel_time_p95_s": _num(p95),
    }
    for c, values in t.components.items():
        out[f"{c[:-2]}_mean_s"] = _mean(values[arrived]) if len(tt) else None
    out.update(denied_kpis(t, rows))
    out["transfers_mean"] = _mean(t.transfers[rows]) if n else None
    out["fare_mean_cny"] = _mean(t.fare[rows]) if n else None
    if t.mode_code is not None:
        out["mode_shares"] = mode_shares(t, rows)
    return out


def mode_shares(t: TripColumns, rows: np.ndarray) -> dict[str, float]:
    """Share of the `rows` by the modes they rode (trips `modes`, e.g. 'metro' or 'metro+rail'),
    those who left the rail network on the way as 'left', those who boarded nothing as 'none'."""
    assert t.mode_code is not None  # the caller's condition
    counts = np.bincount(t.mode_code[rows], minlength=len(t.mode_labels))
    n = int(counts.sum())
    if not n:
        return {}
    return {name: float(c) / n for name, c in zip(t.mode_labels, counts.tolist()) if c}


def _mean(values: np.ndarray) -> float | None:
    """Mean of the values that are not NaN (as pandas'), None when there are none."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    return _num(float(values.mean())) if len(values) else None


def denied_kpis(trips: pd.DataFrame | TripColumns, rows: np.ndarray | None = None) -> dict:
    """Of the `rows` of `trips` (all when None): commuters denied boarding at least once (count, share
    of all), the mean of their wait after the first train that left them behind (s, arrived ones;
    `denied_wait_s`), and the denials, one per commuter per full train call (`denied_boardings`:
    that count's earlier name, kept)."""
    t = trips if isinstance(trips, TripColumns) else TripColumns(trips)
    rows = np.ones(t.n, dtype=bool) if rows is None else rows
    denied = t.denied[rows]
    hit = denied > 0
    counted = hit & t.arrived[rows]
    extra = t.denied_wait[rows][counted] if t.denied_wait is not None else np.zeros(0)
    return {"denied_commuters": int(hit.sum()), "denied_share": _num(hit.mean()) if len(denied) else None,
            "denied_wait_mean_s": _num(extra.mean()) if len(extra) else None,
            "denials": int(denied.sum()), "denied_boardings": int(denied.sum())}


def peak_load_factor(trains: pd.DataFrame) -> dict[str, float]:
    """Per line: the highest departing load / capacity over all calls."""
    if trains.empty:
        return {}
    lf = trains["load_after"] / trains["capacity"]
    return {str(k): float(v) for k, v in lf.groupby(trains["line"], observed=True).max().items()}


def peak_standing_density(trains: pd.DataFrame, standing: dict[str, tuple[float, float]]) -> dict[str, float]:
    """Per line with seats and standing area (line id -> (seats, m2)): the highest standing
    density (persons per m2) of a departing train."""
    if trains.empty:
        return {}
    peak = {str(k): float(v) for k, v in trains["load_after"].groupby(trains["line"], observed=True).max().items()}
    return {line: round(max(0.0, peak[line] - seats) / area, 3) for line, (seats, area) in standing.items()
            if line in peak}


def line_boardings(legs: pd.DataFrame) -> dict[str, int]:
    """Boardings per line: the legs boarded on its trains (`train_line`, see with_train_lines; a
    rider changing between two trains of one line boards it twice), as a line's ridership counts
    them."""
    if "train_line" not in legs:  # a minimal legs table (the KPI functions take any with the columns they read)
        return {}
    boarded = legs["train_line"][legs["t_board"].notna()]
    return {str(k): int(v) for k, v in boarded.value_counts(sort=False).items() if v}


def with_train_lines(legs: pd.DataFrame, trains: pd.DataFrame) -> pd.DataFrame:
    """`legs` (changed in place) with `train_line`, the line of the train each leg boarded (missing
    where it boarded none), from the trains' `train_id` and `line`: a leg's `line` is that of its
    platform, where a train of another line may take it (Line 4's trains on Line 3's track, a
    through train). Unchanged without those columns."""
    if "train_id" not in legs or not {"train_id", "line"} <= set(trains.columns):
        return legs
    # by category: one lookup per train, not per leg (a city's day has tens of millions of legs)
    ids = legs["train_id"].astype("category")
    known = trains.drop_duplicates("train_id")
    line_of = pd.Series(known["line"].astype(str).to_numpy(), index=known["train_id"].astype(str).to_numpy())
    per_train = pd.Categorical(line_of.reindex(ids.cat.categories.astype(str)))
    legs["train_line"] = per_train.take(ids.cat.codes.to_numpy(), allow_fill=True)  # code -1 (no train): missing
    return legs


def revenue_by_operator(fares: pd.DataFrame) -> dict[str, float]:
    """Fare revenue (CNY) per operator: the fare sections of the legs actually boarded (a table
    like fares.parquet; a legs table also does, one section per leg boarded)."""
    if "t_board" in fares:
        fares = fares[fares["t_board"].notna()]
    if fares.empty:
        return {}
    sums = fares.groupby("operator", observed=True)["fare_cny"].sum()
    return {str(k): round(float(v), 2) for k, v in sums.items()}


def reserved_seat_kpis(legs: pd.DataFrame) -> dict[str, dict]:
    """Per line with reserved seats (legs with a `ticket` column; {} without): rides boarded, the
    share of them on a standing ticket and the share on a ticket bought before the day, trains
    missed by riders holding a ticket for them, rides still without a ticket at the end (none left
    on a train to come), mean wait on the platform (s) of all rides, of those booked ahead and of
    those bought on the day."""
    if "ticket" not in legs:
        return {}
    # category codes rather than strings: the legs of a large run are millions of rows
    ticket = legs["ticket"].astype("category")
    kinds = [str(x) for x in ticket.cat.categories]
    code = ticket.cat.codes.to_numpy()
    line = legs["line"].astype("category")
    line_code = line.cat.codes.to_numpy()
    missed = legs["missed_trains"].to_numpy()
    on_ticket = np.isin(code, [kinds.index(k) for k in kinds if k])
    standing = code == (kinds.index("standing") if "standing" in kinds else -2)
    t_board, t_platform = legs["t_board"].to_numpy(), legs["t_platform"].to_numpy()
    boarded = ~np.isnan(t_board)
    ahead = legs["booked_ahead"].to_numpy() if "booked_ahead" in legs else np.zeros(len(legs), dtype=bool)
    wait = t_board - t_platform
    out = {}
    for lc in np.unique(line_code[on_ticket | (missed > 0)]).tolist():
        mine = line_code == lc
        rides = mine & boarded
        n = int(rides.sum())
        out[str(line.cat.categories[lc])] = {
            "rides": n, "standing_share": _num(standing[rides].mean()) if n else None,
            "booked_ahead_share": _num(ahead[rides].mean()) if n else None,
            "missed_trains": int(missed[mine].sum()), "without_ticket": int((mine & ~boarded).sum()),
            "wait_mean_s": _mean(wait[rides]) if n else None,
            "wait_booked_ahead_mean_s": _mean(wait[rides & ahead]) if (rides & ahead).any() else None,
            "wait_bought_on_the_day_mean_s": _mean(wait[rides & ~ahead]) if (rides & ~ahead).any() else None}
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class LegPairs:
    """A legs table read once for the changes of train through every interchange: each pair of a
    commuter's consecutive legs (in leg order) from one station to another, as the position of the
    first in (commuter, leg) order, the two stations (indices into `names`) and the times."""

    names: list[str]
    frm: np.ndarray
    to: np.ndarray
    cid: np.ndarray
    t_alight: np.ndarray
    t_platform: np.ndarray
    t_board: np.ndarray

    @classmethod
    def of(cls, legs: pd.DataFrame) -> LegPairs:
        cid, leg = legs["commuter_id"].to_numpy(), legs["leg"].to_numpy()
        order = np.lexsort((leg, cid)) if len(cid) and not (np.diff(cid * 64 + leg) > 0).all() else slice(None)
        cid = cid[order]
        alight, board = (c if isinstance(c.dtype, pd.CategoricalDtype) else c.astype("category")
                         for c in (legs["alight_station"], legs["board_station"]))
        names = sorted(set(alight.cat.categories) | set(board.cat.categories))
        index = {x: i for i, x in enumerate(names)}

        def codes(col: pd.Series) -> np.ndarray:  # in `names`, -1 for none (the last entry of the lookup)
            lookup = np.asarray([index[x] for x in col.cat.categories] + [-1], dtype=np.int64)
            return lookup[col.cat.codes.to_numpy()[order]]

        a, b = codes(alight), codes(board)
        i = np.flatnonzero((cid[1:] == cid[:-1]) & (a[:-1] >= 0) & (b[1:] >= 0) & (a[:-1] != b[1:]))
        t_alight, t_platform, t_board = (legs[c].to_numpy()[order] for c in ("t_alight", "t_platform", "t_board"))
        return cls(names, a[i], b[i + 1], cid[i], t_alight[i], t_platform[i + 1], t_board[i + 1])

    def between(self, stations: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
        """The pairs from one of `stations` to the other: their positions here and the direction
        (0: from the first)."""
        ids = [self.names.index(x) if x in self.names else -2 for x in stations]
        frm = np.where(self.frm == ids[1], 1, -1)
        frm[self.frm == ids[0]] = 0
        to = np.where(self.to == ids[1], 1, -1)
        to[self.to == ids[0]] = 0
        i = np.flatnonzero((frm >= 0) & (to >= 0) & (frm != to))
        return i, frm[i]


def transfers_between(legs: pd.DataFrame, trips: pd.DataFrame, stations: tuple[str, str],
                      pairs: LegPairs | None = None) -> pd.DataFrame:
    """Every completed change of train between the two stations (either way): commuter, payment
    medium, direction ('a>b'), transfer time (alighting to reaching the next platform: walks, gates,
    security, queues) and onward wait (platform to boarding), in seconds. `pairs`: the legs read
    already (LegPairs.of(legs))."""
    return pd.DataFrame(_transfers(pairs if pairs is not None else LegPairs.of(legs), trips, stations))


def _transfers(pairs: LegPairs, trips: pd.DataFrame, stations: tuple[str, str]) -> dict[str, np.ndarray]:
    """The columns of transfers_between."""
    i, frm = pairs.between(stations)
    t_alight, t_platform, t_board = pairs.t_alight[i], pairs.t_platform[i], pairs.t_board[i]
    done = ~np.isnan(t_platform)
    who = pairs.cid[i][done]
    names = np.asarray([f"{stations[0]}>{stations[1]}", f"{stations[1]}>{stations[0]}"])
    return {
        "commuter_id": who,
        "payment": _payment_of(trips, who),
        "direction": names[frm[done]],
        "transfer_s": (t_platform - t_alight)[done],
        "onward_wait_s": (t_board - t_platform)[done],
    }


def _payment_of(trips: pd.DataFrame, who: np.ndarray) -> np.ndarray:
    """Payment medium (str) of commuters `who`, looked up by commuter id."""
    if not len(who):
        return np.asarray([], dtype=str)
    pos = np.searchsorted(trips["commuter_id"].to_numpy(), who)
    pay = trips["payment"]
    if isinstance(pay.dtype, pd.CategoricalDtype):  # by code: no string per commuter of the whole table
        names = np.asarray([str(x) for x in pay.cat.categories] + ["nan"])
        return names[pay.cat.codes.to_numpy()[pos]]
    return pay.to_numpy()[pos].astype(str)


def _transfer_stats(x: dict[str, np.ndarray]) -> dict:
    """Count, mean and p95 transfer time, mean onward wait (s) of the transfers `x` (columns of
    transfers_between)."""
    n = len(x["transfer_s"])
    return {
        "transfers": n,
        "transfer_mean_s": _num(_series_mean(x["transfer_s"])) if n else None,
        "transfer_p95_s": _num(np.percentile(x["transfer_s"], 95)) if n else None,
        "onward_wait_mean_s": _num(_series_mean(x["onward_wait_s"])) if n else None,
    }


def _series_mean(values: np.ndarray) -> float:
    """The mean of pandas' Series.mean to the bit: NaN summed as 0 and not counted (NaN when none is left)."""
    nan = np.isnan(values)
    n = len(values) - int(nan.sum())
    return float(np.where(nan, 0.0, values).sum() / n) if n else math.nan


def _by_value(x: dict[str, np.ndarray], column: str) -> dict:
    """_transfer_stats of the transfers `x` with each value of `column`, the values sorted."""
    values, code = np.unique(x[column], return_inverse=True)  # compared as codes, not as strings
    return {str(v): _transfer_stats({k: c[code == i] for k, c in x.items()}) for i, v in enumerate(values.tolist())}


def interchange_kpis(legs: pd.DataFrame, trips: pd.DataFrame, stations: tuple[str, str],
                     both_ways: bool = True, pairs: LegPairs | None = None) -> dict:
    """Transfers through one interchange: counts, mean and p95 transfer time, mean onward wait,
    overall, per payment medium and per direction; of a one-way interchange (`both_ways` False),
    those from stations[0] to stations[1] only. `pairs`: the legs read already (LegPairs.of(legs))."""
    x = _transfers(pairs if pairs is not None else LegPairs.of(legs), trips, stations)
    if not both_ways:
        one_way = x["direction"] == f"{stations[0]}>{stations[1]}"
        x = {k: c[one_way] for k, c in x.items()}
    out = _transfer_stats(x)
    out["by_medium"] = _by_value(x, "payment")
    out["by_direction"] = _by_value(x, "direction")
    return out


@dataclass(frozen=True)
class KpiSetup:
    """What the KPIs need besides the tables: named OD group masks over the trips, interchanges (id
    -> its two station ids, and whether both ways), seats and standing area per line, servers per facility id, the start
    of the KPIs (after the warm-up) and named clock windows (s); the peak hour is added."""

    groups: dict[str, np.ndarray] = field(default_factory=dict)
    interchanges: dict[str, tuple[str, str] | tuple[str, str, bool]] = field(default_factory=dict)
    """Interchange id -> its two station ids, and whether it leads both ways (default: yes)."""
    standing: dict[str, tuple[float, float]] = field(default_factory=dict)
    servers: dict[str, int] = field(default_factory=dict)
    kpi_from: float | None = None
    windows: dict[str, tuple[float, float]] = field(default_factory=dict)


def peak_hour(trips: pd.DataFrame) -> tuple[float, float]:
    """The hour, starting on a half hour, in which most commuters set off (s since midnight)."""
    t = np.sort(trips["t_depart"].to_numpy())
    if not len(t):
        return 0.0, 3600.0
    starts = np.arange(np.floor(t[0] / 1800.0) * 1800.0, t[-1] + 1, 1800.0)
    counts = np.searchsorted(t, starts + 3600.0) - np.searchsorted(t, starts)
    best = float(starts[int(np.argmax(counts))])
    return best, best + 3600.0


def disruption_kpis(trips: pd.DataFrame) -> dict:
    """Commuters the scenario's disruptions touched (trips `disruption`), each counted once:
    `put_off` (aboard a train whose run was cut short, left to wait where it ended), `waited` (the
    others left on a platform by a train shown turning back before their station), `rerouted` (the
    others who, starting during a closure, chose another route than they would have without it);
    of all three, `left` (left the rail network on the way) and `stranded` (still in the network at
    the end), and the mean travel time (s) of those of all three who arrived."""
    kind = trips["disruption"].astype(str) if "disruption" in trips else pd.Series("", index=trips.index)
    touched = trips[kind != ""]
    arrived = touched[touched["status"] == "arrived"]
    return {"put_off": int((kind == "put_off").sum()), "waited": int((kind == "waited").sum()),
            "rerouted": int((kind == "rerouted").sum()),
            "left": int((touched["status"] == "left").sum()),
            "stranded": int((touched["status"] == "in_system").sum()),
            "travel_time_mean_s": _num(float(arrived["travel_time_s"].mean())) if len(arrived) else None}


def crowd_control_kpis(facilities: pd.DataFrame, controls: dict[str, tuple[str, int, float, float]]) -> dict:
    """Per station with crowd control (`controls`: entrance facility id -> station id, holding limit,
    window start and end in s): of the commuters reaching its entrance inside the window, how many
    (`reached_entrance`), how many waited outside (`held`), their time outside (mean, p95, max, s;
    person-hours in all), the longest queue outside (persons, at any time) and those still outside
    at the end of the run."""
    out = {}
    fid = facilities["facility_id"].astype(str).to_numpy() if len(facilities) else np.zeros(0, dtype=str)
    for facility, (station, limit, start, end) in controls.items():
        rows = facilities[fid == facility]
        join, begin = rows["t_join"].to_numpy(dtype=float), rows["t_start"].to_numpy(dtype=float)
        window = (join > start) & (join < end)
        wait = begin[window] - join[window]
        served = ~np.isnan(wait)
        queue_max = int(_longest_queues(join, begin, np.zeros(len(join), dtype=np.int64), 1)[0])
        out[station] = {
            "holding_limit": int(limit), "window": {"from_s": start, "to_s": end},
            "reached_entrance": int(window.sum()), "held": int((wait[served] > 0).sum()),
            "time_outside_mean_s": _num(float(wait[served].mean())) if served.any() else None,
            "time_outside_p95_s": _num(float(np.percentile(wait[served], 95))) if served.any() else None,
            "time_outside_max_s": _num(float(wait[served].max())) if served.any() else None,
            "person_hours_outside": _num(float(wait[served].sum()) / 3600.0),
            "queue_outside_max": queue_max, "still_outside": int((~served).sum())}
    return out


def on_the_way_kpis(trips: pd.DataFrame) -> dict:
    """Choices on the way, over every commuter: how many chose again at least once, took other legs,
    left the rail network (per station where they left, and the mean time (s) from their start to
    leaving), and were still in the network at the end."""
    left = trips[trips["status"] == "left"]
    where = left["left_station"].astype(str).value_counts()
    return {"rechose": int((trips["rechoices"] > 0).sum()), "rerouted": int(trips["rerouted_on_way"].sum()),
            "left": int(len(left)), "left_at": {str(k): int(v) for k, v in where.items() if v},
            "left_after_mean_s": _num(float((left["t_left"] - left["t_depart"]).mean())) if len(left) else None,
            "in_system": int((trips["status"] == "in_system").sum())}


def facility_kpis(facilities: pd.DataFrame, servers: dict[str, int]) -> dict[str, dict]:
    """Per facility with visits: `visits` (joined), `still_queueing` (joined, not served by the end),
    mean and p95 queueing wait of those served (join to start of service, s), longest queue (persons
    waiting at once, counting those never served) and `utilisation_busiest_hour`: the largest share of
    server time busy in one clock hour (service time split exactly between hours / (servers x 3600 s))."""
    if facilities.empty:
        return {}
    ids = facilities["facility_id"]
    ids = ids if isinstance(ids.dtype, pd.CategoricalDtype) else ids.astype("category")
    # the codes as pandas keeps them (8 or 16 bits): every step below widens what it needs, and lets
    # it go before the next (a city's day has tens of millions of visits)
    names, code = [str(x) for x in ids.cat.categories], ids.cat.codes.to_numpy()
    n = len(names)
    join, start, end = (facilities[c].to_numpy(dtype=float) for c in ("t_join", "t_start", "t_end"))
    visits = np.bincount(code, minlength=n)
    # the three are sorts and searches that mostly release the GIL: run at once, they keep both cores
    # busy (a city's day: 6.5 s one after the other, 3.8 s at once, holding about a gigabyte more)
    with ThreadPoolExecutor(max_workers=2) as pool:
        waits = pool.submit(_waits, join, start, code, n)
        queues = pool.submit(_longest_queues, join, start, code, n)
        peak_busy = _busiest_hour(start, end, code, n)
        (n_served, mean_wait, p95), longest = waits.result(), queues.result()
    out = {}
    for k in np.flatnonzero(visits).tolist():
        name = names[k]
        srv = servers.get(str(name), 1)
        out[str(name)] = {"visits": int(visits[k]), "still_queueing": int(visits[k] - n_served[k]),
                          "wait_mean_s": _num(mean_wait[k]), "wait_p95_s": _num(p95[k]), "queue_max": int(longest[k]),
                          "utilisation_busiest_hour": _num(peak_busy[k] / (srv * 3600.0))}
    return out


def _waits(join: np.ndarray, start: np.ndarray, code: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group code (0..n-1) of visits joining at `join` and starting service at `start` (NaN:
    never): the visits served, their mean and 95th-percentile queueing wait (s; NaN without any)."""
    served = ~np.isnan(start)
    n_served = np.bincount(code[served], minlength=n)
    wait, wcode = start[served] - join[served], code[served]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_wait = np.bincount(wcode, weights=wait, minlength=n) / n_served
    return n_served, mean_wait, _grouped_p95(wait, wcode, n_served)


def _longest_queues(join: np.ndarray, start: np.ndarray, code: np.ndarray, n: int) -> np.ndarray:
    """Per group code (0..n-1) of visits joining at `join` and starting at `start` (NaN: never, they
    wait to the end): the most persons waiting at once (joined by t less started by t, those starting
    at t first). A visit that starts the moment it joins adds one and takes one away at the same
    times: only visits that waited count. The queue is longest just after a join: at each join, the
    joins of its group up to its time (ties included) less the starts up to then, both counted by
    binary search in the group's times, sorted as group code x span + time."""
    waited = ~(start <= join)
    out = np.zeros(n, dtype=np.int64)
    if not waited.any():
        return out
    began = waited & ~np.isnan(start)
    span = float(max(join[waited].max(), start[began].max(initial=0.0))) + 1.0
    joins = np.sort(code[waited] * span + join[waited])
    starts = np.sort(code[began] * span + start[began])
    bounds = np.arange(n + 1) * span
    j, s = np.searchsorted(joins, bounds), np.searchsorted(starts, bounds)
    # a group at a time: the counts for all visits at once would take several arrays of every visit
    for k in np.flatnonzero(np.diff(j)).tolist():
        times = joins[j[k]:j[k + 1]]
        queue = np.searchsorted(times, times, side="right") - np.searchsorted(starts[s[k]:s[k + 1]], times, side="right")
        out[k] = queue.max()
    return out


def _grouped_p95(values: np.ndarray, code: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """95th percentile of `values` per group code (linear interpolation between order statistics,
    as numpy's percentile); NaN for empty groups."""
    out = np.full(len(counts), np.nan)
    v = values[_by_code(code, len(counts))]
    bounds = np.concatenate([[0], np.cumsum(counts)])
    for k in np.flatnonzero(counts):
        out[k] = np.percentile(v[bounds[k]:bounds[k + 1]], 95)
    return out


def _by_code(code: np.ndarray, n: int) -> np.ndarray:
    """A stable order grouping `code` (0..n-1): a radix sort where the codes fit 16 bits."""
    return np.argsort(code.astype(np.int16) if n < 2**15 else code, kind="stable")


def _busiest_hour(start: np.ndarray, end: np.ndarray, code: np.ndarray, n: int) -> np.ndarray:
    """Per group code (n groups): the most server-seconds busy in one clock hour, each service split
    exactly between the hours it spans (services still running at the end count up to their
    recorded end only)."""
    out = np.zeros(n)
    order = _by_code(code, n)
    bounds = np.searchsorted(code[order], np.arange(n + 1))
    # a group at a time (its visits in input order, so each hour's sum adds them as over all at once):
    # the hours of every visit at once would take several arrays of every visit
    for k in np.flatnonzero(np.diff(bounds)).tolist():
        mine = order[bounds[k]:bounds[k + 1]]
        s, e = start[mine], end[mine]
        done = ~np.isnan(s) & ~np.isnan(e)
        if done.any():
            out[k] = _hours_busy(s[done], e[done]).max()
    return out


def _hours_busy(s: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Server-seconds busy in each clock hour from the first service's to the last's, each service
    (start s, end e) split exactly between the hours it spans."""
    h0 = np.floor(s / 3600.0).astype(np.int64)
    first, hours = int(h0.min()), int(np.floor(e.max() / 3600.0)) - int(h0.min()) + 1
    busy = np.zeros(hours)
    for k in range(int((np.floor(e / 3600.0).astype(np.int64) - h0).max()) + 1):
        if k:  # only services running past the hour they start in have a part in later hours
            spill = e > (h0 + k) * 3600.0
            s, e, h0 = s[spill], e[spill], h0[spill]
        part = np.clip(np.minimum(e, (h0 + k + 1) * 3600.0) - np.maximum(s, (h0 + k) * 3600.0), 0.0, None)
        busy += np.bincount(np.minimum(h0 + k - first, hours - 1), weights=part, minlength=hours)
    return busy


TRIP_COLUMNS = ("commuter_id", "t_depart", "origin", "segment", "payment", "status", "travel_time_s", *COMPONENTS,
                "denied_boardings", "denied_wait_s", "n_transfers", "fare_cny", "modes")
"""The trips columns the KPIs of summarize read (TripColumns, stations, segments, windows, payment)."""
LEG_COLUMNS = ("commuter_id", "leg", "line", "train_id", "board_station", "alight_station", "t_platform", "t_board", "t_alight",
               "ticket", "missed_trains", "booked_ahead")
"""The legs columns they read (boardings, reserved seats, changes of train)."""
FARE_COLUMNS = ("commuter_id", "operator", "fare_cny", "t_board")
"""The fares columns they read (revenue; `t_board` where legs stand for the fares)."""


def _only(df: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """`df` with those of `columns` it has (no copy: the subsets of it then copy these alone)."""
    return df[[c for c in columns if c in df.columns]]


def _of_commuters(df: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    """The rows of `df` whose `commuter_id` is one of `ids` (non-negative ints), by a lookup table."""
    cid = df["commuter_id"].to_numpy()
    if not len(cid):
        return df
    member = np.zeros(int(max(cid.max(), ids.max(initial=0))) + 1, dtype=bool)
    member[ids] = True
    return df[member[cid]]


def summarize(trips: pd.DataFrame, legs: pd.DataFrame, trains: pd.DataFrame,
              facilities: pd.DataFrame | None = None, setup: KpiSetup | None = None,
              fares: pd.DataFrame | None = None) -> dict:
    """summary.json: KPIs of the commuters starting at or after the warm-up (`setup.kpi_from`) and
    of the train calls and facility visits from then on: overall, per line, operator, segment, named
    group, interchange and facility; the same for each named window and the peak hour
    (`windows`); with a warm-up, `warm_up` (its end, commuters left out, everyone's trip KPIs)."""
    setup = setup or KpiSetup()
    visit_columns = ["facility_id", "t_join", "t_start", "t_end", "commuter_id"]  # what facility_kpis reads
    facilities = facilities[visit_columns] if facilities is not None else pd.DataFrame(columns=visit_columns)
    fares = _only(fares if fares is not None else legs, FARE_COLUMNS)
    trips, legs = _only(trips, TRIP_COLUMNS), with_train_lines(_only(legs, LEG_COLUMNS), trains)
    return _summarize(trips, TripColumns(trips), legs, trains, facilities, setup, fares)


def visit_summary(facilities: pd.DataFrame, trips: pd.DataFrame, setup: KpiSetup) -> dict:
    """summary.json's `facilities` as summarize finds it, from the facility visits and the trips'
    `commuter_id` and `t_depart` alone (the visits of commuters starting at or after the warm-up)."""
    if setup.kpi_from is not None:
        keep = (trips["t_depart"] >= setup.kpi_from).to_numpy()
        facilities = _of_commuters(facilities, trips["commuter_id"].to_numpy()[keep])
    return facility_kpis(facilities, setup.servers)


def _summarize(trips: pd.DataFrame, columns: TripColumns, legs: pd.DataFrame, trains: pd.DataFrame,
               facilities: pd.DataFrame, setup: KpiSetup, fares: pd.DataFrame) -> dict:
    """summarize, given the TripColumns of `trips` (subsets take theirs from them)."""
    if setup.kpi_from is not None:
        keep = (trips["t_depart"] >= setup.kpi_from).to_numpy()
        ids = trips["commuter_id"].to_numpy()[keep]
        out = _summarize(trips[keep], columns.take(keep), _of_commuters(legs, ids),
                         trains[trains["t_depart"] >= setup.kpi_from], _of_commuters(facilities, ids),
                         KpiSetup({k: m[keep] for k, m in setup.groups.items()}, setup.interchanges, setup.standing,
                                  setup.servers, None, setup.windows), _of_commuters(fares, ids))
        out["warm_up"] = {"until_s": setup.kpi_from, "commuters_excluded": int((~keep).sum()),
                          "all_commuters": trip_kpis(columns)}
        return out
    # the facility KPIs are sorts and searches that release the GIL: a second thread computes them while
    # this one computes the others
    with ThreadPoolExecutor(max_workers=1) as pool:
        facility = pool.submit(facility_kpis, facilities, setup.servers)
        out = _kpis(trips, columns, legs, trains, setup, fares)
        out["facilities"] = facility.result()
    out["windows"] = {}
    t0, t1 = peak_hour(trips)
    for name, (w0, w1) in {"peak_hour": (t0, t1), **setup.windows}.items():
        inside = ((trips["t_depart"] >= w0) & (trips["t_depart"] < w1)).to_numpy()
        ids = trips["commuter_id"].to_numpy()[inside]
        win = _kpis(trips[inside], columns.take(inside), _of_commuters(legs, ids),
                    trains[(trains["t_depart"] >= w0) & (trains["t_depart"] < w1)],
                    KpiSetup({k: m[inside] for k, m in setup.groups.items()}, setup.interchanges, setup.standing),
                    _of_commuters(fares, ids))
        out["windows"][name] = {"from_s": w0, "to_s": w1, **win}
    return out


def _kpis(trips: pd.DataFrame, columns: TripColumns, legs: pd.DataFrame, trains: pd.DataFrame, setup: KpiSetup,
          fares: pd.DataFrame) -> dict:
    """Trip, line, revenue, interchange, segment and group KPIs of the given rows (`columns`: those of `trips`)."""
    out = trip_kpis(columns)
    out["peak_load_factor"] = peak_load_factor(trains)
    out["peak_standing_density_p_m2"] = peak_standing_density(trains, setup.standing)
    out["fare_revenue_cny"] = revenue_by_operator(fares)
    out["line_boardings"] = line_boardings(legs)
    out["station_entries"] = ({str(k): int(v) for k, v in trips["origin"].value_counts(sort=False).items() if v}
                              if "origin" in trips else {})
    seats = reserved_seat_kpis(legs)
    if seats:
        out["reserved_seats"] = seats
    out["interchanges"] = _interchanges(legs, trips, setup)
    out["segments"] = _segment_kpis(trips["segment"], columns)
    out["groups"] = {}
    for name, mask in setup.groups.items():
        ids = trips["commuter_id"].to_numpy()[mask]
        g = trip_kpis(columns, np.asarray(mask, dtype=bool))
        mine = _of_commuters(legs, ids)
        g["fare_revenue_cny"] = revenue_by_operator(_of_commuters(fares, ids))
        g["line_boardings"] = line_boardings(mine)  # the lines the group rides: where it goes on a network
        seats = reserved_seat_kpis(mine)
        if seats:
            g["reserved_seats"] = seats
        g["interchanges"] = _interchanges(mine, trips, setup)
        out["groups"][name] = g
    return out


def _segment_kpis(segment: pd.Series, columns: TripColumns) -> dict:
    """trip_kpis of each segment (a category of `segment`, whose trips `columns` are): the columns
    put in segment order once (a stable order: each segment's trips as they come), each segment
    then a slice of them."""
    code = segment.cat.codes.to_numpy()
    order = _by_code(code, len(segment.cat.categories))
    bounds = np.searchsorted(code[order], np.arange(len(segment.cat.categories) + 1))
    by_segment = columns.take(order)
    return {str(s): trip_kpis(by_segment.take(slice(bounds[k], bounds[k + 1])))
            for k, s in enumerate(segment.cat.categories)}


def _interchanges(legs: pd.DataFrame, trips: pd.DataFrame, setup: KpiSetup) -> dict:
    """interchange_kpis of every interchange of `setup`, the legs read once for all."""
    pairs = LegPairs.of(legs) if setup.interchanges else None
    return {k: interchange_kpis(legs, trips, (st[0], st[1]), len(st) < 3 or bool(st[2]), pairs)
            for k, st in setup.interchanges.items()}


DIGITS = (("share", 4), ("factor", 4), ("utilisation", 4), ("_s", 1), ("_cny", 2), ("_p_m2", 3), ("_mean", 3))
"""Decimals kept in summary.json by the KPI's name: the first rule whose word the name contains
(share, factor, utilisation) or whose suffix it ends with; others keep 4."""


def rounded(summary):
    """A copy of a summary with every float rounded to the precision of its kind (DIGITS)."""
    def digits(key: str) -> int | None:
        return next((d for part, d in DIGITS if (key.endswith(part) if part.startswith("_") else part in key)), None)

    def walk(value, key: str = ""):
        if isinstance(value, dict):  # ids as keys (lines, operators) inherit their parent's kind
            return {k: walk(v, str(k) if digits(str(k)) is not None else key) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if isinstance(value, float) and math.isfinite(value):
            d = digits(key)
            return round(value, 4 if d is None else d)
        return value

    return walk(summary)


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


SHARE_MAPS = frozenset({"mode_shares", "mode_counts", "rail_access_shares", "line_boardings", "station_entries"})
"""Keys of summary maps of shares (and counts by mode): a key missing from one replication's map is 0 there."""


def mean_summary(summaries: list[dict], missing_is_zero: bool = False) -> dict:
    """The summaries of replications as one: every number the mean over the replications that have it
    (None where none has; in a map of shares, SHARE_MAPS, over every replication, a missing share
    counting 0), lists (warnings) merged without repeats, other values from the first."""
    first = summaries[0]
    if isinstance(first, dict):
        keys = list(dict.fromkeys(k for s in summaries if isinstance(s, dict) for k in s))
        if missing_is_zero:
            return {k: mean_summary([s.get(k, 0.0) for s in summaries if isinstance(s, dict)]) for k in keys}
        return {k: mean_summary([s[k] for s in summaries if isinstance(s, dict) and k in s], k in SHARE_MAPS)
                for k in keys}
    if isinstance(first, list):
        merged = [x for s in summaries for x in s]
        return list(dict.fromkeys(merged)) if all(isinstance(x, str) for x in merged) else first
    numbers = [float(v) for v in summaries if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if numbers or all(v is None for v in summaries):
        return float(np.mean(numbers)) if numbers else None
    return first


def confidence_intervals(summaries: list[dict], level: float = 0.95) -> dict[str, dict]:
    """Mean and t-based confidence interval of every numeric KPI across replications."""
    flat = [flatten(s) for s in summaries]
    keys = sorted(set().union(*flat)) if flat else []
    out = {}
    for k in keys:
        in_share_map = any(part in SHARE_MAPS for part in k.split(".")[:-1])  # a missing share is 0 there
        vals = np.asarray([f.get(k, 0.0) if in_share_map else f[k] for f in flat
                           if (in_share_map or k in f) and f.get(k, 0.0) is not None], dtype=float)
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
