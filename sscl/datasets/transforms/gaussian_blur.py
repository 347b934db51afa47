"""Gaussian blur as two 1-D convolutions: torchvision's result at a fraction of its cost."""
from typing import Sequence, Union

import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform

from sscl.registry import TRANSFORMS
from sscl.utils.errors import ConfigError


def gaussian_kernel1d(kernel_size: int, sigma: torch.Tensor) -> torch.Tensor:
    """(N, kernel_size) weights ∝ exp(-t² / 2σ²) at integer offsets t, each row summing to
    1, for σ (N,)."""
    offset = (kernel_size - 1) / 2
    t = torch.arange(kernel_size, dtype=torch.float32, device=sigma.device) - offset
    return torch.softmax(-t.pow(2) / (2 * sigma.float().view(-1, 1)**2), dim=1)


def separable_gaussian_blur(img: torch.Tensor, kernel_size: int,
                            sigma: Union[float, torch.Tensor]) -> torch.Tensor:
    """Blur (C, H, W) or (N, C, H, W) images with reflect padding, like
    ``torchvision.transforms.v2.functional.gaussian_blur`` (whose 2-D kernel is the outer
    product of this 1-D one), in 2k instead of k² multiply-adds per pixel.

    Args:
        img: uint8 (rounded back to uint8) or float (dtype kept) images.
        kernel_size: odd kernel side k.
        sigma: one σ, or (N,) σ per image of a batch.
    """
    batched = img.unsqueeze(0) if img.ndim == 3 else img
    n, c, h, w = batched.shape
    x = batched.float() if not batched.is_floating_point() else batched
    sigma = torch.as_tensor(sigma, dtype=torch.float32, device=img.device).expand(n)
    # one kernel per (image, channel) group
    k = gaussian_kernel1d(kernel_size, sigma).to(x).repeat_interleave(c, dim=0)
    pad = kernel_size // 2
    x = F.pad(x.reshape(1, n * c, h, w), (pad, pad, pad, pad), mode='reflect')
    x = F.conv2d(x, k.view(n * c, 1, 1, -1), groups=n * c)
    x = F.conv2d(x, k.view(n * c, 1, -1, 1), groups=n * c).view(n, c, h, w)
    if not img.is_floating_point():
        x = x.round_().clamp_(0, 255).to(img.dtype)
    return x[0] if img.ndim == 3 else x


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
