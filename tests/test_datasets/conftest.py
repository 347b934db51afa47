"""Tiny datasets in the real on-disk formats, written into ``tmp_path``."""
import pickle

import numpy as np
import pytest
import torch
from torchvision.io import write_jpeg

from sscl.utils import register_all_modules

WNIDS = ('n01', 'n02', 'n03')


@pytest.fixture(scope='session', autouse=True)
def sscl_scope():
    """Configs name sscl's transforms without a scope prefix."""
    register_all_modules()


def write_list(path, lines) -> str:
    """A list file with one entry per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


@pytest.fixture
def imagenet_like(tmp_path):
    """An ImageNet-like tree: ``train/<wnid>/<wnid>_<i>.JPEG``, 3 classes x 4 noise images."""
    root = tmp_path / 'imagenet'
    g = torch.Generator().manual_seed(0)
    for wnid in WNIDS:
        folder = root / 'train' / wnid
        folder.mkdir(parents=True)
        for i in range(4):
            img = torch.randint(0, 256, (3, 20, 24), dtype=torch.uint8, generator=g)
            write_jpeg(img, str(folder / f'{wnid}_{i}.JPEG'))
    return root


def _write_cifar(folder, files, label_key, meta_file, meta_key, num_classes, per_file):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    arrays = {}
    for name in files:
        data = rng.integers(0, 256, (per_file, 3072), dtype=np.uint8)
        arrays[name] = data
        batch = {
            b'batch_label': name.encode(),
            b'data': data,
            label_key: [i % num_classes for i in range(per_file)],
            b'filenames': [f'{name}_{i}.png'.encode() for i in range(per_file)]
        }
        with open(folder / name, 'wb') as f:
            pickle.dump(batch, f)
    with open(folder / meta_file, 'wb') as f:
        pickle.dump({meta_key: [f'c{i}'.encode() for i in range(num_classes)]}, f)
    return arrays


@pytest.fixture
def cifar10_like(tmp_path):
    """``cifar-10-batches-py`` in the official layout, 12 images per batch file.

    Returns:
        (data_root, {file name: uint8 (12, 3072) data}).
    """
    files = [f'data_batch_{i}' for i in range(1, 6)] + ['test_batch']
    arrays = _write_cifar(tmp_path / 'cifar10' / 'cifar-10-batches-py', files, b'labels',
                          'batches.meta', b'label_names', 10, 12)
    return tmp_path / 'cifar10', arrays


@pytest.fixture
def cifar100_like(tmp_path):
    """``cifar-100-python`` in the official layout: 200 train, 100 test images."""
    folder = tmp_path / 'cifar100' / 'cifar-100-python'
    _write_cifar(folder, ['train'], b'fine_labels', 'meta', b'fine_label_names', 100, 200)
    rng = np.random.default_rng(1)
    with open(folder / 'test', 'wb') as f:
        pickle.dump(
            {
                b'data': rng.integers(0, 256, (100, 3072), dtype=np.uint8),
                b'fine_labels': list(range(100)),
                b'coarse_labels': [0] * 100
            }, f)
    return tmp_path / 'cifar100'
