"""The C heap of a run (sim.memory): large arrays kept on the heap for reuse, free pages given back."""

import ctypes
import resource
import sys

import numpy as np
import pytest

from sim.memory import keep_freed_arrays, trim_heap

MiB = 2**20


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _mallinfo2() -> _Mallinfo2:
    try:
        f = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        pytest.skip("needs glibc 2.33 or later (mallinfo2)")
    f.restype = _Mallinfo2
    return f()


def _resident() -> int:
    """This process's resident set (bytes)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_a_freed_large_array_is_reused_and_given_back_by_trim_heap():
    keep_freed_arrays()
    keep_freed_arrays()  # idempotent
    before = _mallinfo2()
    a = np.ones(100 * MiB // 8)  # above glibc's default mmap threshold (32 MiB at most)
    held = _mallinfo2()
    assert held.hblkhd == before.hblkhd  # no mapping of its own: on the heap
    assert held.uordblks - before.uordblks >= a.nbytes
    del a
    b = np.ones(100 * MiB // 8)
    assert _mallinfo2().arena <= held.arena  # the freed pages reused: the heap did not grow
    del b
    kept = _resident()
    trim_heap()
    assert kept - _resident() >= 90 * MiB  # the free pages given back
