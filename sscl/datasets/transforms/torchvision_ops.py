"""Registered wrappers of torchvision transforms v2, applied to ``results['img']``.

Each wrapper builds the torchvision op of the same name from its keyword arguments; ``prob``
applies it with that probability (SimCLR's ``RandomApply``). The ops themselves are
torchvision's: nothing is re-implemented here.
"""
import random

import torchvision.transforms.v2 as T
from mmcv.transforms import BaseTransform

from sscl.registry import TRANSFORMS


class TorchVisionTransform(BaseTransform):
    """Apply ``torchvision.transforms.v2.<op_name>(**kwargs)`` to ``results['img']``.

    Args:
        prob: probability of applying the op.
        **kwargs: arguments of the torchvision op.
    """
    op_name = ''

    def __init__(self, prob: float = 1.0, **kwargs):
        self.prob = prob
        self.op = getattr(T, self.op_name)(**kwargs)

    def transform(self, results: dict) -> dict:
        if self.prob >= 1.0 or random.random() < self.prob:
            results['img'] = self.op(results['img'])
        return results

    def __repr__(self) -> str:
        return f'{self.op!r}(prob={self.prob})'


OPS = ('RandomResizedCrop', 'RandomCrop', 'RandomHorizontalFlip', 'Resize', 'CenterCrop',
       'ColorJitter', 'RandomGrayscale', 'GaussianBlur', 'RandAugment', 'RandomSolarize')

for _name in OPS:
    TRANSFORMS.register_module(
        name=_name, module=type(_name, (TorchVisionTransform, ), dict(op_name=_name)))
