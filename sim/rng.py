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
