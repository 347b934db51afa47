"""Separable Gaussian blur shared by the CPU transform and the batched GPU augmentation."""
from typing import Union

import torch
import torch.nn.functional as F


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
