from .keyed_sampler import KeyedSampler
from .semi_sampler import SemiSupervisedSampler

__all__ = ['KeyedSampler', 'SemiSupervisedSampler']
