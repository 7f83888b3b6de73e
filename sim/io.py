"""Run directories: writing tables, summary, manifest and charts atomically; reading them back."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import UserError
from .schema import SCHEMA_VERSION

TABLES = ("trips", "legs", "trains", "facilities", "fares")
OPTIONAL_TABLES = ("fares",)
"""Tables that run directories written before they existed lack (derived on loading)."""
PACKAGES = ("simpy", "numpy", "pandas", "pyarrow", "pydantic", "PyYAML", "matplotlib", "scipy")


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


def check_output_dir(out: Path, force: bool) -> None:
    """Refuse a non-empty output directory unless forced."""
    if out.exists() and not out.is_dir():
        raise UserError.single(str(out), "--out", "exists and is not a directory")
    if out.exists() and any(out.iterdir()) and not force:
        raise UserError.single(str(out), "--out", "directory is not empty (use --force to replace it)")


def current_umask() -> int:
    """The process's file-mode creation mask (set to 0 and back at once: there is no way to read it
    without setting it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def follow_umask(root: Path) -> None:
    """Give `root` and every directory below it the mode a plain mkdir would (0o777 & ~umask)."""
    mode = 0o777 & ~current_umask()
    for here, dirs, _ in os.walk(root):
        for d in dirs:
            path = os.path.join(here, d)
            if not os.path.islink(path):  # never change a directory a link points to
                os.chmod(path, mode)
    os.chmod(root, mode)


class StagedDir:
    """A temporary directory beside `target` that replaces it on commit and vanishes on failure,
    so that a failed run leaves nothing half-written. While staged the directory is private (mode
    0700, from mkdtemp); on commit it and the directories inside it get the usual mode
    (0o777 & ~umask)."""

    def __init__(self, target: Path) -> None:
        self.target = target
        target.parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))

    def commit(self) -> None:
        follow_umask(self.path)
        if self.target.exists():
            old = self.target.parent / f".{self.target.name}.old"
            if old.exists():
                shutil.rmtree(old)
            self.target.rename(old)
            self.path.rename(self.target)
            shutil.rmtree(old)
        else:
            self.path.rename(self.target)

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")


def write_tables(directory: Path, tables) -> None:
    for name in TABLES:
        getattr(tables, name).to_parquet(directory / f"{name}.parquet", index=False, engine="pyarrow",
                                         compression="zstd")


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


def load_results(path: str | Path) -> LoadedRun:
    """Read a run directory written by `run`."""
    p = Path(path)
    missing = [f"{n}.parquet" for n in TABLES if n not in OPTIONAL_TABLES and not (p / f"{n}.parquet").exists()]
    missing += [n for n in ("summary.json", "manifest.json") if not (p / n).exists()]
    if missing:
        raise UserError.single(str(p), "", f"not a run directory (missing {', '.join(missing)})")
    frames = {n: pd.read_parquet(p / f"{n}.parquet") for n in TABLES if (p / f"{n}.parquet").exists()}
    if "fares" not in frames:  # written before fare sections existed: one section per leg boarded
        legs = frames["legs"]
        boarded = legs[legs["t_board"].notna()]
        frames["fares"] = boarded[["commuter_id", "leg", "operator", "fare_cny"]].assign(km=np.nan)
    return LoadedRun(p, **frames, summary=json.loads((p / "summary.json").read_text(encoding="utf-8")),
                     manifest=json.loads((p / "manifest.json").read_text(encoding="utf-8")))


def command_line() -> list[str]:
    return [Path(sys.argv[0]).name, *sys.argv[1:]]
