from .batch_shuffle import forward_with_shuffle_bn
from .checked_pretrained_init import CheckedPretrainedInit
from .device import to_device_async

__all__ = ['CheckedPretrainedInit', 'forward_with_shuffle_bn', 'to_device_async']
