from .semi_sampler import SemiSupervisedSampler

__all__ = ['SemiSupervisedSampler']
