"""Named, reproducible random streams derived from (seed, replication, stream name).

Every random number in a run comes from one of these streams, so that policy variants with the
same seed see the same commuters (common random numbers) and adding a stream never shifts another.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stable_hash(name: str) -> int:
    """A 64-bit hash of `name` that is the same in every process (unlike the salted built-in hash)."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "little")


def stream(seed: int, replication: int, name: str) -> np.random.Generator:
    """The generator for stream `name` of replication `replication` under master seed `seed`."""
    seq = np.random.SeedSequence(entropy=int(seed), spawn_key=(int(replication), stable_hash(name)))
    return np.random.Generator(np.random.PCG64(seq))


def stream_key(seed: int, replication: int, name: str) -> int:
    """A 64-bit key for stream `name` of replication `replication` under `seed` (keyed_uniforms)."""
    seq = np.random.SeedSequence(entropy=int(seed), spawn_key=(int(replication), stable_hash(name)))
    return int(seq.generate_state(1, dtype=np.uint64)[0])


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def keyed_uniforms(key: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Uniform numbers in [0, 1), one per pair (a[i], b[i]) of non-negative integers, fixed by the
    pair and `key` alone, whatever order or batches they are asked in (SplitMix64's finaliser over
    the key and the pair)."""
    with np.errstate(over="ignore"):
        x = (np.uint64(key) + np.asarray(a, dtype=np.uint64) * _GOLDEN
             + np.asarray(b, dtype=np.uint64) * np.uint64(0xD1B54A32D192ED03))
        for shift, mult in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
            x = (x ^ (x >> np.uint64(shift))) * np.uint64(mult)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * 2.0**-53


_M64 = (1 << 64) - 1


def _mix64(x: int) -> int:
    """SplitMix64's finaliser on a Python int (the scalar twin of keyed_uniforms' mixing)."""
    x &= _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


class KeyedStreams:
    """Generators fixed by (key, a, b) alone, whatever order they are asked in: service times of
    commuter a's b-th re-chosen itinerary. One PCG64 whose 128-bit state is set from the mixed
    triple each time (a new SeedSequence per stream costs far more); a generator returned is valid
    until the next call."""

    _INCREMENT = (0xDA3E39CB94B95BDB << 64) | 0x5851F42D4C957F2D  # any odd 128-bit number

    def __init__(self, key: int) -> None:
        self.key = int(key)
        self._bits = np.random.PCG64(0)
        self._generator = np.random.Generator(self._bits)

    def __call__(self, a: int, b: int) -> np.random.Generator:
        hi = _mix64(self.key + int(a) * 0x9E3779B97F4A7C15 + int(b) * 0xD1B54A32D192ED03)
        lo = _mix64(hi ^ 0x94D049BB133111EB)
        self._bits.state = {"bit_generator": "PCG64", "state": {"state": (hi << 64) | lo, "inc": self._INCREMENT},
                            "has_uint32": 0, "uinteger": 0}
        return self._generator
