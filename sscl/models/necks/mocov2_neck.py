"""MoCo v2 projection head."""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from sscl.registry import MODELS


@MODELS.register_module()
class MoCoV2Neck(BaseModule):
    """Two-layer MLP ``in → hidden → out`` with ReLU between (MoCo v2).

    Args:
        in_channels: pooled backbone feature size.
        hid_channels: hidden size.
        out_channels: embedding size (128 ImageNet, 64 CIFAR). Not normalised here: the
            algorithm L2-normalises.
        init_cfg: mmengine initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int,
                 out_channels: int,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.mlp = nn.Sequential(
            nn.Linear(in_channels, hid_channels), nn.ReLU(inplace=True),
            nn.Linear(hid_channels, out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (N, in). Returns: (N, out)."""
        return self.mlp(x)
