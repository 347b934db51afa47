"""Seed hashing shared by the keyed dataset pipelines and the batched GPU augmentation."""
import numpy as np


def mix_seeds(*keys: np.ndarray) -> np.ndarray:
    """Hash integer keys (broadcast uint64 arrays) into well-spread 63-bit seeds.

    SplitMix64 finaliser applied to a combination of the keys: nearby keys give
    independent-looking seeds.
    """
    h = np.full(np.broadcast(*keys).shape, 0x243F6A8885A308D3, dtype=np.uint64)
    with np.errstate(over='ignore'):
        for key in keys:
            h = (h ^ np.asarray(key, dtype=np.uint64)) * np.uint64(0x9E3779B97F4A7C15)
            h ^= h >> np.uint64(30)
            h *= np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(27)
            h *= np.uint64(0x94D049BB133111EB)
            h ^= h >> np.uint64(31)
    return h >> np.uint64(1)
