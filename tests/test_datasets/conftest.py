import pickle

import numpy as np
import pytest
import torch
from torchvision.io import write_jpeg


@pytest.fixture
def imagenet_like(tmp_path):
    """data/imagenet-like tree: train/<wnid>/<wnid>_<i>.JPEG for 3 classes x 4 images."""
    root = tmp_path / 'imagenet'
    for c, wnid in enumerate(['n01', 'n02', 'n03']):
        folder = root / 'train' / wnid
        folder.mkdir(parents=True)
        for i in range(4):
            img = torch.full((3, 20, 24), 40 * c + 10 * i, dtype=torch.uint8)
            write_jpeg(img, str(folder / f'{wnid}_{i}.JPEG'))
    return root


@pytest.fixture
def cifar10_like(tmp_path):
    """The official cifar-10-batches-py layout with 12 images per batch."""
    folder = tmp_path / 'cifar10' / 'cifar-10-batches-py'
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f'data_batch_{i}' for i in range(1, 6)] + ['test_batch']
    for name in names:
        batch = {b'data': rng.integers(0, 255, (12, 3072), dtype=np.uint8),
                 b'labels': [i % 10 for i in range(12)]}
        with open(folder / name, 'wb') as f:
            pickle.dump(batch, f)
    with open(folder / 'batches.meta', 'wb') as f:
        pickle.dump({b'label_names': [f'c{i}'.encode() for i in range(10)]}, f)
    return tmp_path / 'cifar10'
