"""Registered wrappers of torchvision transforms v2, applied to ``results['img']``.

The ops are torchvision's, built from the wrapper's keyword arguments; nothing is
re-implemented here. ``prob`` applies an op with that probability through torchvision's
``RandomApply`` (SimCLR's colour jitter and blur). Example configs::

    dict(type='RandomResizedCrop', size=224, scale=(0.2, 1.0), antialias=True)
    dict(type='RandomCrop', size=32, padding=4, padding_mode='reflect')   # FixMatch pad-crop
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, prob=0.8)
    dict(type='TorchVision', name='RandomSolarize', threshold=128, p=0.2)  # any other v2 op
"""
import torchvision.transforms.v2 as T
from mmcv.transforms import BaseTransform

from sscl.registry import TRANSFORMS
from sscl.utils.errors import ConfigError


@TRANSFORMS.register_module()
class TorchVision(BaseTransform):
    """Apply ``torchvision.transforms.v2.<name>(**kwargs)`` to ``results['img']``.

    Args:
        name: the name of a ``torchvision.transforms.v2`` transform class.
        prob: probability of applying the op (``RandomApply``); 1 applies it always.
        **kwargs: arguments of the torchvision op.
    """

    def __init__(self, name: str, prob: float = 1.0, **kwargs):
        op_class = getattr(T, name, None)
        if not isinstance(op_class, type) or not issubclass(op_class, T.Transform):
            raise ConfigError(f'"{name}" is not a torchvision.transforms.v2 transform')
        if not 0.0 <= prob <= 1.0:
            raise ConfigError(f'prob must lie in [0, 1], got {prob}')
        op = op_class(**kwargs)
        self.op = op if prob == 1.0 else T.RandomApply([op], p=prob)

    def transform(self, results: dict) -> dict:
        results['img'] = self.op(results['img'])
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.op!r})'


class NamedTorchVision(TorchVision):
    """Base of the wrappers named after their torchvision op (``op_name``).

    Args:
        prob: probability of applying the op.
        **kwargs: arguments of the torchvision op.
    """
    op_name = ''

    def __init__(self, prob: float = 1.0, **kwargs):
        super().__init__(self.op_name, prob=prob, **kwargs)


@TRANSFORMS.register_module()
class RandomResizedCrop(NamedTorchVision):
    """Crop of random area and aspect ratio, resized to ``size`` (``scale``, ``ratio``)."""
    op_name = 'RandomResizedCrop'


@TRANSFORMS.register_module()
class RandomCrop(NamedTorchVision):
    """Random ``size`` crop, optionally after ``padding`` (``padding_mode='reflect'``)."""
    op_name = 'RandomCrop'


@TRANSFORMS.register_module()
class RandomHorizontalFlip(NamedTorchVision):
    """Horizontal flip with probability ``p`` (default 0.5)."""
    op_name = 'RandomHorizontalFlip'


@TRANSFORMS.register_module()
class Resize(NamedTorchVision):
    """Resize to ``size`` (an int resizes the shorter side)."""
    op_name = 'Resize'


@TRANSFORMS.register_module()
class CenterCrop(NamedTorchVision):
    """Central ``size`` crop."""
    op_name = 'CenterCrop'


@TRANSFORMS.register_module()
class ColorJitter(NamedTorchVision):
    """Random ``brightness``, ``contrast``, ``saturation`` and ``hue``; ``prob`` of applying."""
    op_name = 'ColorJitter'


@TRANSFORMS.register_module()
class RandomGrayscale(NamedTorchVision):
    """Greyscale (kept 3-channel) with probability ``p``."""
    op_name = 'RandomGrayscale'


@TRANSFORMS.register_module()
class RandAugment(NamedTorchVision):
    """RandAugment: ``num_ops`` random ops of strength ``magnitude`` (of ``num_magnitude_bins``)."""
    op_name = 'RandAugment'
