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
