from .fixmatch_rand_augment import FixMatchRandAugment
from .formatting import PackInputs
from .gaussian_blur import GaussianBlur
from .loading import LoadImage
from .multi_view import MultiView
from .torchvision_ops import (CenterCrop, ColorJitter, NamedTorchVision, RandAugment, RandomCrop,
                              RandomGrayscale, RandomHorizontalFlip, RandomResizedCrop, Resize,
                              TorchVision)

__all__ = [
    'CenterCrop', 'ColorJitter', 'FixMatchRandAugment', 'GaussianBlur', 'LoadImage',
    'MultiView', 'NamedTorchVision', 'PackInputs', 'RandAugment', 'RandomCrop',
    'RandomGrayscale', 'RandomHorizontalFlip', 'RandomResizedCrop', 'Resize', 'TorchVision'
]
