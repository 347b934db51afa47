"""Small synthetic datasets in the real on-disk formats, shared by the tool tests."""
import os
import os.path as osp

import torch
from torchvision.io import write_png


def digits_like(root, per_class: int = 6, size: int = 32, test_per_class: int = 2) -> None:
    """``root/{train,test}/<0-9>/<i>.png``: the layout of the exported digits demo."""
    g = torch.Generator().manual_seed(0)
    for split, n in (('train', per_class), ('test', test_per_class)):
        for c in range(10):
            os.makedirs(osp.join(root, split, str(c)), exist_ok=True)
            for i in range(n):
                img = (torch.rand(3, size, size, generator=g) * 50 + 20 * c).to(torch.uint8)
                write_png(img, osp.join(root, split, str(c), f'{i}.png'))


def cifar10_like(root, per_file: int = 2) -> None:
    """``root/cifar-10-batches-py``: 5 training batches and a test batch of ``per_file``
    random 32×32 images each, in CIFAR's pickle format, labels running over the 10 classes."""
    import pickle

    import numpy as np
    folder = osp.join(root, 'cifar-10-batches-py')
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    files = [f'data_batch_{i}' for i in range(1, 6)] + ['test_batch']
    for f, name in enumerate(files):
        batch = {
            b'batch_label': name.encode(),
            b'data': rng.integers(0, 256, (per_file, 3072), dtype=np.uint8),
            b'labels': [(f * per_file + i) % 10 for i in range(per_file)],
            b'filenames': [f'{name}_{i}.png'.encode() for i in range(per_file)],
        }
        with open(osp.join(folder, name), 'wb') as fh:
            pickle.dump(batch, fh)
    with open(osp.join(folder, 'batches.meta'), 'wb') as fh:
        pickle.dump({b'label_names': [f'c{i}'.encode() for i in range(10)]}, fh)


def imagenet_like(root, per_class: int = 3, size: int = 48) -> str:
    """``root/{train,val}/<wnid>/<wnid>_<i>.JPEG`` for 2 classes, and a SimCLR-style subset
    list (file names only) naming one training image per class; returns the list's path."""
    from torchvision.io import write_jpeg
    g = torch.Generator().manual_seed(0)
    wnids = ['n01440764', 'n01443537']
    for split in ('train', 'val'):
        for c, wnid in enumerate(wnids):
            os.makedirs(osp.join(root, split, wnid), exist_ok=True)
            for i in range(per_class):
                img = (torch.rand(3, size, size, generator=g) * 100 + 100 * c).to(torch.uint8)
                write_jpeg(img, osp.join(root, split, wnid, f'{wnid}_{i}.JPEG'))
    subset = osp.join(root, 'subset.txt')
    with open(subset, 'w') as f:
        f.write(''.join(f'{wnid}_0.JPEG\n' for wnid in wnids))
    return subset
