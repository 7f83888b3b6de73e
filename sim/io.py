"""Run directories: writing tables, summary, manifest and charts; reading them back. Output
folders are written through sim.staging.StagedDir (whole or not at all, with the marker that
proves they are this simulator's)."""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import UserError
from .schema import SCHEMA_VERSION
from .shipped import results_path

TABLES = ("trips", "legs", "trains", "facilities", "fares", "zone_trips")
OPTIONAL_TABLES = ("fares", "zone_trips")
"""Tables that a run directory may lack: written before they existed (fares, derived on loading),
or of a run without zones (zone_trips)."""
PACKAGES = ("simpy", "numpy", "pandas", "pyarrow", "pydantic", "PyYAML", "matplotlib", "scipy")
log = logging.getLogger(__name__)


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_revision() -> str:
    """The project's git commit (with '+dirty' for uncommitted changes), or 'unknown'."""
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")


DICTIONARY_PAGE_BYTES = 64 * 1024
"""The largest dictionary page of a Parquet column chunk (bytes; pyarrow's default is 1 MiB): 8,192
distinct 8-byte values, room for every station, line, fare and km of a network."""


def write_table(directory: Path, name: str, table: pd.DataFrame) -> None:
    """One table as <name>.parquet in `directory`. Its row groups carry the minimum and maximum of
    each column but the categorical ones: the smallest and largest label of a station or a route
    helps no reader, and pyarrow takes them from the labels of every row (a third of the time it
    takes to write a city day's facility visits). A column chunk is dictionary-encoded while its
    distinct values fit DICTIONARY_PAGE_BYTES, else written plain: times to the microsecond never
    repeat enough to pay for a larger dictionary, and building one before giving up cost a quarter
    of the time to write a city day's trips and facility visits."""
    plain = [str(c) for c, dtype in table.dtypes.items() if not isinstance(dtype, pd.CategoricalDtype)]
    table.to_parquet(directory / f"{name}.parquet", index=False, engine="pyarrow", compression="zstd",
                     write_statistics=plain, dictionary_pagesize_limit=DICTIONARY_PAGE_BYTES)


def write_tables(directory: Path, tables, names: tuple[str, ...] = TABLES) -> None:
    """The tables `names` of `tables` (sim.tables.Tables, or sim.api.RunResult, which reads those
    written as built) as <name>.parquet files in `directory` (those it has: zone_trips only with
    zones). Two are written at a time: pyarrow encodes and compresses without holding the
    interpreter, and every file is the same as written alone."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        # list(): an error writing a table is raised here
        list(pool.map(lambda name: write_table(directory, name, getattr(tables, name)),
                      [name for name in names if getattr(tables, name) is not None]))


def read_tables(directory: Path, names: tuple[str, ...],
                columns: dict[str, tuple[str, ...] | None] | None = None) -> dict[str, pd.DataFrame]:
    """The tables `names` read back from their <name>.parquet files in `directory` (as written by
    write_table), the largest file first: reading one holds it twice for a moment (pyarrow's and
    pandas' copies), best done while few others are held. `columns`: per table, the columns to read
    (those of them it has; None or no entry: all)."""
    import pyarrow.parquet as pq

    def read(name: str) -> pd.DataFrame:
        path = directory / f"{name}.parquet"
        wanted = (columns or {}).get(name)
        if wanted is None:
            return pd.read_parquet(path, engine="pyarrow")
        there = set(pq.read_schema(path).names)
        return pd.read_parquet(path, engine="pyarrow", columns=[c for c in wanted if c in there])

    order = sorted(names, key=lambda name: -(directory / f"{name}.parquet").stat().st_size)
    return {name: read(name) for name in order}


def write_gis(directory: Path, network, trains: pd.DataFrame, window: tuple[float, float]) -> None:
    """stations.parquet, and stations.geojson / lines.geojson with the loads in `window` (the peak hour)."""
    from .geo import lines_geojson, stations_geojson, stations_table

    stations_table(network).to_parquet(directory / "stations.parquet", index=False, engine="pyarrow",
                                       compression="zstd")
    for name, collection in (("stations", stations_geojson(network, trains, window)),
                             ("lines", lines_geojson(network, trains, window))):
        (directory / f"{name}.geojson").write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")


def manifest(result, command: list[str], wall_s: float, network_files: tuple[Path, ...]) -> dict:
    scn = result.scenario
    return {
        "schema_version": SCHEMA_VERSION,
        "scenario_name": scn.name,
        "scenario_file": str(scn.path),
        "overrides": scn.overrides,
        "extends": [str(p) for p in scn.extends],
        "scenario": scn.resolved(),
        "network": scn.resolved_network(),
        "network_files": {str(p): file_digest(p) for p in network_files},
        "seed": result.seed,
        "replication": result.replication,
        "engine": result.engine,
        "command": command,
        "versions": package_versions(),
        "git_revision": git_revision(),
        "platform": platform.platform(),
        "wall_time_s": round(wall_s, 3),
        "phase_times_s": {k: round(v, 3) for k, v in result.timings_s.items()},
    }


@dataclass(frozen=True)
class LoadedRun:
    path: Path
    trips: pd.DataFrame
    legs: pd.DataFrame
    trains: pd.DataFrame
    facilities: pd.DataFrame
    fares: pd.DataFrame
    summary: dict
    manifest: dict
    zone_trips: pd.DataFrame | None = None


def load_results(path: str | Path) -> LoadedRun:
    """Read a run directory written by `run` (a bare name: results/<name> of the clone, when there
    is no such folder here)."""
    p = results_path(path)
    missing = [f"{n}.parquet" for n in TABLES if n not in OPTIONAL_TABLES and not (p / f"{n}.parquet").exists()]
    missing += [n for n in ("summary.json", "manifest.json") if not (p / n).exists()]
    if missing:
        raise UserError.single(str(p), "", f"not a run directory (missing {', '.join(missing)})")

    def read(name: str, reader):
        try:
            return reader(p / name)
        except (OSError, ValueError) as exc:  # truncated or damaged files included
            raise UserError.single(str(p / name), "", f"cannot read: {(str(exc).splitlines() or [type(exc).__name__])[0]}") from None

    frames = {n: read(f"{n}.parquet", pd.read_parquet) for n in TABLES if (p / f"{n}.parquet").exists()}
    if "fares" not in frames:  # written before fare sections existed: one section per leg boarded
        legs = frames["legs"]
        boarded = legs[legs["t_board"].notna()]
        frames["fares"] = boarded[["commuter_id", "leg", "operator", "fare_cny"]].assign(km=np.nan)
    summary, man = (read(n, lambda f: json.loads(f.read_text(encoding="utf-8"))) for n in ("summary.json", "manifest.json"))
    _check_shape(p / "summary.json", summary, SUMMARY_SHAPE)
    _check_shape(p / "manifest.json", man, MANIFEST_SHAPE)
    return LoadedRun(p, **frames, summary=summary, manifest=man)


_NUMBER = (int, float)
SUMMARY_SHAPE = {"commuters": int, "arrived": int, "in_system": int, "travel_time_mean_s": (*_NUMBER, type(None)),
                 "windows": {"peak_hour": {"from_s": (*_NUMBER, type(None)), "to_s": (*_NUMBER, type(None))}}}
"""What the charts and reports read from summary.json without further checks (field -> type)."""
MANIFEST_SHAPE = {"scenario_name": str, "seed": int, "network": dict,
                  "scenario": {"period": {"start": _NUMBER, "end": _NUMBER}}}
"""What the charts and reports read from manifest.json without further checks."""


def _check_shape(path: Path, doc, shape: dict, where: str = "") -> None:
    """UserError naming the first field of `doc` (parsed JSON) that is missing or of another type
    than `shape` gives: a file damaged or not written by this simulator."""
    if not isinstance(doc, dict):
        raise UserError.single(str(path), where, "expected a JSON object: the file is damaged or was not written "
                               "by this simulator")
    for key, want in shape.items():
        field = f"{where}.{key}" if where else key
        if key not in doc:
            raise UserError.single(str(path), field, "missing: the file is damaged or was not written by this simulator")
        if isinstance(want, dict):
            _check_shape(path, doc[key], want, field)
        elif not isinstance(doc[key], want) or isinstance(doc[key], bool):
            raise UserError.single(str(path), field, f"unexpected value {json.dumps(doc[key])[:40]}: the file is "
                                   "damaged or was not written by this simulator")


def command_line() -> list[str]:
    return [Path(sys.argv[0]).name, *sys.argv[1:]]
