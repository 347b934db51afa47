from .formatting import MultiView, PackInputs
from .loading import LoadImage
from .torchvision_ops import OPS, TorchVisionTransform

__all__ = ['LoadImage', 'MultiView', 'OPS', 'PackInputs', 'TorchVisionTransform']
