"""One seed in config drives every random draw: per-job seeds are derived from it deterministically."""

from __future__ import annotations

import zlib

import numpy as np


def _key_int(key: str | int) -> int:
    # crc32 is stable across processes and Python versions, unlike hash(str).
    return key if isinstance(key, int) else zlib.crc32(key.encode("utf-8"))


def derive_seed(seed: int, *keys: str | int) -> int:
    """A 32-bit seed derived from the global ``seed`` and a path of keys (e.g. stage, dataset name)."""
    entropy = [int(seed), *(_key_int(k) for k in keys)]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def generator(seed: int, *keys: str | int) -> np.random.Generator:
    """A numpy Generator for the job identified by ``keys``."""
    return np.random.default_rng(derive_seed(seed, *keys))
