"""Zones as arrays (ids, centres, residents and jobs, read from a zones file) and the gravity
weights of the demand segments drawn between them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import Problem, UserError, unknown
from ..loading import read_yaml, validate_model
from ..network import km_between
from ..schema import DemandSpec, ZoneFile, ZoneSelector, ZoneSpec, ZonesSpec


@dataclass(frozen=True)
class Zones:
    """Zone i is row i: id, name, centre (degrees, WGS 84), residents and jobs (persons; NaN where
    the zones file gives no figure), and the day's parking (CNY)."""

    ids: tuple[str, ...]
    names: tuple[str, ...]
    lat: np.ndarray
    lon: np.ndarray
    population: np.ndarray
    jobs: np.ndarray
    parking_cny: np.ndarray
    path: str

    @property
    def index(self) -> dict[str, int]:
        return {z: i for i, z in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)


def load_zones(paths: Path | list[Path]) -> Zones:
    """The zones of a zones file, or of several together; UserError naming the file, field and
    line of any mistake, and the files that give a zone id twice."""
    files = [paths] if isinstance(paths, Path) else paths
    z: list[ZoneSpec] = []
    seen: dict[str, str] = {}
    problems: list[Problem] = []
    for path in files:
        for k, zone in enumerate(validate_model(ZoneFile, read_yaml(path)).zones):
            if zone.id in seen:
                problems.append(Problem(str(path), f"zones[{k}].id", f"zone '{zone.id}' is given in {seen[zone.id]} too"))
            seen[zone.id] = str(path)
            z.append(zone)
    if problems:
        raise UserError(problems)
    where = ", ".join(map(str, files))  # where the figures come from, in messages
    return Zones(tuple(x.id for x in z), tuple(x.name for x in z), np.asarray([x.lat for x in z]),
                 np.asarray([x.lon for x in z]), _figures([x.population for x in z]), _figures([x.jobs for x in z]),
                 np.asarray([x.parking_cny for x in z], dtype=float), where)


def _figures(values: list[float | None]) -> np.ndarray:
    """Figures as floats, NaN where a zone has none."""
    return np.asarray([np.nan if v is None else v for v in values], dtype=float)


def segment_weights(spec: DemandSpec, zones: Zones, problems: list[Problem], file: str = "") -> dict[int, np.ndarray]:
    """Per segment drawn between zones (by index): gravity weights of its zone pairs [origin zone,
    destination zone], w_o * w_d * exp(-decay * km), none for pairs closer than min_km or within
    one zone. Unknown zone ids are added to `problems`."""
    km = km_between(zones.lat, zones.lon, zones.lat, zones.lon)
    out = {}
    for i, seg in enumerate(spec.segments):
        gen = seg.zones
        if gen is None:
            continue
        where = f"demand.segments[{i}].zones"
        wo = _selected(gen.origins, "population", zones, f"{where}.origins", problems, file)
        wd = _selected(gen.destinations, "jobs", zones, f"{where}.destinations", problems, file)
        w = np.outer(wo, wd) * np.exp(-gen.distance_decay_per_km * km)
        w[km < gen.min_km] = 0.0
        np.fill_diagonal(w, 0.0)
        out[i] = w
    return out


def _selected(sel: ZoneSelector, by: str, zones: Zones, where: str, problems: list[Problem], file: str) -> np.ndarray:
    """Weight per zone of a zone selector (0: not selected), by its `by` or else `by`."""
    index = zones.index
    chosen = np.zeros(len(zones), dtype=bool)
    for k, zid in enumerate(sel.zones or []):
        if zid not in index:
            problems.append(Problem(file, f"{where}.zones[{k}]", unknown("zone", zid, index)))
            continue
        chosen[index[zid]] = True
    if sel.zones is None:
        chosen[:] = True
    figure = sel.by or by
    base = {"population": zones.population, "jobs": zones.jobs, "equal": np.ones(len(zones))}[figure]
    for i in np.flatnonzero(chosen & np.isnan(base))[:10]:
        problems.append(Problem(file, where, f"zone '{zones.ids[i]}' has no {figure} figure in {zones.path}: weight "
                                             f"these zones with `by: equal` and `weights`, or give every one the figure"))
    weights = np.where(chosen & ~np.isnan(base), base, 0.0)
    for zid, w in sel.weights.items():
        if zid not in index:
            problems.append(Problem(file, f"{where}.weights.{zid}", unknown("zone", zid, index)))
        elif not chosen[index[zid]]:
            problems.append(Problem(file, f"{where}.weights.{zid}", "zone is weighted but not selected"))
        else:
            weights[index[zid]] *= w
    return weights


def check_groups(spec: ZonesSpec, zones: Zones, problems: list[Problem], file: str = "") -> None:
    """Add to `problems` the zone groups' unknown zone ids."""
    index = zones.index
    for name, group in spec.groups.items():
        for side, ids in (("from", group.from_), ("to", group.to)):
            for k, zid in enumerate(ids):
                if zid not in index:
                    problems.append(Problem(file, f"demand.zones.groups.{name}.{side}[{k}]", unknown("zone", zid, index)))
