"""Freed memory given back to the system between the phases of a run."""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, where the interpreter runs on glibc (None elsewhere: musl, macOS, Windows)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).malloc_trim  # the C library the interpreter is linked with
    except (OSError, AttributeError):
        return None


_TRIM = _malloc_trim()


def trim_heap() -> None:
    """Give the free pages of the C heap back to the system. Arrays below glibc's mmap threshold
    (up to 32 MiB) live on the heap; those a phase of a run frees stay resident until reused, while
    the next phase allocates its large arrays elsewhere (after the simulation of the whole Shanghai
    day at 10,000,000 journeys: 0.4 GiB). Takes tens of milliseconds; does nothing where the C
    library is not glibc."""
    if _TRIM is not None:
        _TRIM(0)
