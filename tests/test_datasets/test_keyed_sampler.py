import pytest
import torch
from mmengine.dataset import DefaultSampler
from torch.utils.data import DataLoader
from torchvision.io import write_png

from sscl.datasets import ImageFolder
from sscl.datasets.keyed_random import KeyedIndex
from sscl.datasets.samplers import KeyedSampler
from sscl.utils import register_all_modules

register_all_modules()


def test_same_order_as_default_sampler_with_keys():
    data = list(range(10))
    keyed, plain = KeyedSampler(data, seed=3), DefaultSampler(data, seed=3)
    seeds = []
    for epoch in range(2):
        keyed.set_epoch(epoch)
        plain.set_epoch(epoch)
        items = list(keyed)
        assert all(isinstance(i, KeyedIndex) for i in items)
        assert [i.index for i in items] == list(plain)
        seeds += [i.seed for i in items]
    assert len(set(seeds)) == 20  # new draws for every sample in every epoch


def test_set_start_skips_once():
    s = KeyedSampler(list(range(10)), seed=0)
    full = list(s)
    s.set_start(4)
    assert len(s) == 10 and list(s) == full[4:]
    assert list(s) == full


def _folder(root):
    g = torch.Generator().manual_seed(0)
    for c in range(2):
        (root / 'train' / str(c)).mkdir(parents=True)
        for i in range(4):
            write_png((torch.rand(3, 16, 16, generator=g) * 255).to(torch.uint8),
                      str(root / 'train' / str(c) / f'{i}.png'))


@pytest.mark.parametrize('sampler', [KeyedSampler, DefaultSampler])
def test_augmentations_do_not_depend_on_workers(tmp_path, sampler):
    _folder(tmp_path)
    dataset = ImageFolder(
        data_root=str(tmp_path),
        data_prefix='train',
        pipeline=[
            dict(type='LoadImage'),
            dict(type='RandomResizedCrop', size=8, scale=(0.2, 1.0)),
            dict(type='PackInputs')
        ])

    def epoch(workers):
        loader = DataLoader(dataset, batch_size=4, num_workers=workers,
                            sampler=sampler(dataset, seed=1),
                            collate_fn=lambda b: torch.stack([x['inputs'] for x in b]))
        return torch.cat(list(loader))

    torch.manual_seed(123)
    first = epoch(0)
    torch.manual_seed(456)  # the global state does not matter either
    # the keys make the crops independent of the workers; mmengine's sampler does not
    assert torch.equal(first, epoch(2)) == (sampler is KeyedSampler)
    # a plain index still reads with the global generators
    assert dataset[0]['inputs'].shape == (3, 8, 8)
