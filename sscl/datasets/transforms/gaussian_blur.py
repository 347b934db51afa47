"""Gaussian blur as two 1-D convolutions: torchvision's result at a fraction of its cost."""
from typing import Sequence, Union

import torch
from mmcv.transforms import BaseTransform

from sscl.functional import separable_gaussian_blur
from sscl.registry import TRANSFORMS
from sscl.utils.errors import ConfigError


@TRANSFORMS.register_module()
class GaussianBlur(BaseTransform):
    """Blur ``results['img']`` with probability ``prob``, σ drawn uniformly in ``sigma``.

    The distribution of ``torchvision.transforms.v2.GaussianBlur`` (wrapped in
    ``RandomApply`` for ``prob``), computed separably: at SimCLR's kernel of 23 this is about
    ten times faster on the CPU and equal up to rounding of the last uint8 step.

    Args:
        kernel_size: odd kernel side.
        sigma: (min, max) of σ, or a fixed σ.
        prob: probability of blurring.
    """

    def __init__(self,
                 kernel_size: int,
                 sigma: Union[float, Sequence[float]] = (0.1, 2.0),
                 prob: float = 1.0):
        if kernel_size % 2 != 1 or kernel_size < 1:
            raise ConfigError(f'GaussianBlur kernel_size must be odd and positive, got '
                              f'{kernel_size}')
        low, high = (sigma, sigma) if isinstance(sigma, (int, float)) else sigma
        if not 0 < low <= high:
            raise ConfigError(f'GaussianBlur sigma must satisfy 0 < min <= max, got {sigma}')
        if not 0.0 <= prob <= 1.0:
            raise ConfigError(f'prob must lie in [0, 1], got {prob}')
        self.kernel_size, self.sigma, self.prob = kernel_size, (float(low), float(high)), prob

    def transform(self, results: dict) -> dict:
        # Draws in torchvision's order: RandomApply's coin, then σ.
        if self.prob < 1.0 and torch.rand(1).item() >= self.prob:
            return results
        sigma = torch.empty(1).uniform_(*self.sigma).item()
        results['img'] = separable_gaussian_blur(results['img'], self.kernel_size, sigma)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(kernel_size={self.kernel_size}, sigma={self.sigma}, '
                f'prob={self.prob})')
