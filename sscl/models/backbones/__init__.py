from .resnet import ResNet
from .wide_resnet import WideResNet

__all__ = ['ResNet', 'WideResNet']
