from collections import Counter
from unittest import mock

import torch

from sscl.datasets import SemiDataset, semi_collate
from sscl.datasets.samplers import SemiSupervisedSampler
from sscl.registry import TRANSFORMS
from sscl.utils import register_all_modules

register_all_modules()

WEAK = [dict(type='RandomCrop', size=16, padding=2, padding_mode='reflect')]
STRONG = WEAK + [dict(type='ColorJitter', brightness=0.4, contrast=0.4, prob=1.0),
                 dict(type='RandAugment', num_ops=2, magnitude=10)]


def semi(imagenet_like):
    folder = dict(type='ImageFolder', data_root=str(imagenet_like), data_prefix='train')
    return SemiDataset(
        labeled=dict(folder, num_per_class=1,
                     pipeline=[dict(type='LoadImage'), *WEAK, dict(type='PackInputs')]),
        unlabeled=dict(folder, pipeline=[
            dict(type='LoadImage'),
            dict(type='MultiView', views=dict(weak=WEAK, strong=STRONG)),
            dict(type='PackInputs')
        ]))


def test_batches_are_b_labeled_then_mu_b_unlabeled(imagenet_like):
    ds = semi(imagenet_like)
    sampler = SemiSupervisedSampler(ds, labeled_batch_size=2, unlabeled_batch_size=4, seed=0)
    idx = list(sampler)
    assert len(idx) == len(sampler) == 3 * 6  # 12 unlabeled / 4 per batch
    for b in range(3):
        block = idx[6 * b:6 * (b + 1)]
        assert all(i < 3 for i in block[:2]) and all(i >= 3 for i in block[2:])
    assert sorted(i - 3 for i in idx if i >= 3) == list(range(12))
    sampler.set_epoch(1)
    assert list(sampler) != idx


def test_ranks_split_the_unlabeled_epoch(imagenet_like):
    ds = semi(imagenet_like)
    seen = []
    for rank in range(2):
        with mock.patch('sscl.datasets.samplers.semi_sampler.get_dist_info',
                        return_value=(rank, 2)):
            sampler = SemiSupervisedSampler(ds, labeled_batch_size=1, unlabeled_batch_size=3,
                                            seed=3)
        assert len(sampler) == 2 * 4
        seen += [i for i in sampler if i >= 3]
    assert sorted(Counter(seen)) == list(range(3, 15)) and max(Counter(seen).values()) == 1


def test_semi_collate_and_two_views_of_one_decode(imagenet_like):
    ds = semi(imagenet_like)
    sampler = SemiSupervisedSampler(ds, labeled_batch_size=2, unlabeled_batch_size=4, seed=0)
    idx = list(sampler)[:6]
    with mock.patch('sscl.datasets.transforms.loading.decode_image',
                    wraps=__import__('torchvision').io.decode_image) as decode:
        batch = semi_collate([ds[i] for i in idx])
        assert decode.call_count == 6  # one decode per sample, two views each unlabeled
    assert batch['inputs']['labeled'].shape == (2, 3, 16, 16)
    assert batch['inputs']['weak'].shape == batch['inputs']['strong'].shape == (4, 3, 16, 16)
    assert batch['data_samples']['unlabeled']['sample_idx'].tolist() == [i - 3 for i in idx[2:]]
    assert not torch.equal(batch['inputs']['weak'], batch['inputs']['strong'])


def test_transform_wrappers_call_torchvision():
    t = TRANSFORMS.build(dict(type='RandomResizedCrop', size=8, antialias=True))
    out = t(dict(img=torch.zeros(3, 20, 20, dtype=torch.uint8)))['img']
    assert out.shape == (3, 8, 8) and out.dtype == torch.uint8
    never = TRANSFORMS.build(dict(type='ColorJitter', brightness=0.9, prob=0.0))
    img = torch.full((3, 4, 4), 100, dtype=torch.uint8)
    assert torch.equal(never(dict(img=img.clone()))['img'], img)
