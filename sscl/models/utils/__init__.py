from .batch_shuffle import forward_with_shuffle_bn
from .device import to_device_async

__all__ = ['forward_with_shuffle_bn', 'to_device_async']
