"""Augmentation randomness keyed by the sample's place in the run, not by process state.

A sampler that yields :class:`KeyedIndex` items makes every sample's random draws a function
of (seed, rank, epoch, position in the epoch). They then do not depend on the number of
dataloader workers, on which worker reads the sample, or on where a run was resumed.
"""
import random
from contextlib import contextmanager
from typing import Iterator, NamedTuple, Sequence

import numpy as np
import torch

from sscl.functional import mix_seeds


class KeyedIndex(NamedTuple):
    """A dataset index with the seed of its augmentation draws."""
    index: int
    seed: int


def keyed_items(indices: Sequence[int], seed: int, rank: int, epoch: int,
                start: int = 0) -> Iterator[KeyedIndex]:
    """A sampler's epoch as :class:`KeyedIndex` items, from item ``start`` on: item ``i``
    carries the seed hash(seed, rank, epoch, i), whatever ``start`` is."""
    seeds = mix_seeds(seed, rank, epoch, np.arange(len(indices)))
    return map(KeyedIndex, list(indices[start:]), seeds[start:].tolist())


@contextmanager
def seeded_random_state(seed: int) -> Iterator[None]:
    """Seed torch's CPU generator, numpy's and Python's global RNGs with ``seed`` inside the
    block and restore their previous states after it (CUDA generators are not touched)."""
    torch_state = torch.random.get_rng_state()
    np_state = np.random.get_state()
    py_state = random.getstate()
    torch.random.default_generator.manual_seed(seed)
    np.random.seed(seed & 0xFFFFFFFF)
    random.seed(seed)
    try:
        yield
    finally:
        torch.random.set_rng_state(torch_state)
        np.random.set_state(np_state)
        random.setstate(py_state)


class SeededGetItemMixin:
    """Dataset mixin: an item given as :class:`KeyedIndex` is read (pipeline included) with
    the global random generators seeded by its seed, and restored afterwards; a plain index
    reads as usual."""

    def __getitem__(self, item):
        if isinstance(item, KeyedIndex):
            with seeded_random_state(item.seed):
                return super().__getitem__(item.index)
        return super().__getitem__(item)
