"""How the C heap holds the arrays of a run: freed ones kept for reuse within a phase, free pages
given back to the system between phases."""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
"""mallopt's parameter numbers (glibc's malloc.h)."""

KEPT_BYTES = 1 << 30
"""Arrays up to this size (bytes) are allocated on the C heap, and as much free memory at its top
is kept there (glibc's mmap and trim thresholds; see keep_freed_arrays)."""


def _glibc(name: str) -> Callable[..., int] | None:
    """A function of glibc, where the interpreter runs on glibc (None elsewhere: musl, macOS,
    Windows)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(None), name)  # the C library the interpreter is linked with
    except (OSError, AttributeError):
        return None


_TRIM = _glibc("malloc_trim")
_MALLOPT = _glibc("mallopt")


def keep_freed_arrays() -> None:
    """Let glibc reuse the memory of freed arrays up to KEPT_BYTES. By default every array above
    32 MiB gets pages of its own from the system, each faulted in and zeroed on first write, and
    given back when freed: a city's day at 10,000,000 journeys allocates arrays of tens to hundreds
    of MB thousands of times, and the system's time spent so was a quarter of the run's (measured:
    BENCHMARKS.md). Raised thresholds keep them on the heap, where the next array reuses the pages
    of the last; trim_heap gives the free ones back between the phases. Changes the process's
    allocator (the same for everything else it runs: a larger heap between trims); does nothing
    where the C library is not glibc. Idempotent."""
    if _MALLOPT is not None:
        _MALLOPT(_M_MMAP_THRESHOLD, KEPT_BYTES)
        _MALLOPT(_M_TRIM_THRESHOLD, KEPT_BYTES)


def trim_heap() -> None:
    """Give the free pages of the C heap back to the system. Arrays below glibc's mmap threshold
    (see keep_freed_arrays) live on the heap; those a phase of a run frees stay resident until
    reused, while the next phase may need the room for others. Takes tens of milliseconds; does
    nothing where the C library is not glibc."""
    if _TRIM is not None:
        _TRIM(0)
