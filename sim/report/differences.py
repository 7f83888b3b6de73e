"""Differences between compared runs, for the comparison's difference charts and warnings: whether
two runs have the same commuters (then each commuter's change of travel time is known), percentile
changes with confidence intervals over replications when they do not, the change of each part of
the trip, transfer times with their intervals, and whether a comparison is like for like.

A compared run is a `RunSet` (sim.report.compare): its replications, each a loaded run directory.
Confidence intervals are 95 % t intervals over replications, paired replication by replication
when the two runs share their seeds (common random numbers), Welch's otherwise.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..io import LoadedRun
from ..plotting.compare import TIME_PARTS

if TYPE_CHECKING:
    from .compare import RunSet

PERCENTILES = (10, 25, 50, 75, 85, 95)
"""Travel-time percentiles compared when the runs' commuters differ."""
ALL = "all commuters"
PART_COLUMNS = [c for c, _, _ in TIME_PARTS] + ["travel_time_s"]


def t_half(values: np.ndarray, level: float = 0.95) -> float:
    """Student t half-width of the mean of `values` (NaN with fewer than two)."""
    if len(values) < 2:
        return float("nan")
    from scipy import stats  # imported here: scipy.stats takes half a second to import

    return float(stats.t.ppf((1 + level) / 2, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))


def difference_ci(a: np.ndarray, b: np.ndarray, paired: bool, level: float = 0.95) -> tuple[float, float]:
    """Mean of b - a and the half-width of its confidence interval: paired (replication by
    replication) or Welch's unpaired interval; NaN half-width with one replication."""
    if paired:
        d = b - a
        return float(d.mean()), t_half(d, level)
    diff = float(b.mean() - a.mean())
    if len(a) < 2 or len(b) < 2:
        return diff, float("nan")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if va + vb > 0 else 1.0
    from scipy import stats

    return diff, float(stats.t.ppf((1 + level) / 2, dof) * math.sqrt(va + vb))


def paired(ref: RunSet, other: RunSet) -> bool:
    """Whether replication r of `other` can be paired with replication r of `ref`: as many, with the
    same seeds."""
    return len(ref.reps) == len(other.reps) and ref.seeds == other.seeds


def same_commuters(ref: RunSet, other: RunSet) -> bool:
    """Whether the two runs have the same commuters, replication by replication (same seed and
    demand): row by row the same commuter id, origin, destination and start time."""
    return (ref.has_tables and other.has_tables and paired(ref, other)
            and all(_same_rows(a.trips, b.trips) for a, b in zip(ref.reps, other.reps)))


def _same_rows(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    if len(a) != len(b):
        return False
    ids = all(np.array_equal(a[c].astype(str).to_numpy(), b[c].astype(str).to_numpy()) for c in ("origin", "destination"))
    return ids and all(np.array_equal(a[c].to_numpy(), b[c].to_numpy()) for c in ("commuter_id", "t_depart"))


def _counted(run: LoadedRun) -> np.ndarray:
    """Rows of the run's trips that its KPIs count (starting at or after the warm-up)."""
    warm = run.summary.get("warm_up")
    t = run.trips["t_depart"].to_numpy(dtype=float)
    return t >= warm["until_s"] if warm else np.ones(len(t), dtype=bool)


def _groups(run: LoadedRun) -> dict[str, np.ndarray]:
    """The panels of the difference charts over the run's trips: all commuters and each named OD group."""
    trips = run.trips
    return {ALL: np.ones(len(trips), dtype=bool),
            **{c[len("group_"):]: trips[c].to_numpy(dtype=bool) for c in trips.columns if c.startswith("group_")}}


def _arrived(run: LoadedRun) -> np.ndarray:
    return (run.trips["status"] == "arrived").to_numpy() & _counted(run)


def commuter_changes(ref: RunSet, others: dict[str, RunSet]) -> dict[str, dict[str, np.ndarray]]:
    """Per panel (all commuters, each named group of the reference) and run: each commuter's travel
    time in that run minus in the reference (s), over the commuters the KPIs count who arrived in
    both, pooled over the replications. `others` must have the reference's commuters."""
    panels: dict[str, dict[str, np.ndarray]] = {g: {} for g in _groups(ref.reps[0])}
    for label, run in others.items():
        parts: dict[str, list[np.ndarray]] = {g: [] for g in panels}
        for a, b in zip(ref.reps, run.reps):
            both = _arrived(a) & _arrived(b)
            d = b.trips["travel_time_s"].to_numpy(dtype=float) - a.trips["travel_time_s"].to_numpy(dtype=float)
            for g, mask in _groups(a).items():
                parts[g].append(d[both & mask])
        for g in panels:
            panels[g][label] = np.concatenate(parts[g])
    return panels


def _per_rep(run: RunSet, panel: str, what) -> np.ndarray:
    """`what(trips)` of each replication's counted, arrived trips of a panel (NaN without any)."""
    out = []
    for rep in run.reps:
        mask = _arrived(rep) & _groups(rep).get(panel, np.zeros(len(rep.trips), dtype=bool))
        trips = rep.trips[mask]
        out.append(what(trips) if len(trips) else np.nan)
    return np.asarray(out, dtype=float)


def percentile_changes(ref: RunSet, others: dict[str, RunSet]) -> pd.DataFrame:
    """Per panel, run and percentile (PERCENTILES): the change of the travel-time percentile against
    the reference (s, the mean over replications) and its 95 % half-width over replications."""
    rows = []
    for panel in _groups(ref.reps[0]):
        for label, run in others.items():
            for p in PERCENTILES:
                def pct(trips: pd.DataFrame, p: float = p) -> float:
                    return float(np.percentile(trips["travel_time_s"].to_numpy(dtype=float), p))
                a, b = _per_rep(ref, panel, pct), _per_rep(run, panel, pct)
                ok = np.isfinite(a).all() and np.isfinite(b).all()
                change, half = difference_ci(a, b, paired(ref, run)) if ok else (np.nan, np.nan)
                rows.append({"panel": panel, "run": label, "percentile": p, "change_s": change, "half_s": half})
    return pd.DataFrame(rows, columns=["panel", "run", "percentile", "change_s", "half_s"])


def part_changes(ref: RunSet, others: dict[str, RunSet]) -> dict[str, pd.DataFrame]:
    """Per panel: for each run the change of the mean time per commuter in each part of the trip and
    door to door against the reference (s; columns PART_COLUMNS, mean over replications) and the 95 %
    half-widths (the same names with `_half`)."""
    out = {}
    for panel in _groups(ref.reps[0]):
        table = {}
        for label, run in others.items():
            row = {}
            for col in PART_COLUMNS:
                def mean(trips: pd.DataFrame, col: str = col) -> float:
                    return float(trips[col].mean())
                a, b = _per_rep(ref, panel, mean), _per_rep(run, panel, mean)
                ok = np.isfinite(a).all() and np.isfinite(b).all()
                row[col], row[f"{col}_half"] = difference_ci(a, b, paired(ref, run)) if ok else (np.nan, np.nan)
            table[label] = row
        out[panel] = pd.DataFrame.from_dict(table, orient="index")
    return out


def transfer_table(runs: dict[str, RunSet]) -> pd.DataFrame:
    """Per interchange, payment medium and run: mean transfer time and onward wait (s, means over
    replications), transfers, and the 95 % half-widths over replications of the transfer time and
    of transfer plus onward wait (NaN with one replication)."""
    rows = []
    for label, run in runs.items():
        keys = dict.fromkeys((ic, m) for rep in run.reps for ic, v in rep.summary.get("interchanges", {}).items()
                             for m in v.get("by_medium", {}))
        for ic, medium in keys:
            stats = [rep.summary.get("interchanges", {}).get(ic, {}).get("by_medium", {}).get(medium) for rep in run.reps]
            walk = np.asarray([s["transfer_mean_s"] if s and s["transfer_mean_s"] is not None else np.nan
                               for s in stats], dtype=float)
            wait = np.asarray([s["onward_wait_mean_s"] if s and s["onward_wait_mean_s"] is not None else np.nan
                               for s in stats], dtype=float)
            both = walk + wait
            rows.append({"interchange": ic, "medium": medium, "run": label,
                         "transfer_mean_s": np.nanmean(walk) if np.isfinite(walk).any() else np.nan,
                         "onward_wait_mean_s": np.nanmean(wait) if np.isfinite(wait).any() else np.nan,
                         "transfers": float(np.mean([s["transfers"] if s else 0 for s in stats])),
                         "transfer_half_s": t_half(walk[np.isfinite(walk)]),
                         "total_half_s": t_half(both[np.isfinite(both)])})
    return pd.DataFrame(rows)


def like_for_like(sets: list[RunSet], labels: list[str]) -> list[str]:
    """What makes the comparison of each run with the first (the reference) not like for like: a
    single run against replications (or other counts of replications), other seeds, another engine
    or other commuters; one sentence each, empty when the runs compare like for like."""
    ref, notes = sets[0], []
    ref_engine = {r.manifest.get("engine") for r in ref.reps}
    for run, label in zip(sets[1:], labels[1:]):
        n, m = len(ref.reps), len(run.reps)
        if n != m:
            single = label if m == 1 else labels[0] if n == 1 else None
            notes.append(f"Not like for like: {labels[0]} has {_reps(n)} and {label} {_reps(m)}. "
                         + (f"A single run ({single}) carries the chance variation of its one seed, so the "
                            "difference has no confidence interval. " if single else "")
                         + "Compare runs with the same replications (run --replications N, the same N, for both).")
        elif run.seeds != ref.seeds:
            notes.append(f"{label} and {labels[0]} were run with other seeds ({_seeds(run)} against {_seeds(ref)}): "
                         "their differences include the chance variation between seeds (unpaired Welch intervals).")
        if {r.manifest.get("engine") for r in run.reps} != ref_engine:
            notes.append(f"{label} and {labels[0]} were run by different engines.")
        if n == m and run.seeds == ref.seeds and run.has_tables and ref.has_tables and not same_commuters(ref, run):
            chose = all("mode_choice" in r.summary for r in run.reps + ref.reps)
            why = ("the commuters drawn between zones chose other modes or stations: see the mode-choice rows"
                   if chose else "other demand")
            notes.append(f"{label} has other commuters than {labels[0]} ({why}): travel times are compared "
                         "by percentiles, not commuter by commuter.")
    return notes


def _reps(n: int) -> str:
    return "one run (no replications)" if n == 1 else f"the mean of {n} replications"


def _seeds(run: RunSet) -> str:
    seeds = sorted(set(run.seeds))
    return ", ".join(str(s) for s in seeds[:3]) + (", ..." if len(seeds) > 3 else "")
