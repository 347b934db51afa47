"""Batches of B labeled then μB unlabeled samples; an epoch is one pass over the unlabeled set."""
from typing import Iterator, Optional

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import ConcatDataset, Sampler

from sscl.registry import DATA_SAMPLERS
from sscl.utils.errors import ConfigError
from ..keyed_random import KeyedIndex, keyed_items

# Independent random streams of one seed (numpy SeedSequence keys).
LABELED_STREAM, UNLABELED_STREAM = 0, 1


@DATA_SAMPLERS.register_module()
class SemiSupervisedSampler(Sampler):
    """Index sampler over ``ConcatDataset([labeled, unlabeled])`` (e.g. a ``SemiDataset``).

    Every consecutive block of ``labeled_batch_size + unlabeled_batch_size`` indices is one
    batch (set the dataloader's ``batch_size`` to that sum): B labeled indices, then μB
    unlabeled ones.

    * Unlabeled: one permutation of the unlabeled set per epoch, sharded over the ranks, so an
      epoch visits every unlabeled sample at most once over all ranks (the incomplete last
      batch is dropped).
    * Labeled: one endless stream of permutations of the labeled set, a new one each time the
      previous one is exhausted, dealt out in blocks of B to the ranks in turn and continued
      from epoch to epoch.

    The order depends only on ``seed``, the epoch (:meth:`set_epoch`) and the rank. Each
    item is a :class:`KeyedIndex`: the index and the seed of that sample's augmentations,
    hashed from (seed, rank, epoch, position), so a run draws the same augmentations
    whatever its number of workers and wherever it was resumed (:meth:`set_start`).

    Args:
        dataset: ``ConcatDataset`` of the labeled and the unlabeled set, in that order.
        labeled_batch_size: B, labeled samples per batch and rank.
        unlabeled_batch_size: μB, unlabeled samples per batch and rank.
        shuffle: permute the sets; ``False`` reads both in order (the labeled set cyclically).
        seed: random seed shared by the ranks (synchronised across ranks when None).
    """

    def __init__(self,
                 dataset: ConcatDataset,
                 labeled_batch_size: int,
                 unlabeled_batch_size: int,
                 shuffle: bool = True,
                 seed: Optional[int] = None):
        if not isinstance(dataset, ConcatDataset) or len(dataset.datasets) != 2:
            raise ConfigError('SemiSupervisedSampler reads a ConcatDataset([labeled, unlabeled]) '
                              f'(e.g. SemiDataset), got {type(dataset).__name__}')
        if labeled_batch_size < 1 or unlabeled_batch_size < 1:
            raise ConfigError('labeled_batch_size and unlabeled_batch_size must be >= 1, got '
                              f'{labeled_batch_size} and {unlabeled_batch_size}')
        self.num_labeled, self.num_unlabeled = (len(d) for d in dataset.datasets)
        if self.num_labeled == 0:
            raise ConfigError('the labeled set is empty')
        self.labeled_batch_size = labeled_batch_size
        self.unlabeled_batch_size = unlabeled_batch_size
        self.shuffle = shuffle
        self.rank, self.world_size = get_dist_info()
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        self.start = 0
        self.num_batches = self.num_unlabeled // (self.world_size * unlabeled_batch_size)
        if self.num_batches == 0:
            raise ConfigError(f'the unlabeled set ({self.num_unlabeled} samples) is smaller than '
                              f'one batch of {unlabeled_batch_size} x {self.world_size} ranks')

    def _order(self, size: int, stream: int, key: int) -> np.ndarray:
        """Permutation number ``key`` of ``range(size)`` in random stream ``stream``."""
        if not self.shuffle:
            return np.arange(size)
        return np.random.default_rng([self.seed, stream, key]).permutation(size)

    def _unlabeled_indices(self) -> np.ndarray:
        """This rank's μB · num_batches unlabeled indices (into the unlabeled set)."""
        order = self._order(self.num_unlabeled, UNLABELED_STREAM, self.epoch)
        used = self.num_batches * self.unlabeled_batch_size * self.world_size
        return order[self.rank:used:self.world_size]

    def _labeled_indices(self) -> np.ndarray:
        """This rank's B · num_batches labeled indices, read from the labeled stream."""
        # Block g of B stream positions goes to rank g % world_size; epochs follow each other.
        blocks = (self.epoch * self.num_batches + np.arange(self.num_batches)) * self.world_size
        positions = (blocks[:, None] + self.rank) * self.labeled_batch_size + np.arange(
            self.labeled_batch_size)
        perm_id, offset = np.divmod(positions.ravel(), self.num_labeled)
        first, last = perm_id.min(), perm_id.max()
        perms = np.stack(
            [self._order(self.num_labeled, LABELED_STREAM, k) for k in range(first, last + 1)])
        return perms[perm_id - first, offset]

    def __iter__(self) -> Iterator[KeyedIndex]:
        labeled = self._labeled_indices().reshape(self.num_batches, self.labeled_batch_size)
        unlabeled = self._unlabeled_indices().reshape(self.num_batches, self.unlabeled_batch_size)
        indices = np.concatenate([labeled, unlabeled + self.num_labeled], axis=1).ravel()
        start, self.start = self.start, 0
        return keyed_items(indices.tolist(), self.seed, self.rank, self.epoch, start)

    def __len__(self) -> int:
        return self.num_batches * (self.labeled_batch_size + self.unlabeled_batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch's permutations (called by the training loop)."""
        self.epoch = epoch

    def set_start(self, num_items: int) -> None:
        """Start the next pass at item ``num_items`` of the epoch (mid-epoch resume: whole
        batches of B + μB items); later passes start at 0 again. ``len`` stays the length of
        the whole epoch."""
        self.start = num_items
