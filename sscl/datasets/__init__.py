"""Dataset readers, the semi-supervised wrapper and sampler, transforms and collate."""
from . import samplers, transforms  # noqa: F401
from .base_dataset import BaseImageDataset
from .cifar import CIFAR10, CIFAR100
from .fgvc_aircraft import FGVCAircraft
from .image_folder import ImageFolder
from .list_file_dataset import ListFileDataset
from .semi_collate import semi_collate
from .semi_dataset import SemiDataset
from .stanford_cars import StanfordCars

__all__ = [
    'BaseImageDataset', 'CIFAR10', 'CIFAR100', 'FGVCAircraft', 'ImageFolder', 'ListFileDataset',
    'SemiDataset', 'StanfordCars', 'semi_collate'
]
