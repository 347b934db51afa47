from .batch_shuffle import forward_with_shuffle_bn

__all__ = ['forward_with_shuffle_bn']
