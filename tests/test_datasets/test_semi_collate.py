import pytest
import torch
from mmengine.dataset import default_collate
from torch.utils.data import DataLoader

from sscl.datasets import SemiDataset, semi_collate
from sscl.datasets.samplers import SemiSupervisedSampler
from sscl.registry import FUNCTIONS

WEAK = [dict(type='RandomCrop', size=16, padding=2, padding_mode='reflect')]
STRONG = WEAK + [dict(type='RandAugment', num_ops=2, magnitude=10)]


def semi_dataset(root):
    folder = dict(type='ImageFolder', data_root=str(root), data_prefix='train')
    return SemiDataset(
        labeled=dict(
            folder,
            num_per_class=1,
            pipeline=[dict(type='LoadImage'), *WEAK,
                      dict(type='PackInputs')]),
        unlabeled=dict(
            folder,
            pipeline=[
                dict(type='LoadImage'),
                dict(type='MultiView', views=dict(weak=WEAK, strong=STRONG)),
                dict(type='PackInputs')
            ]))


def test_semi_batch_through_a_dataloader(imagenet_like):
    ds = semi_dataset(imagenet_like)
    sampler = SemiSupervisedSampler(ds, labeled_batch_size=2, unlabeled_batch_size=4, seed=0)
    collate = FUNCTIONS.get('sscl.semi_collate')  # the name configs use
    loader = DataLoader(ds, batch_size=6, sampler=sampler, collate_fn=collate)
    batches = list(loader)
    assert len(batches) == 3
    batch = batches[0]
    assert set(batch['inputs']) == {'labeled', 'weak', 'strong'}
    assert batch['inputs']['labeled'].shape == (2, 3, 16, 16)
    assert batch['inputs']['weak'].shape == batch['inputs']['strong'].shape == (4, 3, 16, 16)
    assert batch['inputs']['weak'].dtype == torch.uint8
    lab, unl = batch['data_samples']['labeled'], batch['data_samples']['unlabeled']
    assert set(lab) == set(unl) == {'gt_label', 'sample_idx'}
    assert lab['gt_label'].shape == lab['sample_idx'].shape == (2, )
    assert unl['gt_label'].shape == unl['sample_idx'].shape == (4, )
    assert unl['sample_idx'].dtype == torch.int64
    seen = torch.cat([b['data_samples']['unlabeled']['sample_idx'] for b in batches])
    assert sorted(seen.tolist()) == list(range(12))
    # ground truth stays available for diagnostics: folder order, 4 images per class
    assert torch.equal(unl['gt_label'], unl['sample_idx'] // 4)


def test_grouping_does_not_depend_on_order(imagenet_like):
    ds = semi_dataset(imagenet_like)
    samples = [ds[5], ds[0], ds[9]]  # unlabeled, labeled, unlabeled
    batch = semi_collate(samples)
    assert batch['data_samples']['labeled']['sample_idx'].tolist() == [0]
    assert batch['data_samples']['unlabeled']['sample_idx'].tolist() == [2, 6]
    with pytest.raises(ValueError, match='labeled and unlabeled samples'):
        semi_collate([ds[0], ds[1]])


def test_evaluation_batch_with_default_collate(imagenet_like):
    ds = semi_dataset(imagenet_like).labeled
    batch = default_collate([ds[i] for i in range(3)])
    assert batch['inputs'].shape == (3, 3, 16, 16) and batch['inputs'].dtype == torch.uint8
    assert batch['data_samples']['gt_label'].tolist() == [0, 1, 2]
    assert batch['data_samples']['sample_idx'].tolist() == [0, 1, 2]
