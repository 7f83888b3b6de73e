"""One run as the charts and reports see it: its tables and summary, the network it ran on, what
was run (scenario, overrides, seed, replications, engine), and the names, routes and labels that
make charts readable."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..io import LoadedRun
from ..loading import Document, validate_network
from ..metrics import mean_summary, peak_hour
from ..netbuild import build_network
from ..network import Network
from ..staging import STAGING_TOKEN


def network_from_manifest(manifest: dict, where: str = "manifest.json") -> Network:
    """The network a run ran on, rebuilt from the resolved copy in its manifest."""
    return build_network(validate_network([Document(Path(where), manifest["network"], {})]))


SEARCHED_OFFSET = "changes.coordination.{}.offset_s"
"""Override path through which a coordination rule's offset search (method `simulation`) fixes the
offset of the run it returns; reports list those apart from the user's overrides."""


@dataclass(frozen=True)
class RunInfo:
    """What was run, as a report states it at its top: the scenario (name, description, file and
    the files it extends), the overrides the user gave (`--set`, dotted path -> value) and those a
    coordination rule's offset search set (`searched`), the master seed of each replication pooled
    and their replication indices, the engine, and where the run was read from (None for an
    in-memory result)."""

    scenario: str = ""
    description: str | None = None
    scenario_file: str | None = None
    extends: tuple[str, ...] = ()
    overrides: dict[str, Any] = field(default_factory=dict)
    searched: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = ()
    replications: tuple[int, ...] = ()
    engine: str | None = None
    source: str | None = None

    @classmethod
    def of_manifest(cls, manifest: dict, summary: dict | None = None, source: str | None = None) -> RunInfo:
        """From a run directory's manifest.json and summary.json (fields missing in older runs left
        empty)."""
        seed, rep = manifest.get("seed"), manifest.get("replication")
        given, searched = _split_overrides(dict(manifest.get("overrides") or {}), summary or {})
        return cls(str(manifest.get("scenario_name", "")), (manifest.get("scenario") or {}).get("description"),
                   manifest.get("scenario_file"), tuple(str(p) for p in manifest.get("extends") or ()), given,
                   searched, () if seed is None else (int(seed),), () if rep is None else (int(rep),),
                   manifest.get("engine"), source)

    @classmethod
    def of_result(cls, result) -> RunInfo:
        """From an in-memory sim.api.RunResult."""
        scn = result.scenario
        given, searched = _split_overrides(dict(scn.overrides), result.summary)
        return cls(scn.name, scn.model.description, str(scn.path), tuple(str(p) for p in scn.extends), given,
                   searched, (int(result.seed),), (int(result.replication),), result.engine)

    def pooled(self, others: list[RunInfo], source: str | None) -> RunInfo:
        """This replication's info with the seeds and replication indices of `others` added."""
        return replace(self, seeds=tuple(s for i in [self, *others] for s in i.seeds),
                       replications=tuple(r for i in [self, *others] for r in i.replications), source=source)


def _where(path: Path) -> str | None:
    """The run directory to name in a report: None while it is being written (a staging folder,
    whose name is not the one it will have)."""
    return None if (path / STAGING_TOKEN).is_file() or (path.parent / STAGING_TOKEN).is_file() else str(path)


def _split_overrides(overrides: dict[str, Any], summary: dict) -> tuple[dict[str, Any], dict[str, Any]]:
    """The user's overrides, and those through which a coordination rule's offset search (summary
    `policies.coordination.<rule>.method` `simulation`) fixed the offset it chose."""
    rules = [rid for rid, r in (summary.get("policies", {}).get("coordination") or {}).items()
             if r.get("method") == "simulation"]
    keys = {SEARCHED_OFFSET.format(rid) for rid in rules}
    return ({k: v for k, v in overrides.items() if k not in keys}, {k: v for k, v in overrides.items() if k in keys})


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
    info: RunInfo = field(default_factory=RunInfo)
    """What was run (scenario, overrides, seeds, engine)."""

    @classmethod
    def of_run_dir(cls, run: LoadedRun, label: str | None = None) -> RunView:
        period = run.manifest["scenario"]["period"]
        groups = {c[len("group_"):]: run.trips[c].to_numpy(dtype=bool) for c in run.trips.columns
                  if c.startswith("group_")}
        return cls(label or run.manifest.get("scenario_name", run.path.name),
                   network_from_manifest(run.manifest, str(run.path / "manifest.json")),
                   run.trips, run.legs, run.trains, run.facilities, run.summary,
                   (float(period["start"]), float(period["end"])), groups,
                   info=RunInfo.of_manifest(run.manifest, run.summary, _where(run.path)))

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
        info = first.info.pooled([RunInfo.of_manifest(r.manifest, r.summary) for r in runs[1:]], _where(runs[0].path.parent))
        return cls(label or first.label + f" ({len(runs)} replications pooled)", first.network, trips, cat("legs"),
                   cat("trains"), cat("facilities"), summary, first.period, groups, replications=len(runs), info=info)

    @classmethod
    def of_result(cls, result, label: str | None = None) -> RunView:
        """From an in-memory sim.api.RunResult."""
        period = result.scenario.model.period
        return cls(label or result.scenario.name, result.scenario.network, result.trips, result.legs, result.trains,
                   result.facilities, result.summary, (period.start, period.end), dict(result.groups),
                   info=RunInfo.of_result(result))

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
        in km order: every station a pattern calls at or passes without stopping (an express runs
        the same route as the all-stops trains), on this line's track; routes contained in another
        (short turns) are dropped."""
        net = self.network
        line = net.lines[net.line_index[line_id]]
        runs = [sorted({s for s in (*p.stops, *(x[1] for x in p.passes)) if s in line.km}, key=line.km.__getitem__)
                for p in net.patterns if p.line == line.index]
        full: list[list[int]] = []
        for run in sorted(runs, key=len, reverse=True):
            if not any(set(run) <= set(f) for f in full):
                full.append(run)
        return [[net.stations[s].id for s in run] for run in full]

    def path_suffix(self, line_id: str, path: list[str]) -> str:
        """File name suffix of a route's charts: empty for a line's only route, else `_to_<last
        station>` (and `_from_<first station>` when another route ends at the same station)."""
        paths = self.paths(line_id)
        if len(paths) == 1:
            return ""
        same_end = [p for p in paths if p[-1] == path[-1]]
        return f"_to_{path[-1]}" + (f"_from_{path[0]}" if len(same_end) > 1 else "")

    def route_title(self, line_id: str, path: list[str]) -> str:
        return f"Line {line_id} ({self.names.get(path[0], path[0])} \u2013 {self.names.get(path[-1], path[-1])})"

    def km(self, line_id: str, path: list[str]) -> dict[str, float]:
        line = self.network.lines[self.network.line_index[line_id]]
        return {s: line.km[self.network.station_index[s]] for s in path}

    def closures(self, line_id: str, km: dict[str, float]) -> list[tuple[float, float, float, float]]:
        """The closures of `line_id` whose both ends are on the route of `km` (station -> km post):
        (start, end (s), km post of each end), from summary.json `disruptions`."""
        out = []
        for c in (self.summary.get("disruptions") or {}).get("closures", {}).values():
            a, b = c.get("between", (None, None))
            if c.get("line") == line_id and a in km and b in km:
                out.append((float(c["start_s"]), float(c["end_s"]), float(km[a]), float(km[b])))
        return out

    @cached_property
    def service_names(self) -> dict[str, str]:
        """Service id -> a readable name: its termini and how it stops, e.g. "Weiting \u2192 Huaqiao,
        all stops", "Weiting \u2192 Huaqiao, express: 7 of 28 stations", "Alpha \u2192 Delta, not
        stopping at Beta"."""
        return {p.id: f"{self._station_name(p.stops[0])} \u2192 {self._station_name(p.stops[-1])}, "
                      f"{self._stopping(p)}" for p in self.network.patterns}

    def _station_name(self, index: int) -> str:
        sid = self.network.stations[index].id
        return self.names.get(sid, sid)

    def _stopping(self, pattern) -> str:
        passed = [x[1] for x in pattern.passes]
        if not passed:
            return "all stops"
        if len(passed) <= 2:  # a limited-stop train: name what it skips
            return "not stopping at " + " and ".join(self._station_name(s) for s in passed)
        return f"express: {len(pattern.stops)} of {len(pattern.stops) + len(passed)} stations"

    def lines_run(self) -> list[str]:
        present = set(self.trains["line"].astype(str))
        return [ln.id for ln in self.network.lines if ln.id in present]

    def facility_label(self, facility_id: str) -> str:
        station, _, name = facility_id.partition(".")
        st = self.network.stations[self.network.station_index[station]] if station in self.network.station_index else None
        op = self.network.operators[st.operator].id if st is not None else ""
        return f"{self.names.get(station, station)} ({op}) \u00b7 {name.replace('_', ' ')}"

    def busiest_facilities(self, n: int = 6, stations: set[str] | None = None) -> list[str]:
        """Facility ids (of `stations` only, when given) with commuters never served first, then by
        the longest mean queueing wait (from the summary)."""
        fac = self.summary.get("facilities", {})
        ids = [f for f in fac if stations is None or f.partition(".")[0] in stations]
        return sorted(ids, key=lambda f: (-fac[f].get("still_queueing", 0), -(fac[f].get("wait_mean_s") or 0.0), f))[:n]
