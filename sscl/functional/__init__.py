"""Stateless tensor helpers that models, datasets and evaluation all use.

This package imports nothing else from sscl, so ``sscl.models``, ``sscl.datasets`` and
``sscl.evaluation`` stay siblings that do not import each other.
"""
from .blur import gaussian_kernel1d, separable_gaussian_blur
from .seeds import mix_seeds
from .similarity import mean_pairwise_cosine

__all__ = ['gaussian_kernel1d', 'mean_pairwise_cosine', 'mix_seeds', 'separable_gaussian_blur']
