"""A two-convolution backbone small enough for a committed checkpoint (the golden tests).

Imported by the training subprocess through ``custom_imports`` (``tests/test_tools`` on
``PYTHONPATH``).
"""
from typing import Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from sscl.registry import MODELS


@MODELS.register_module()
class GoldenTinyNet(BaseModule):
    """conv3x3/2 (3 → 8) → BN → ReLU → conv3x3/2 (8 → ``channels``) → BN → ReLU.

    Args:
        channels: output channels.
    """

    def __init__(self, channels: int = 16):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, channels, 3, 2, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU())

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """Args: x (N, 3, H, W). Returns: ``((N, channels, H/4, W/4),)``."""
        return (self.layers(x), )
