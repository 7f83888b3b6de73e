"""Named, reproducible random streams derived from (seed, replication, stream name).

Every random number in a run comes from one of these streams, so that policy variants with the
same seed see the same commuters (common random numbers) and adding a stream never shifts another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

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
    return (_keyed_bits(key, a, b) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _keyed_bits(key: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """64 random bits (uint64) per pair (a[i], b[i]): SplitMix64's finaliser over the key and the pair."""
    with np.errstate(over="ignore"):
        return _mixed(np.uint64(key) + np.asarray(a, dtype=np.uint64) * _GOLDEN
                      + np.asarray(b, dtype=np.uint64) * np.uint64(0xD1B54A32D192ED03))


def _mixed(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on uint64 values (wrapping)."""
    with np.errstate(over="ignore"):
        for shift, mult in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
            x = (x ^ (x >> np.uint64(shift))) * np.uint64(mult)
        return x ^ (x >> np.uint64(31))


class KeyedStreams:
    """Generators fixed by (key, a, b) alone, whatever order they are asked in: service times of
    commuter a's b-th re-chosen itinerary. One PCG64 whose 128-bit state is set from the mixed
    triple each time (a new SeedSequence per stream costs far more)."""

    _INCREMENT = (0xDA3E39CB94B95BDB << 64) | 0x5851F42D4C957F2D  # any odd 128-bit number

    def __init__(self, key: int) -> None:
        self.key = int(key)
        self._bits = np.random.PCG64(0)
        self._generator = np.random.Generator(self._bits)

    def each(self, a: np.ndarray, b: np.ndarray) -> Iterator[np.random.Generator]:
        """The generator of each pair (a[i], b[i]) in turn (each valid until the next), their states
        mixed for all pairs at once: SplitMix64's finaliser over the key and the pair, and again over
        that, the two halves of PCG64's 128-bit state."""
        hi = _keyed_bits(self.key, a, b)
        lo = _mixed(hi ^ np.uint64(0x94D049BB133111EB))
        for h, low in zip(hi.tolist(), lo.tolist()):
            self._bits.state = {"bit_generator": "PCG64", "state": {"state": (h << 64) | low, "inc": self._INCREMENT},
                                "has_uint32": 0, "uinteger": 0}
            yield self._generator
