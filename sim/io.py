"""Run directories: writing tables, summary, manifest and charts atomically; reading them back.

Every command's output directory is written through a StagedDir: a staging folder beside it,
swapped in whole at the end. While it is written the directory is locked, so a second command
writing the same directory fails at once, and staging folders left by killed commands are
removed by the next one.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import json
import logging
import os
import platform
import re
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


def is_run_output(path: Path) -> bool:
    """Whether `path` holds what an earlier command wrote, which --force may replace: a run
    directory (manifest.json and summary.json), a directory of replications (rep-*/ folders) or a
    comparison (kpis.csv)."""
    return (((path / "manifest.json").is_file() and (path / "summary.json").is_file())
            or any(p.is_dir() for p in path.glob("rep-*")) or (path / "kpis.csv").is_file())


def check_output_dir(out: Path, force: bool) -> None:
    """Refuse a non-empty output directory unless forced, and even then one that does not hold an
    earlier command's output (see is_run_output)."""
    if out.exists() and not out.is_dir():
        raise UserError.single(str(out), "--out", "exists and is not a directory")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise UserError.single(str(out), "--out", "directory is not empty (use --force to replace it)")
        if not is_run_output(out):
            raise UserError.single(str(out), "--out", "is not the output of an earlier run or comparison (no "
                                   "manifest.json and summary.json, rep-*/ folders or kpis.csv): --force replaces "
                                   "only those; choose another --out")


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


class OutputLock:
    """An exclusive lock on an output directory while a command writes it: flock on `.NAME.lock`
    beside it, which the system releases when the process dies; the file is removed on release.
    A second command fails at once (UserError naming the process that holds the lock)."""

    def __init__(self, target: Path) -> None:
        self.path = target.parent / f".{target.name}.lock"
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                raise UserError.single(str(target), "--out", f"another command (process {holder}) is writing this "
                                       "directory; wait for it to finish or choose another --out") from None
            with contextlib.suppress(FileNotFoundError):
                if os.path.samestat(os.fstat(fd), os.stat(self.path)):
                    break
            os.close(fd)  # its last holder removed the file meanwhile: lock the new one
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self.fd: int | None = fd

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            os.close(self.fd)
            self.fd = None


_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directory entries in one step (Linux renameat2 with RENAME_EXCHANGE); False where
    the system or the file system cannot."""
    swap = getattr(_LIBC, "renameat2", None)
    if swap is None:
        return False
    at_cwd, rename_exchange = -100, 2
    if swap(at_cwd, os.fsencode(a), at_cwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _remove(path: Path) -> None:
    if path.is_symlink():
        path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def _clean_leftovers(target: Path) -> None:
    """Under `target`'s lock, undo what killed commands left beside it: staging folders (removed)
    and the old content a commit without an atomic swap had moved aside (put back if the new
    content never arrived, else removed)."""
    old = target.parent / f".{target.name}.old"
    if old.is_dir():
        if target.exists():
            _remove(old)
        else:
            old.rename(target)
            log.warning("restored %s, which a command killed while replacing it had moved aside", target)
    staging = re.compile(rf"\.{re.escape(target.name)}\.[a-z0-9_]{{8}}(\.staging)?")  # unsuffixed: older versions
    for entry in os.scandir(target.parent):
        if staging.fullmatch(entry.name):
            _remove(Path(entry.path))
            log.warning("removed %s, left by a command that was killed before it finished", entry.path)


class StagedDir:
    """A temporary directory beside `target` that replaces it on commit and vanishes on failure,
    so that a failed or interrupted command leaves nothing half-written and the old content stays
    until the new one is complete (swapped in one step where the system can). `target` is locked
    from creation to commit or discard (OutputLock), and leftovers of killed commands are cleaned
    first. While staged the directory is private (mode 0700, from mkdtemp); on commit it and the
    directories inside it get the usual mode (0o777 & ~umask). As a context manager it commits
    when the block ends normally and discards on any exception."""

    def __init__(self, target: Path) -> None:
        self.target = target
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self.lock = OutputLock(target)
        except OSError as exc:
            raise UserError.single(str(exc.filename or target), "--out", f"cannot write there: {exc.strerror}") from None
        try:
            _clean_leftovers(target)
            self.path: Path | None = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".staging",
                                                           dir=target.parent))
        except BaseException:
            self.lock.release()
            raise

    def commit(self) -> None:
        """Put the staged content in place of `target`; the old content, if any, is removed after
        (and the staged content if this fails)."""
        try:
            follow_umask(self.path)
            if not self.target.exists():
                self.path.rename(self.target)
                self.path = None
            elif not _exchange(self.path, self.target):  # two renames; a kill between them is undone next time
                old = self.target.parent / f".{self.target.name}.old"
                self.target.rename(old)
                self.path.rename(self.target)
                self.path = old
        finally:
            self.discard()

    def discard(self) -> None:
        """Remove the staged (or replaced) content and release the lock."""
        if self.path is not None:
            _remove(self.path)
            self.path = None
        self.lock.release()

    def __enter__(self) -> StagedDir:
        return self

    def __exit__(self, kind, value, tb) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


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
    return LoadedRun(p, **frames, summary=summary, manifest=man)


def command_line() -> list[str]:
    return [Path(sys.argv[0]).name, *sys.argv[1:]]
