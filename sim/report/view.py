"""One run as the charts and reports see it: its tables and summary, the network it ran on, and
the names, routes and labels that make charts readable."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import LoadedRun
from ..loading import Document, validate_network
from ..metrics import mean_summary, peak_hour
from ..network import Network, build_network


def network_from_manifest(manifest: dict, where: str = "manifest.json") -> Network:
    """The network a run ran on, rebuilt from the resolved copy in its manifest."""
    return build_network(validate_network([Document(Path(where), manifest["network"], {})]))


@dataclass
class RunView:
    """A run: `label` (how charts name it), tables, summary, network, named OD group masks over the
    trips, and the demand window (s since midnight)."""

    label: str
    network: Network
    trips: pd.DataFrame
    legs: pd.DataFrame
    trains: pd.DataFrame
    facilities: pd.DataFrame
    summary: dict
    period: tuple[float, float]
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    replications: int = 1
    """How many replications are pooled here; with more than one the summary is their mean."""

    @classmethod
    def of_run_dir(cls, run: LoadedRun, label: str | None = None) -> RunView:
        period = run.manifest["scenario"]["period"]
        groups = {c[len("group_"):]: run.trips[c].to_numpy(dtype=bool) for c in run.trips.columns
                  if c.startswith("group_")}
        return cls(label or run.manifest.get("scenario_name", run.path.name), network_from_manifest(run.manifest, str(run.path / "manifest.json")),
                   run.trips, run.legs, run.trains, run.facilities, run.summary,
                   (float(period["start"]), float(period["end"])), groups)

    @classmethod
    def pooled(cls, runs: list[LoadedRun], label: str | None = None) -> RunView:
        """Replications pooled into one view (train ids prefixed with the replication), with the mean
        of their summaries."""
        first = cls.of_run_dir(runs[0], label)

        def cat(name: str) -> pd.DataFrame:
            frames = []
            for k, run in enumerate(runs):
                df = getattr(run, name).copy()
                if "train_id" in df:
                    df["train_id"] = f"r{k}:" + df["train_id"].astype(str)
                frames.append(df)
            return pd.concat(frames, ignore_index=True)

        trips = cat("trips")
        groups = {g: trips[f"group_{g}"].to_numpy(dtype=bool) for g in first.groups}
        summary = mean_summary([r.summary for r in runs])
        windows = {(w.get("from_s"), w.get("to_s")) for r in runs if (w := r.summary.get("windows", {}).get("peak_hour"))}
        if len(windows) > 1:  # KPIs are means over each replication's own peak hour: no one clock time
            summary["windows"]["peak_hour"].update(from_s=None, to_s=None)
        return cls(label or first.label + f" ({len(runs)} replications pooled)", first.network, trips, cat("legs"),
                   cat("trains"), cat("facilities"), summary, first.period, groups, replications=len(runs))

    @classmethod
    def of_result(cls, result, label: str | None = None) -> RunView:
        """From an in-memory sim.api.RunResult."""
        period = result.scenario.model.period
        return cls(label or result.scenario.name, result.scenario.network, result.trips, result.legs, result.trains,
                   result.facilities, result.summary, (period.start, period.end), dict(result.groups))

    @cached_property
    def names(self) -> dict[str, str]:
        return {s.id: s.name_en for s in self.network.stations}

    @cached_property
    def kpi_mask(self) -> np.ndarray:
        """Trips the KPIs count: those starting at or after the warm-up (all without one)."""
        warm = self.summary.get("warm_up")
        t = self.trips["t_depart"].to_numpy(dtype=float)
        return t >= warm["until_s"] if warm else np.ones(len(t), dtype=bool)

    def kpi_trips(self, group: str | None = None) -> pd.DataFrame:
        """The trips the KPIs count, of everyone or of a named OD group."""
        mask = self.kpi_mask if group is None else self.kpi_mask & self.groups[group]
        return self.trips[mask]

    @cached_property
    def peak_hour(self) -> tuple[float, float]:
        """(from, to) of the summary's peak hour, else of the trips (s since midnight)."""
        w = self.summary.get("windows", {}).get("peak_hour")
        return (float(w["from_s"]), float(w["to_s"])) if w and w.get("from_s") is not None else peak_hour(self.kpi_trips())

    def paths(self, line_id: str) -> list[list[str]]:
        """The distinct end-to-end routes of a line's patterns (a Y-shaped line has two), station ids
        in km order; routes contained in another (short turns, express) are dropped."""
        net = self.network
        line = net.lines[net.line_index[line_id]]
        runs = [sorted((s for s in p.stops if s in line.km), key=line.km.__getitem__)
                for p in net.patterns if p.line == line.index]
        full: list[list[int]] = []
        for run in sorted(runs, key=len, reverse=True):
            if not any(set(run) <= set(f) for f in full):
                full.append(run)
        return [[net.stations[s].id for s in run] for run in full]

    def route_title(self, line_id: str, path: list[str]) -> str:
        return f"Line {line_id} ({self.names.get(path[0], path[0])} \u2013 {self.names.get(path[-1], path[-1])})"

    def km(self, line_id: str, path: list[str]) -> dict[str, float]:
        line = self.network.lines[self.network.line_index[line_id]]
        return {s: line.km[self.network.station_index[s]] for s in path}

    @cached_property
    def service_names(self) -> dict[str, str]:
        """Service id -> "<pattern> towards <last stop>", e.g. "branch towards Huaqiao"."""
        return {p.id: f"{p.id.split('.')[1].replace('_', ' ')} towards "
                      f"{self.names.get(self.network.stations[p.stops[-1]].id, '')}" for p in self.network.patterns}

    def lines_run(self) -> list[str]:
        present = set(self.trains["line"].astype(str))
        return [ln.id for ln in self.network.lines if ln.id in present]

    def facility_label(self, facility_id: str) -> str:
        station, _, name = facility_id.partition(".")
        st = self.network.stations[self.network.station_index[station]] if station in self.network.station_index else None
        op = self.network.operators[st.operator].id if st is not None else ""
        return f"{self.names.get(station, station)} ({op}) \u00b7 {name.replace('_', ' ')}"

    def busiest_facilities(self, n: int = 6) -> list[str]:
        """Facility ids with commuters never served first, then by the longest mean queueing wait (from
        the summary)."""
        fac = self.summary.get("facilities", {})
        return sorted(fac, key=lambda f: (-fac[f].get("still_queueing", 0), -(fac[f].get("wait_mean_s") or 0.0), f))[:n]
