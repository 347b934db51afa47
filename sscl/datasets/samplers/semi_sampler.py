"""Batches of B labeled then μB unlabeled samples; an epoch is one pass over the unlabeled set."""
import math
from typing import Iterator

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from sscl.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class SemiSupervisedSampler(Sampler):
    """Index sampler over a :class:`SemiDataset`.

    Every consecutive block of ``labeled_batch_size + unlabeled_batch_size`` indices is one
    batch (set the dataloader's ``batch_size`` to that sum): B labeled indices, drawn from
    a permutation of the labeled set that is redrawn whenever it runs out, then μB unlabeled
    indices. Each rank reads its own shard of one permutation of the unlabeled set, so an
    epoch visits every unlabeled sample once over all ranks (the incomplete last batch is
    dropped). The order depends only on ``seed``, the epoch and the rank.

    Args:
        dataset: a :class:`SemiDataset`.
        labeled_batch_size: B, labeled samples per batch and rank.
        unlabeled_batch_size: μB, unlabeled samples per batch and rank.
        seed: shared random seed (synchronised across ranks when None).
    """

    def __init__(self, dataset, labeled_batch_size: int, unlabeled_batch_size: int,
                 seed: int = None):
        self.num_labeled = len(dataset.labeled)
        self.num_unlabeled = len(dataset.unlabeled)
        self.labeled_batch_size = labeled_batch_size
        self.unlabeled_batch_size = unlabeled_batch_size
        self.rank, self.world_size = get_dist_info()
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        self.num_batches = self.num_unlabeled // (self.world_size * unlabeled_batch_size)
        if self.num_batches == 0:
            raise ValueError(f'the unlabeled set ({self.num_unlabeled} samples) is smaller than '
                             f'one batch of {unlabeled_batch_size} x {self.world_size} ranks')

    def _labeled_stream(self, generator: torch.Generator) -> torch.Tensor:
        """B · num_batches labeled indices: concatenated fresh permutations."""
        need = self.labeled_batch_size * self.num_batches
        reps = math.ceil(need / self.num_labeled)
        perms = [torch.randperm(self.num_labeled, generator=generator) for _ in range(reps)]
        return torch.cat(perms)[:need]

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        unlabeled = torch.randperm(self.num_unlabeled, generator=g)
        unlabeled = unlabeled[self.rank::self.world_size][:self.num_batches *
                                                          self.unlabeled_batch_size]
        g_rank = torch.Generator().manual_seed(self.seed + self.epoch * 1000003 + self.rank)
        labeled = self._labeled_stream(g_rank)
        batches = torch.cat([
            labeled.view(self.num_batches, self.labeled_batch_size),
            unlabeled.view(self.num_batches, self.unlabeled_batch_size) + self.num_labeled
        ], dim=1)
        return iter(batches.flatten().tolist())

    def __len__(self) -> int:
        return self.num_batches * (self.labeled_batch_size + self.unlabeled_batch_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
