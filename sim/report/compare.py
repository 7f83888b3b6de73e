"""Comparing runs: a KPI table with differences against the first run (confidence intervals across
replications, paired where the runs share seeds), the comparison charts with their difference
views (see differences), what each run was and whether they compare like for like.

A run is a run directory, or a directory of replications (`rep-000/`, `rep-001/`, ...) whose
replication r is paired with replication r of every other run when their seeds match.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import plotting
from ..errors import UserError
from ..io import LoadedRun, load_results
from ..metrics import flatten
from ..ownership import read_marker
from ..plotting.run import served_stations
from . import differences
from .charts import Job, chart_job, path_sections_mean, render
from .differences import difference_ci, t_half
from .view import RunInfo, RunView

__all__ = ["RunSet", "compare_runs", "difference_ci", "kpi_table", "load_run_set"]

HEADLINE = [
    ("commuters", "commuters"), ("arrived", "arrived"), ("left", "left the rail network on the way"),
    ("in_system", "still in the network at the end"), ("travel_time_mean_s", "travel time, mean (min)"),
    ("travel_time_p50_s", "travel time, p50 (min)"), ("travel_time_p95_s", "travel time, p95 (min)"),
    ("access_mean_s", "access (min)"), ("wait_mean_s", "wait (min)"), ("in_vehicle_mean_s", "in vehicle (min)"),
    ("transfer_mean_s", "transfer (min)"), ("egress_mean_s", "egress (min)"), ("transfers_mean", "transfers per trip"),
    ("denied_commuters", "commuters denied boarding at least once"),
    ("denied_share", "share denied boarding at least once"),
    ("denied_wait_mean_s", "denied commuters' wait from the first denial, mean (min)"), ("fare_mean_cny", "fare, mean (CNY)"),
]
"""KPIs of the Markdown table (flattened summary name, label); per group, line, operator and
interchange their own rows follow."""


@dataclass(frozen=True)
class RunSet:
    """One compared run: its label and its replications (one or more run directories)."""

    label: str
    reps: list[LoadedRun]

    @property
    def seeds(self) -> list[int]:
        return [int(r.manifest.get("seed", -1)) for r in self.reps]


    @property
    def has_tables(self) -> bool:
        return all(r.trips is not None for r in self.reps)

    @property
    def info(self) -> RunInfo:
        """What was run: the first replication's scenario and overrides, every replication's seed."""
        first = RunInfo.of_manifest(self.reps[0].manifest, self.reps[0].summary)
        source = str(self.reps[0].path.parent) if len(self.reps) > 1 else str(self.reps[0].path)
        return first.pooled([RunInfo.of_manifest(r.manifest, r.summary) for r in self.reps[1:]], source)


def load_run_set(path: Path) -> RunSet:
    """A run directory, a directory of replications, or a sweep point (`SWEEP_DIR/<point id>`: its
    replications' run directories, which may hold only their summary and manifest)."""
    path = Path(path)
    if not path.exists() and _is_sweep(path.parent):
        return _sweep_point(path.parent, path.name)
    if not path.exists():
        raise UserError.single(str(path), "", "does not exist")
    reps = sorted(p for p in path.glob("rep-*") if p.is_dir())
    runs = [load_results(p) for p in reps] if reps else [load_results(path)]
    return RunSet(runs[0].manifest.get("scenario_name", path.name), runs)


def _is_sweep(path: Path) -> bool:
    """A sweep directory (its marker; `sweep.json` in those written by earlier versions)."""
    marker = read_marker(path)
    return (marker is not None and marker.kind == "sweep") or (path / "sweep.json").is_file()


NOT_KEPT: Any = None
"""A table a sweep's run did not keep (LoadedRun types its tables as DataFrames; RunSet.has_tables
tells)."""


def _sweep_point(sweep_dir: Path, point: str) -> RunSet:
    dirs = sorted(p for p in (sweep_dir / "runs").glob(f"{point}-r*") if (p / "summary.json").is_file())
    if not dirs:
        raise UserError.single(str(sweep_dir / point), "", f"no complete run of point '{point}' in this sweep")
    runs = [load_results(d) if (d / "trips.parquet").is_file() else LoadedRun(
        path=d, trips=NOT_KEPT, legs=NOT_KEPT, trains=NOT_KEPT, facilities=NOT_KEPT, fares=NOT_KEPT,
        summary=json.loads((d / "summary.json").read_text(encoding="utf-8")),
        manifest=json.loads((d / "manifest.json").read_text(encoding="utf-8"))) for d in dirs]
    manifest = sweep_dir / "manifest.json"
    labels = json.loads(manifest.read_text(encoding="utf-8")).get("points", {}) if manifest.is_file() else {}
    label = labels.get(point, {}).get("label")
    return RunSet(f"{point}: {label}" if label else point, runs)


def _labels(sets: list[RunSet]) -> list[str]:
    """Run labels, made unique with the directory name where scenario names repeat."""
    names = [s.label for s in sets]
    return [n if names.count(n) == 1 else f"{n} ({s.reps[0].path.parent.name if len(s.reps) > 1 else s.reps[0].path.name})"
            for n, s in zip(names, sets)]


def kpi_table(sets: list[RunSet]) -> pd.DataFrame:
    """Every numeric KPI (flattened summary name) of every run: mean over replications and the
    95 % half-width, and the difference against the first run with its half-width (paired when the
    two runs have the same seeds)."""
    labels = _labels(sets)
    flat = [[flatten(r.summary) for r in s.reps] for s in sets]
    keys = sorted(set().union(*[set().union(*f) for f in flat]))
    for run_flats in flat:
        for one in run_flats:
            _absent_modes_as_zero(one, keys)
    rows = []
    base = flat[0]
    for key in keys:
        row: dict = {"kpi": key}
        a = np.asarray([f.get(key, np.nan) for f in base], dtype=float)
        for label, s, f in zip(labels, sets, flat):
            v = np.asarray([x.get(key, np.nan) for x in f], dtype=float)
            row[label] = float(np.nanmean(v)) if np.isfinite(v).any() else np.nan
            row[f"{label} \u00b1"] = t_half(v[np.isfinite(v)])
            if s is not sets[0]:
                paired = s.seeds == sets[0].seeds and len(v) == len(a)
                ok = np.isfinite(a).all() and np.isfinite(v).all()
                d, h = difference_ci(a, v, paired) if ok else (np.nan, np.nan)
                row[f"{label} - {labels[0]}"] = d
                row[f"{label} - {labels[0]} \u00b1"] = h
        rows.append(row)
    return pd.DataFrame(rows)


def _absent_modes_as_zero(flat: dict[str, float], keys: list[str]) -> None:
    """Give a run's mode shares (`mode_shares.<modes>`, `groups.<g>.mode_shares.<modes>`) the modes
    that other runs have and it has not, as 0: a summary lists only the modes ridden, so a mode that
    appears (the bus bridge's, leaving the network) or disappears would otherwise show no change."""
    parents = {k.rsplit(".", 1)[0] for k in flat if k.rsplit(".", 1)[0].endswith(("mode_shares", "mode_counts"))}
    for key in keys:
        parent = key.rsplit(".", 1)[0]
        if parent in parents and key not in flat:
            flat[key] = 0.0


COUNTS = ("commuters", "arrived", "in_system", "left", "put_off", "waited", "rerouted", "stranded", "rechose",
          "buses", "riders", "denials", "denied_boardings", "transfers", "visits", "queue_max")


def _fmt(key: str, value: float, signed: bool = False) -> str:
    """A KPI value for the tables: times in minutes (2 decimals), shares and factors 3 decimals,
    money 2 decimals, counts whole; differences (`signed`) with their sign, 0 without one."""
    if value is None or not np.isfinite(value):
        return "\u2013"
    if key.endswith("_s") or "_s." in key:  # a time, or a map of times (door_to_door_mean_s.<mode>)
        value, spec = value / 60, ",.2f"
    elif "share" in key or "factor" in key:
        spec = ".3f"
    elif key.endswith(COUNTS) or ".mode_counts." in key:
        spec = ",.0f"
    elif key.endswith("_cny") or key.endswith("_mean"):
        spec = ",.2f"
    else:
        spec = ",.0f" if abs(value) >= 100 else ",.2f"
    text = format(value, spec)
    if text.lstrip("-").strip("0.,") == "":
        return format(0.0, spec)
    return ("+" + text if signed and value > 0 else text)


RESERVED_SEATS = {"rides": "rides", "standing_share": "share on a standing ticket",
                  "booked_ahead_share": "share booked ahead", "missed_trains": "trains missed",
                  "wait_mean_s": "wait on the platform (min)"}
"""Rows of a line's reserved-seat KPIs (metrics.reserved_seat_kpis) in the Markdown table, by key."""


def _mode_label(mode: str) -> str:
    """The row label of a mode share (metrics.mode_shares)."""
    return {"left": "share leaving the rail network on the way", "none": "share boarding no train"}.get(
        mode, f"share riding {mode}")


MODE_CHOICE = {"mode_counts": "commuters choosing {}", "mode_shares": "share choosing {}",
               "door_to_door_mean_s": "by {}: door to door, mean (min)"}
"""Rows of summary `mode_choice` (commuters drawn between zones), by key; the count's difference is
the demand that moved."""


def _mode_choice_row(key: str, parts: list[str]) -> list[tuple[str, str]]:
    """The row of a mode-choice KPI (of all zone commuters, or of a segment), if it has one."""
    if len(parts) == 3 and parts[1] in MODE_CHOICE:
        return [(key, "zone commuters: " + MODE_CHOICE[parts[1]].format(parts[2]))]
    if len(parts) == 2 and parts[1] == "trips":
        return [(key, "zone commuters travelling (with trip making: the new trips are its difference)")]
    if len(parts) == 5 and parts[1] in ("segments", "groups") and parts[3] in MODE_CHOICE:
        return [(key, f"{parts[2]}: " + MODE_CHOICE[parts[3]].format(parts[4]))]
    if len(parts) == 4 and parts[1] in ("segments", "groups") and parts[3] == "trips":
        return [(key, f"{parts[2]}: zone commuters travelling")]
    return []


def currency_of(sets: list[RunSet]) -> str:
    """The currency of the runs' amounts ('CNY' for runs that do not say; the currencies joined by
    ' / ' where runs differ)."""
    return " / ".join(sorted({str(r.summary.get("currency", "CNY")) for s in sets for r in s.reps})) or "CNY"


def markdown_rows(table: pd.DataFrame, sets: list[RunSet]) -> list[tuple[str, str]]:
    """(kpi name, label) of the rows of the Markdown table: the headline KPIs, then per named group
    its travel time, transfer time, fare, mode shares, fare revenue per operator and boardings per
    line (the lines it rides), per operator its
    revenue, per line its peak load factor and reserved-seat figures, per interchange and medium the
    transfer time, per KPI window its travel time, denied share and the denied commuters' wait from
    the first denial."""
    keys = set(table["kpi"])
    money = f"({currency_of(sets)})"
    rows = [(k, lab.replace("(CNY)", money)) for k, lab in HEADLINE if k in keys]
    for k in sorted(keys):
        parts = k.split(".")
        if parts[0] == "groups" and len(parts) == 3 and parts[2] in ("travel_time_mean_s", "travel_time_p95_s",
                                                                     "fare_mean_cny", "transfer_mean_s"):
            rows.append((k, f"{parts[1]}: {dict(HEADLINE).get(parts[2], parts[2]).replace('(CNY)', money)}"))
        elif parts[0] == "fare_revenue_cny" and len(parts) == 2:
            rows.append((k, f"fare revenue {parts[1]} {money}"))
        elif parts[0] == "mode_shares" and len(parts) == 2:
            rows.append((k, _mode_label(parts[1])))
        elif parts[0] == "groups" and len(parts) == 4 and parts[2] == "mode_shares":
            rows.append((k, f"{parts[1]}: {_mode_label(parts[3])}"))
        elif parts[0] == "groups" and len(parts) == 4 and parts[2] == "fare_revenue_cny":
            rows.append((k, f"{parts[1]}: fare revenue {parts[3]} {money}"))
        elif parts[0] == "groups" and len(parts) == 4 and parts[2] == "line_boardings":
            rows.append((k, f"{parts[1]}: boardings on {parts[3]}"))
        elif parts[0] == "mode_choice":
            rows += _mode_choice_row(k, parts)
        elif parts[0] == "reserved_seats" and len(parts) == 3 and parts[2] in RESERVED_SEATS:
            rows.append((k, f"reserved seats {parts[1]}: {RESERVED_SEATS[parts[2]]}"))
        elif parts[0] == "peak_load_factor" and len(parts) == 2:
            rows.append((k, f"peak load factor {parts[1]}"))
        elif parts[0] == "interchanges" and len(parts) == 5 and parts[2] == "by_medium" and parts[4] == "transfer_mean_s":
            rows.append((k, f"transfer at {parts[1]}, {parts[3]} (min)"))
        elif parts[0] == "windows" and len(parts) == 3 and parts[2] in ("travel_time_mean_s", "denied_share",
                                                                       "denied_wait_mean_s"):
            window = "peak hour" if parts[1] == "peak_hour" else parts[1]
            rows.append((k, f"{window}: {dict(HEADLINE).get(parts[2], parts[2])}"))
    rows += [(k, f"disruptions: {label}") for k, label in DISRUPTION if k in keys]
    rows += [(k, f"disruption {k.split('.')[2]}: bus bridge {label}") for k in sorted(keys)
             for key, label in (("bus_bridge.buses", "buses"), ("bus_bridge.riders", "riders"))
             if k.startswith("disruptions.closures.") and k.endswith(key)]
    rows += [(k, f"on the way: {label}") for k, label in ON_THE_WAY if k in keys]
    rows += [(k, f"crowd control {k.split('.')[1]}: {label}") for k in sorted(keys) for key, label in CROWD_CONTROL
             if k.startswith("crowd_control.") and k.endswith("." + key)]
    return rows


DISRUPTION = [("disruptions.put_off", "put off a train cut short"),
              ("disruptions.waited", "left waiting by a train turning back"),
              ("disruptions.rerouted", "rerouted knowing of the closure"),
              ("disruptions.left", "of those, left the rail network"),
              ("disruptions.stranded", "of those, still in the network at the end"),
              ("disruptions.travel_time_mean_s", "travel time of those who arrived, mean (min)")]
"""Rows of summary `disruptions` (every commuter, warm-up included)."""
ON_THE_WAY = [("on_the_way.rechose", "chose again at least once"), ("on_the_way.rerouted", "took other legs"),
              ("on_the_way.left", "left the rail network")]
"""Rows of summary `on_the_way` (every commuter)."""
CROWD_CONTROL = [("held", "held outside"), ("time_outside_mean_s", "time outside, mean (min)"),
                 ("queue_outside_max", "longest queue outside")]
"""Rows of summary `crowd_control`, per metered station."""


def cells(table: pd.DataFrame, sets: list[RunSet]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the KPI table: times in minutes, differences against the first run with
    their 95 % confidence half-width where there are replications."""
    labels = _labels(sets)
    header = ["KPI", *labels] + [f"{lab} \u2212 {labels[0]}" for lab in labels[1:]]
    by_key = table.set_index("kpi").to_dict("index")
    rows = []
    for key, label in markdown_rows(table, sets):
        r = by_key[key]
        row = [label]
        for lab in labels:
            h = r.get(f"{lab} \u00b1", np.nan)
            row.append(_fmt(key, float(r[lab])) + (f" \u00b1 {_fmt(key, float(h))}" if np.isfinite(h) else ""))
        for lab in labels[1:]:
            d = float(r.get(f"{lab} - {labels[0]}", np.nan))
            h = float(r.get(f"{lab} - {labels[0]} \u00b1", np.nan))
            text = _fmt(key, d, signed=True)
            row.append(text + (f" \u00b1 {_fmt(key, h)}" if np.isfinite(h) else ""))
        rows.append(row)
    return header, rows


def markdown(table: pd.DataFrame, sets: list[RunSet], notes: list[str] | None = None) -> str:
    """The KPI table in Markdown (see cells), after the comparison's warnings (`notes`, one
    paragraph each, marked as a quote)."""
    header, rows = cells(table, sets)
    lines = [f"> **Warning:** {note}\n" for note in notes or []]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _mode_choice_panels(views: list[RunView]) -> dict[str, pd.DataFrame]:
    """Counts of commuters by mode chosen (rows: runs with zones), of all zone commuters and of
    each zone group; empty when no run has zones."""
    with_zones = [v for v in views if "mode_choice" in v.summary]
    if not with_zones:
        return {}
    panels = {"all commuters between zones": pd.DataFrame(
        {v.label: v.summary["mode_choice"].get("mode_counts", {}) for v in with_zones}).T.fillna(0.0)}
    groups = sorted({g for v in with_zones for g in v.summary["mode_choice"].get("groups", {})})
    for g in groups:
        panels[g] = pd.DataFrame({v.label: v.summary["mode_choice"]["groups"].get(g, {}).get("mode_counts", {})
                                  for v in with_zones}).T.fillna(0.0)
    return panels


def comparison_jobs(sets: list[RunSet], views: list[RunView], out_dir: Path) -> list[Job]:
    """The comparison charts (see plotting.compare) of the runs (replications pooled), with their
    difference views against the first run."""
    labels = [v.label for v in views]
    jobs: list[Job] = []
    groups = sorted(set().union(*[set(v.groups) for v in views]))
    panels = {"all commuters": {v.label: _arrived_tt(v.kpi_trips()) for v in views}}
    for g in groups:
        panels[g] = {v.label: _arrived_tt(v.kpi_trips(g)) for v in views if g in v.groups}
    jobs.append(chart_job(lambda: plotting.travel_time_cdfs(panels), out_dir / "compare_travel_time.png",
                          "Share of commuters arriving within a given door-to-door time, per run, for all commuters and "
                          "each named group (dots: p50, p85, p95); commuters counted by the KPIs (after any warm-up)."))
    jobs += change_jobs(sets, labels, out_dir)
    parts = {name: pd.DataFrame({v.label: _parts(v.kpi_trips(None if name == "all commuters" else name))
                                 for v in views if name == "all commuters" or name in v.groups}).T for name in panels}
    jobs.append(chart_job(lambda: plotting.time_parts(parts), out_dir / "compare_time_parts.png",
                          "Mean travel time split into access, wait, in-vehicle, transfer and egress, per run (commuters "
                          "counted by the KPIs)."))
    ref, others = sets[0], dict(zip(labels[1:], sets[1:]))
    changes = differences.part_changes(ref, others)
    reps = "; whiskers: 95 % confidence intervals over replications" if len(ref.reps) > 1 else ""
    jobs.append(chart_job(lambda: plotting.time_part_changes(changes, labels[0]), out_dir / "compare_time_parts_change.png",
                          f"Change of the mean time per commuter in each part of the trip and door to door, against "
                          f"{labels[0]} (mean of the replications' means{reps})."))
    transfers = differences.transfer_table(dict(zip(labels, sets)))
    if not transfers.empty:
        jobs.append(chart_job(lambda: plotting.transfer_times(transfers), out_dir / "compare_transfers.png",
                              "Mean transfer time (walks, gates, checks, queues; solid) and onward wait (hatched) at each "
                              "interchange by payment medium, per run; numbers: transfers" + reps + "."))
    choices = _mode_choice_panels(views)
    if choices:
        jobs.append(chart_job(lambda: plotting.mode_choice(choices), out_dir / "compare_mode_choice.png",
                              "Commuters drawn between zones by the mode they chose, per run, of all of them and of each "
                              "zone group (summary.json mode_choice; those leaving home after any warm-up); after each "
                              "run's bar, its change against the first run by mode: the commuters who moved."))
    fares = pd.Series({v.label: v.summary.get("fare_mean_cny") for v in views}, dtype=float)
    revenue = pd.DataFrame({v.label: v.summary.get("fare_revenue_cny", {}) for v in views}).T.fillna(0.0)
    money = currency_of(sets)
    jobs.append(chart_job(lambda: plotting.fares_revenue(fares, revenue, money), out_dir / "compare_fares.png",
                          f"Mean fare per commuter and fare revenue per operator, per run, and their change against "
                          f"{labels[0]}."))
    jobs += load_jobs(views, out_dir)
    waits = _facility_waits(views)
    if not waits.empty:
        jobs.append(chart_job(lambda: plotting.facility_waits(waits), out_dir / "compare_queues.png",
                              "Mean queueing wait at the facilities with the longest waits in any run (\"not used\": no "
                              "commuter passed the facility in that run)."))
    return jobs


def change_jobs(sets: list[RunSet], labels: list[str], out_dir: Path) -> list[Job]:
    """The difference view of travel times against the first run: each commuter's change for the
    runs with the same commuters, percentile changes for the others."""
    ref, jobs = sets[0], []
    same = {lab: s for lab, s in zip(labels[1:], sets[1:]) if differences.same_commuters(ref, s)}
    other = {lab: s for lab, s in zip(labels[1:], sets[1:]) if lab not in same}
    if same:
        changes = differences.commuter_changes(ref, same)
        jobs.append(chart_job(lambda: plotting.travel_time_changes(changes, labels[0]),
                              out_dir / "compare_travel_time_change.png",
                              f"Difference view: each commuter's travel time minus the same commuter's in {labels[0]} "
                              "(same seed and demand, so the commuters are the same), sorted; commuters counted by "
                              "the KPIs who arrived in both runs" + (", all replications pooled" if len(ref.reps) > 1
                                                                     else "") + "."))
    if other:
        table = differences.percentile_changes(ref, other)
        jobs.append(chart_job(lambda: plotting.percentile_changes(table, labels[0]),
                              out_dir / "compare_travel_time_percentiles.png",
                              f"Difference view: change of travel-time percentiles against {labels[0]} for runs whose "
                              "commuters differ from its own (other seeds or demand); whiskers: 95 % confidence "
                              "intervals over replications, where there are several."))
    return jobs


def load_jobs(views: list[RunView], out_dir: Path) -> list[Job]:
    """Per route of the first run's lines: the mean departing load of each run in the first run's peak hour."""
    first, jobs = views[0], []
    t0, t1 = first.peak_hour
    for line in first.lines_run():
        for path in first.paths(line):
            served = list(dict.fromkeys(s for v in views if line in v.lines_run()
                                        for s in served_stations(v.trains, line, path, t0, t1)))
            stations = [s for s in path if s in served] or path
            profiles = {v.label: path_sections_mean(v, line, path, t0, t1).reindex(stations) for v in views
                        if line in v.lines_run()}
            title = f"{first.route_title(line, path)}: mean departing load, {plotting.clock_label(t0)}\u2013" \
                    f"{plotting.clock_label(t1)}"
            towards = (first.names.get(path[-1], path[-1]), first.names.get(path[0], path[0]))
            jobs.append(chart_job(partial(plotting.load_profiles, profiles, first.names, towards, title),
                                  out_dir / f"compare_load_{line}{first.path_suffix(line, path)}.png",
                f"{title}, per run (the first run's peak hour; every station a run serves in it)."))
    return jobs


def _arrived_tt(trips: pd.DataFrame) -> np.ndarray:
    ok = (trips["status"] == "arrived").to_numpy()
    return trips["travel_time_s"].to_numpy(dtype=float)[ok]


def _parts(trips: pd.DataFrame) -> pd.Series:
    arrived = trips[trips["status"] == "arrived"]
    cols = ["access_s", "wait_s", "in_vehicle_s", "transfer_s", "egress_s"]
    return arrived[cols].mean() if len(arrived) else pd.Series(0.0, index=cols)


def _facility_waits(views: list[RunView], n: int = 10) -> pd.DataFrame:
    """Mean queueing wait (s) per facility and run, NaN where no commuter passed it in that run (not
    used); the `n` facilities with the longest wait in any run, labelled for the chart."""
    waits = pd.DataFrame({v.label: {f: k.get("wait_mean_s") if k.get("visits") else np.nan
                                    for f, k in v.summary.get("facilities", {}).items()} for v in views})
    if waits.empty:
        return waits
    top = waits.max(axis=1).fillna(-1.0).sort_values(ascending=False, kind="stable").index[:n]
    out = waits.loc[top]
    out.index = [views[0].facility_label(f) for f in out.index]
    return out


def compare_runs(paths: list[Path], out_dir: Path) -> list[Path]:
    """Compare runs into out_dir: kpis.csv (every KPI, differences and half-widths), kpis.md (the
    main KPIs, after any warning that the runs are not like for like), the comparison charts and
    report.html. Returns the files written."""
    from .html import write_compare_report

    if len(paths) < 2:
        raise UserError.single("", "compare", "give at least two run directories to compare")
    sets = [load_run_set(p) for p in paths]
    labels = _labels(sets)
    table = kpi_table(sets)
    notes = differences.like_for_like(sets, labels)
    out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / "kpis.csv", index=False, float_format="%.6g")
    (out_dir / "kpis.md").write_text(markdown(table, sets, notes), encoding="utf-8")
    charts = []
    if all(s.has_tables for s in sets):  # the charts need the runs' tables (sweeps keep them on request)
        views = [RunView.pooled(s.reps, label) if len(s.reps) > 1 else RunView.of_run_dir(s.reps[0], label)
                 for s, label in zip(sets, labels)]
        charts = render(comparison_jobs(sets, views, out_dir / "plots"))
    header, rows = cells(table, sets)
    write_compare_report(labels, [s.info for s in sets], notes, header, rows, charts, out_dir / "report.html")
    return [out_dir / "kpis.csv", out_dir / "kpis.md", *(p for p, _ in charts), out_dir / "report.html"]
