"""Creating files without harm to anyone else's: locks and temporary files are made exclusively
and never through a symbolic link, an existing file is replaced only by renaming a complete new
file over it, and nothing this simulator did not create is truncated."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import UserError

_NEW = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_LOCK_TEXT = re.compile(rb"\d{0,20}\n?")
"""What a lock file holds: the process id of its holder (empty while being written)."""


class OutputLock:
    """An exclusive lock on an output (folder or file) while a command writes it: flock on
    `.NAME.lock` beside it, which the system releases when the process dies; the file is removed
    on release. A second command fails at once (UserError naming the process that holds the lock).
    The lock file is created exclusively; an existing one is used only if it is a regular file of
    this user with one link holding a process id (a lock left by a killed command), never through
    a link, so a file planted at that path is neither followed nor truncated."""

    def __init__(self, target: Path, option: str = "--out") -> None:
        self.path = target.parent / f".{target.name}.lock"
        self.fd: int | None = None
        while True:
            fd = self._open(target, option)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                raise UserError.single(str(target), option, f"another command (process {holder}) is writing this "
                                       "output; wait for it to finish or choose another output") from None
            with contextlib.suppress(FileNotFoundError):
                if os.path.samestat(os.fstat(fd), os.lstat(self.path)):
                    break
            os.close(fd)  # its last holder removed the file meanwhile: lock the new one
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self.fd = fd

    def _open(self, target: Path, option: str) -> int:
        try:
            return os.open(self.path, _NEW, 0o600)
        except FileExistsError:
            pass
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:  # ELOOP: a symbolic link
            raise self._not_ours(target, option, "a symbolic link" if os.path.islink(self.path)
                                 else exc.strerror or "unreadable") from None
        st = os.fstat(fd)
        if not (stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid() and st.st_nlink == 1 and st.st_size <= 32
                and _LOCK_TEXT.fullmatch(os.pread(fd, 33, 0))):
            os.close(fd)
            raise self._not_ours(target, option, "not a lock file of this simulator")
        return fd

    def _not_ours(self, target: Path, option: str, what: str) -> UserError:
        return UserError.single(str(target), option, f"{self.path} exists and is {what}: it is left alone; "
                                "remove it or choose another output")

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(FileNotFoundError):
                if os.path.samestat(os.fstat(self.fd), os.lstat(self.path)):
                    os.unlink(self.path)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> OutputLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


@contextlib.contextmanager
def new_temporary(target: Path) -> Iterator[Path]:
    """A new, empty, private file beside `target` (created exclusively, random name), removed on
    leaving unless it was renamed meanwhile."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def current_umask() -> int:
    """The process's file-mode creation mask (set to 0 and back at once: there is no way to read it
    without setting it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(target: Path, write: Callable[[Path], object], mode: int | None = None) -> None:
    """Write `target` whole or not at all: `write(path)` fills a new temporary file beside it,
    which then replaces `target` by rename (a link at `target` is replaced, never followed).
    `mode`: the file's permission bits (default: as a plain new file under the umask)."""
    with new_temporary(target) as tmp:
        write(tmp)
        os.chmod(tmp, (0o666 & ~current_umask()) if mode is None else mode)
        os.replace(tmp, target)


def atomic_write_text(target: Path, text: str) -> None:
    """`atomic_write` of UTF-8 text."""
    atomic_write(target, lambda p: p.write_text(text, encoding="utf-8"))
