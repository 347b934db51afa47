from .batch_shuffle import forward_with_shuffle_bn
from .bn_statistics import bn_statistics, sync_bn_statistics
from .checked_pretrained_init import CheckedPretrainedInit
from .device import to_device_async
from .fused_ema import FusedExponentialMovingAverage

__all__ = [
    'CheckedPretrainedInit', 'FusedExponentialMovingAverage', 'bn_statistics',
    'forward_with_shuffle_bn', 'sync_bn_statistics', 'to_device_async'
]
