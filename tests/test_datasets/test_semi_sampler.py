from collections import Counter
from unittest import mock

import numpy as np
import pytest
from torch.utils.data import ConcatDataset

from sscl.datasets.samplers import SemiSupervisedSampler
from sscl.utils import ConfigError

L, U = 5, 26  # labeled and unlabeled set sizes


def concat(num_labeled=L, num_unlabeled=U):
    return ConcatDataset([range(num_labeled), range(num_unlabeled)])


def sampler(rank=0, world_size=1, dataset=None, **kwargs):
    kwargs = dict(dict(labeled_batch_size=2, unlabeled_batch_size=4, seed=0), **kwargs)
    with mock.patch(
            'sscl.datasets.samplers.semi_sampler.get_dist_info', return_value=(rank, world_size)):
        return SemiSupervisedSampler(dataset or concat(), **kwargs)


def indices(s):
    return [item.index for item in s]


def batches(s):
    width = s.labeled_batch_size + s.unlabeled_batch_size
    return np.array(indices(s)).reshape(-1, width)


def test_b_labeled_then_mu_b_unlabeled_and_epoch_length():
    s = sampler()
    b = batches(s)
    assert len(b) == 6 and len(s) == 6 * 6  # 26 // 4 batches, the incomplete one dropped
    assert (b[:, :2] < L).all() and (b[:, 2:] >= L).all()
    unlabeled = b[:, 2:].ravel() - L
    assert len(set(unlabeled)) == 24 and set(unlabeled) <= set(range(U))


def test_two_ranks_share_one_pass_over_the_unlabeled_set():
    ds = concat(num_unlabeled=24)
    seen = []
    for rank in range(2):
        s = sampler(rank, 2, ds, labeled_batch_size=1, unlabeled_batch_size=3, seed=3)
        s.set_epoch(2)
        assert len(s) == 4 * 4 == len(list(s))
        seen += [i - L for i in indices(s) if i >= L]
    assert sorted(seen) == list(range(24))


def test_labeled_stream_is_a_sequence_of_permutations_across_ranks_and_epochs():
    """Blocks of B go to the ranks in turn; each run of L stream positions is a permutation."""
    ranks = [sampler(r, 2, labeled_batch_size=2, unlabeled_batch_size=2) for r in range(2)]
    stream = []
    for epoch in range(3):
        per_rank = []
        for s in ranks:
            s.set_epoch(epoch)
            per_rank.append(batches(s)[:, :2])
        stream += [i for j in range(len(per_rank[0])) for r in range(2) for i in per_rank[r][j]]
    perms = np.array(stream[:len(stream) // L * L]).reshape(-1, L)
    assert all(sorted(p) == list(range(L)) for p in perms)
    assert len({tuple(p) for p in perms}) > 1  # reshuffled when exhausted


def test_order_depends_on_seed_and_epoch_only():
    a, b = sampler(seed=1), sampler(seed=1)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    b.set_epoch(1)
    assert list(a) == list(b)
    assert list(sampler(seed=2)) != first


def test_no_shuffle_reads_in_order():
    b = batches(sampler(shuffle=False))
    assert b[:3, :2].ravel().tolist() == [0, 1, 2, 3, 4, 0]
    assert (b[:, 2:].ravel() - L).tolist() == list(range(24))


def test_bad_inputs():
    with pytest.raises(ConfigError, match='ConcatDataset'):
        SemiSupervisedSampler(range(4), labeled_batch_size=1, unlabeled_batch_size=1, seed=0)
    with pytest.raises(ValueError, match='smaller than one batch of 4 x 2 ranks'):
        sampler(0, 2, concat(num_unlabeled=7))
    with pytest.raises(ValueError, match='labeled set is empty'):
        sampler(dataset=concat(num_labeled=0))
    assert Counter(indices(sampler(dataset=concat(num_labeled=1)))[:2]) == {0: 2}


def test_augmentation_seeds_are_keyed_by_rank_epoch_and_position():
    a, b = sampler(seed=1), sampler(seed=1)
    seeds = [item.seed for item in a]
    assert seeds == [item.seed for item in b]
    assert len(set(seeds)) == len(seeds)  # a labeled sample seen twice is augmented twice
    a.set_epoch(1)
    assert not set(seeds) & {item.seed for item in a}
    assert not set(seeds) & {item.seed for item in sampler(rank=1, world_size=2, seed=1)}


def test_set_start_resumes_the_epoch_once():
    s = sampler(seed=4)
    s.set_epoch(3)
    full = list(s)
    s.set_start(2 * 6)  # two batches of 2 + 4
    assert len(s) == len(full)
    assert list(s) == full[2 * 6:]
    assert list(s) == full  # the next pass is whole again
