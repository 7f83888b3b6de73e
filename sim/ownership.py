"""Proof that a folder is this simulator's output, and removal of exactly what it wrote.

Every output folder a command writes (a run, replications, a comparison, charts, a sweep) holds a
marker file, `.yrd-sim-output.json`, listing each file written (relative path, size in bytes and
modification time in ns) and each folder created. Replacing a folder (`--force`, `plot`, `sweep`)
requires that marker and removes only the listed files that are still as written, and the listed
folders left empty; anything else (files added or edited since, links, other folders) is kept.
A sub-folder with a marker of its own (a sweep's runs, a window's charts inside a run) is this
simulator's output too and is surveyed by its own marker. Nothing here follows a symbolic link.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .safefs import atomic_write_text

MARKER = ".yrd-sim-output.json"
"""The marker's file name inside an output folder."""
TOOL = "yrd-sim"
MARKER_FORMAT = 1
MAX_MARKER_BYTES = 64 * 1024 * 1024
"""A marker larger than this is not read (a sweep of 10,000 runs lists about 2 MB)."""
KINDS = {"run": "a run", "replications": "replications of a run", "compare": "a comparison",
         "plots": "charts of a run", "sweep": "a sweep"}


@dataclass(frozen=True)
class Marker:
    """What a folder holds: its `kind` (a key of KINDS), what it is of (`identity`, e.g. the
    scenario's name and file), and the files and folders written, by path relative to the folder
    ('/'-separated)."""

    kind: str
    identity: dict[str, Any]
    files: dict[str, tuple[int, int]]
    """Relative path -> (size in bytes, modification time in ns) when written."""
    dirs: tuple[str, ...] = ()

    def describe(self) -> str:
        """E.g. "a run of scenario 'baseline' (scenarios/baseline.yaml) with --seed 7"."""
        what = KINDS.get(self.kind, "an output")
        name = self.identity.get("name")
        source = self.identity.get("file")
        variant = self.identity.get("variant")
        if name:
            what += f" '{name}'" if self.kind == "sweep" else f" of scenario '{name}'"
        return what + (f" ({source})" if source else "") + (f" with {variant}" if variant else "")


@dataclass
class Survey:
    """A folder's entries by owner (relative paths): `ours` (files written by this simulator and
    unchanged since), `our_dirs` (folders it created), `changed` (files it wrote that were edited or
    replaced since: not ours any more) and `foreign` (everything else: files, links, folders it did
    not create, taken whole). `marker` is None when the folder has no valid marker, and then every
    entry is foreign."""

    marker: Marker | None
    ours: list[str] = field(default_factory=list)
    our_dirs: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    @property
    def kept(self) -> list[str]:
        """What replacing the folder keeps: entries not written by this simulator, or edited since."""
        return sorted(self.changed + self.foreign)


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except OSError:
        return None


def read_marker(folder: Path) -> Marker | None:
    """The marker of `folder`, or None if it has none, or one that is not a regular file (a link,
    say) or not a marker this simulator wrote."""
    path = folder / MARKER
    st = _lstat(path)
    if st is None or not stat.S_ISREG(st.st_mode) or st.st_size > MAX_MARKER_BYTES:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            doc = json.loads(handle.read(MAX_MARKER_BYTES + 1))
        files = {str(k): (int(v[0]), int(v[1])) for k, v in doc["files"].items()}
        if doc.get("tool") != TOOL or doc.get("format") != MARKER_FORMAT or not isinstance(doc.get("kind"), str):
            return None
        return Marker(doc["kind"], dict(doc.get("identity") or {}), files, tuple(str(d) for d in doc.get("dirs", ())))
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None


def _listing(folder: Path) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """Every regular file (with size and modification time) and folder below `folder`, the marker
    and sub-folders with markers of their own excluded; links are not followed."""
    files: dict[str, tuple[int, int]] = {}
    dirs: list[str] = []

    def walk(here: Path, prefix: str) -> None:
        for entry in sorted(os.scandir(here), key=lambda e: e.name):
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if read_marker(Path(entry.path)) is None:
                    dirs.append(rel)
                    walk(Path(entry.path), rel + "/")
            elif entry.is_file(follow_symlinks=False) and rel != MARKER:
                st = entry.stat(follow_symlinks=False)
                files[rel] = (st.st_size, st.st_mtime_ns)

    walk(folder, "")
    return files, dirs


def write_marker(folder: Path, kind: str, identity: dict[str, Any]) -> Marker:
    """List what `folder` holds now and write it as the folder's marker (call when the folder is
    complete; the folder must be this simulator's own, e.g. a staging folder)."""
    files, dirs = _listing(folder)
    marker = Marker(kind, identity, files, tuple(dirs))
    save_marker(folder, marker)
    return marker


def save_marker(folder: Path, marker: Marker) -> None:
    """Write `marker` into `folder` (through a new file renamed over the old one)."""
    doc = {"tool": TOOL, "format": MARKER_FORMAT, "kind": marker.kind, "identity": marker.identity,
           "files": {k: list(v) for k, v in marker.files.items()}, "dirs": list(marker.dirs)}
    atomic_write_text(folder / MARKER, json.dumps(doc, ensure_ascii=False, indent=0) + "\n")


def survey(folder: Path) -> Survey:
    """Sort the entries of `folder` by owner (see Survey); nothing is followed through a link."""
    result = Survey(read_marker(folder))
    _survey_into(folder, "", result.marker, result)
    return result


def _survey_into(folder: Path, prefix: str, marker: Marker | None, out: Survey) -> None:
    listed_dirs = set(marker.dirs) if marker else set()
    listed_files = marker.files if marker else {}

    def walk(here: Path, rel_here: str) -> None:
        for entry in sorted(os.scandir(here), key=lambda e: e.name):
            rel = rel_here + entry.name
            shown = prefix + rel
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                nested = read_marker(Path(entry.path)) if marker else None
                if nested is not None:  # an output of its own inside this one
                    _survey_into(Path(entry.path), shown + "/", nested, out)
                    out.our_dirs.append(shown)
                elif rel in listed_dirs:
                    out.our_dirs.append(shown)
                    walk(Path(entry.path), rel + "/")
                else:
                    out.foreign.append(shown)
            elif marker is not None and rel == MARKER and not rel_here:
                out.ours.append(shown)
            elif stat.S_ISREG(st.st_mode) and rel in listed_files:
                same = listed_files[rel] == (st.st_size, st.st_mtime_ns)
                (out.ours if same else out.changed).append(shown)
            else:
                out.foreign.append(shown)

    walk(folder, "")


def remove_ours(folder: Path, found: Survey) -> None:
    """Remove from `folder` the files `found` says are ours, then our folders left empty (deepest
    first); everything else stays. Markers go after the files they list and the folder's own marker
    last, so an interrupted removal can be redone."""
    def depth(rel: str) -> int:
        return rel.count("/")

    markers = sorted((r for r in found.ours if r.rpartition("/")[2] == MARKER), key=depth, reverse=True)
    own_marker = markers.pop() if MARKER in found.ours else None  # the shallowest: this folder's
    for rel in [r for r in found.ours if r.rpartition("/")[2] != MARKER] + markers:
        _unlink_if_file(folder / rel)
    for rel in sorted(found.our_dirs, key=depth, reverse=True):
        try:
            os.rmdir(folder / rel)
        except OSError:  # not empty: it holds something that is not ours
            pass
    if own_marker is not None:
        _unlink_if_file(folder / own_marker)


def _unlink_if_file(path: Path) -> None:
    st = _lstat(path)
    if st is not None and stat.S_ISREG(st.st_mode):
        os.unlink(path)
