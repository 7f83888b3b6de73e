"""Output folders written whole: a staging folder beside the target, swapped in at the end.

While a command writes an output folder, the folder is locked (a second command fails at once),
and the new content is written into a private staging folder beside it. On commit the staging
folder gets its ownership marker (sim.ownership) and replaces the target: in one step where the
system can, when the target holds only what this simulator wrote; otherwise by removing exactly
the old files it wrote and moving the new ones in, so that files added by anyone else stay where
they are. A failed or interrupted command leaves nothing half-written, and the next command into
the same place removes what a killed one left (only folders it can prove are its own).
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .errors import UserError
from .ownership import MARKER, Marker, Survey, read_marker, remove_ours, save_marker, survey, write_marker
from .safefs import OutputLock, current_umask

log = logging.getLogger(__name__)
STAGING_TOKEN = ".yrd-sim-staging"
"""Written first into every staging folder: the proof that a leftover staging folder is ours whole."""
SHOWN = 5
"""Paths named in a message before the rest are counted."""


def _names(paths: list[str]) -> str:
    shown = ", ".join(paths[:SHOWN])
    return shown + (f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else "")


def follow_umask(root: Path) -> None:
    """Give `root` and every directory below it the mode a plain mkdir would (0o777 & ~umask)."""
    mode = 0o777 & ~current_umask()
    for here, dirs, _ in os.walk(root):
        for d in dirs:
            path = os.path.join(here, d)
            if not os.path.islink(path):  # never change a directory a link points to
                os.chmod(path, mode)
    os.chmod(root, mode)


def check_output_dir(out: Path, force: bool, replaces_same: dict[str, Any] | None = None,
                     kinds: tuple[str, ...] | None = None, option: str = "--out",
                     hint: str = "use --force to replace it, or choose another output folder") -> Survey | None:
    """Whether a command may write the output folder `out` (UserError if not); its survey when
    it exists. An empty or missing folder is fine. A non-empty one must be this simulator's output
    (its marker) and needs `force`, unless its marker's identity equals `replaces_same` (a
    command's default output replaces its own earlier result). `kinds`: the kinds of output it may
    replace (default: any); `hint`: what to do instead. Files edited since they were written are
    never replaced."""
    if out.is_symlink():
        raise UserError.single(str(out), option, "is a symbolic link; give the folder itself")
    if out.exists() and not out.is_dir():
        raise UserError.single(str(out), option, "exists and is not a directory")
    if not out.exists() or not any(out.iterdir()):
        return None
    found = survey(out)
    marker = found.marker
    if marker is None:
        if not force:
            raise UserError.single(str(out), option, "directory is not empty (use --force to replace an earlier "
                                   "output of this simulator)")
        raise UserError.single(str(out), option, f"holds files this simulator did not write (no {MARKER}): --force "
                               "replaces only its own outputs; choose another output folder")
    if kinds is not None and marker.kind not in kinds:
        raise UserError.single(str(out), option, f"holds {marker.describe()}, which this command does not "
                               "replace; choose another output folder")
    if not force and (replaces_same is None or marker.identity != replaces_same):
        raise UserError.single(str(out), option, f"holds {marker.describe()} ({hint})")
    if found.changed:
        raise UserError.single(str(out), option, f"files written by this simulator were edited since: "
                               f"{_names(found.changed)}; move them elsewhere, or choose another output folder")
    return found


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


def _kept_name(target: Path) -> Path:
    return target.with_name(f"{target.name}.kept-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")


def _discard_old(old: Path, target: Path) -> None:
    """Remove a replaced output folder `old` (ours, moved aside): exactly what it lists. What is
    left (something added meanwhile) is not removed: the folder is renamed next to `target` for
    its owner to see."""
    if os.path.islink(old) or not old.is_dir():
        return
    if (old / STAGING_TOKEN).is_file():  # a staging folder: ours whole
        shutil.rmtree(old)
        return
    found = survey(old)
    remove_ours(old, found)
    try:
        os.rmdir(old)
    except OSError:
        kept = _kept_name(target)
        os.rename(old, kept)
        log.warning("kept %s: it holds what this simulator did not write (%s)", kept, _names(found.kept))


def _clean_leftovers(target: Path) -> None:
    """Under `target`'s lock, undo what killed commands left beside it: staging folders (removed
    when they carry the staging token, or are empty) and the old content that a commit without an
    atomic swap had moved aside (put back if the new content never arrived, else removed). Folders
    that merely look like leftovers are left alone."""
    old = target.parent / f".{target.name}.old"
    if old.is_dir() and not old.is_symlink() and read_marker(old) is not None:
        if target.exists() or target.is_symlink():
            _discard_old(old, target)
        else:
            old.rename(target)
            log.warning("restored %s, which a command killed while replacing it had moved aside", target)
    staging = re.compile(rf"\.{re.escape(target.name)}\.[a-z0-9_]{{8}}(\.staging)?")  # unsuffixed: older versions
    for entry in os.scandir(target.parent):
        if not staging.fullmatch(entry.name) or not entry.is_dir(follow_symlinks=False):
            continue
        path = Path(entry.path)
        if (path / STAGING_TOKEN).is_file() or read_marker(path) is not None:
            _discard_old(path, target)
        elif not any(path.iterdir()):
            path.rmdir()
        else:
            continue
        log.warning("removed %s, left by a command that was killed before it finished", entry.path)


class StagedDir:
    """A temporary directory beside `target` that replaces it on commit and vanishes on failure,
    so that a failed or interrupted command leaves nothing half-written and the old content stays
    until the new one is complete. `target` is locked from creation to commit or discard, and
    leftovers of killed commands are cleaned first. While staged the directory is private (mode
    0700, from mkdtemp); on commit it gets its marker (`kind`, `identity`: see sim.ownership) and
    it and the directories inside it get the usual mode (0o777 & ~umask). Call check_output_dir
    under the lock before writing. As a context manager it commits when the block ends normally
    and discards on any exception."""

    def __init__(self, target: Path, kind: str = "run", identity: dict[str, Any] | None = None,
                 option: str = "--out") -> None:
        self.target, self.kind, self.identity, self.option = target, kind, dict(identity or {}), option
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self.lock = OutputLock(target, option)
        except OSError as exc:
            raise UserError.single(str(exc.filename or target), option, f"cannot write there: {exc.strerror}") from None
        self.holds_old = False
        """Whether `path` holds the replaced content (after a swap) rather than the staged one."""
        try:
            _clean_leftovers(target)
            self.path: Path | None = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".staging",
                                                           dir=target.parent))
            (self.path / STAGING_TOKEN).write_bytes(b"")
        except BaseException:
            self.discard()
            raise

    @property
    def staged(self) -> Path:
        """The staging folder to write into: `path` from construction until commit or discard, so
        always inside the `with` block."""
        if self.path is None:
            raise RuntimeError(f"the staging folder of {self.target} was already committed or discarded")
        return self.path

    def commit(self) -> None:
        """Put the staged content in place of `target`; the old content, if any, is removed after
        (and the staged content if this fails). Entries of `target` this simulator did not write
        stay in `target`, and the command says so."""
        try:
            assert self.path is not None
            (self.path / STAGING_TOKEN).unlink()
            follow_umask(self.path)
            new = write_marker(self.path, self.kind, self.identity)
            if not self.target.exists() and not self.target.is_symlink():
                self.path.rename(self.target)
                self.path = None
                return
            found = check_output_dir(self.target, force=True, option=self.option)
            if found is None or not found.kept:
                self._swap()
            else:
                self._merge(found, new)
        finally:
            self.discard()

    def _swap(self) -> None:
        """Replace a target that holds only our output (or nothing) by the staged folder whole."""
        assert self.path is not None
        if not _exchange(self.path, self.target):  # two renames; a kill between them is undone next time
            old = self.target.parent / f".{self.target.name}.old"
            self.target.rename(old)
            self.path.rename(self.target)
            self.path = old
        self.holds_old = True  # removed by discard()

    def _merge(self, found: Survey, new: Marker) -> None:
        """Replace our files in a target that also holds others' entries, leaving those in place:
        remove our old files, move the new ones in, then write the new marker. Until then the
        target's marker lists old and new files, so that an interrupted merge can be redone."""
        assert self.path is not None and found.marker is not None
        blocked = set(found.kept)
        clashes = [p for p in [*new.files, *new.dirs] if _under_any(p, blocked)
                   or (p in new.files and any(b.startswith(p + "/") for b in blocked))]
        if clashes:
            raise UserError.single(str(self.target), self.option, "holds entries this simulator did not write where "
                                   f"the new output goes: {_names(clashes)}; move them, or choose another output folder")
        union = Marker(new.kind, new.identity, {**found.marker.files, **new.files},
                       tuple(dict.fromkeys([*found.marker.dirs, *new.dirs])))
        save_marker(self.target, union)
        remove_ours(self.target, Survey(found.marker, [p for p in found.ours if p != MARKER], found.our_dirs))
        for rel in new.dirs:
            (self.target / rel).mkdir(exist_ok=True)
        for rel in new.files:
            os.rename(self.path / rel, self.target / rel)
        os.replace(self.path / MARKER, self.target / MARKER)
        log.warning("%s: kept what this simulator did not write: %s", self.target, _names(found.kept))

    def discard(self) -> None:
        """Remove the staged (or replaced) content and release the lock."""
        if self.path is not None:
            if self.holds_old:
                _discard_old(self.path, self.target)
            else:  # the staging folder: made and filled by this command alone
                shutil.rmtree(self.path, ignore_errors=True)
            self.path = None
        self.lock.release()

    def __enter__(self) -> StagedDir:
        return self

    def __exit__(self, kind, value, tb) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def _under_any(rel: str, blocked: set[str]) -> bool:
    """Whether `rel` is one of `blocked` or inside one of them."""
    parts = rel.split("/")
    return any("/".join(parts[:i]) in blocked for i in range(1, len(parts) + 1))
