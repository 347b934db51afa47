"""WideResNet-28-2, the FixMatch architecture for 32x32 images."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from sscl.registry import MODELS


class _PreActBlock(nn.Module):
    """Pre-activation basic block: BN-LReLU-conv3x3-BN-LReLU-(dropout)-conv3x3 + shortcut."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, drop_rate: float,
                 bn_momentum: float, slope: float, activate_before_residual: bool):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_ch, momentum=bn_momentum)
        self.relu1 = nn.LeakyReLU(slope, inplace=True)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch, momentum=bn_momentum)
        self.relu2 = nn.LeakyReLU(slope, inplace=True)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.dropout = nn.Dropout(drop_rate) if drop_rate > 0 else nn.Identity()
        self.shortcut = None if in_ch == out_ch else nn.Conv2d(
            in_ch, out_ch, 1, stride, 0, bias=False)
        self.activate_before_residual = activate_before_residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = self.relu1(self.bn1(x))
        # FixMatch: the first block pre-activates its shortcut input too.
        identity = pre if self.activate_before_residual else x
        out = self.conv2(self.dropout(self.relu2(self.bn2(self.conv1(pre)))))
        if self.shortcut is not None:
            identity = self.shortcut(pre)
        return out + identity


@MODELS.register_module()
class WideResNet(BaseModule):
    """WideResNet-d-k (pre-activation, leaky ReLU) as used by FixMatch on CIFAR.

    Args:
        depth: 6n + 4 (28 → 4 blocks per stage).
        widen_factor: k; channels are 16, 16k, 32k, 64k.
        drop_rate: dropout inside blocks.
        bn_momentum: BatchNorm momentum (FixMatch: 0.001).
        leaky_relu_slope: negative slope (FixMatch: 0.1).
    """

    def __init__(self,
                 depth: int = 28,
                 widen_factor: int = 2,
                 drop_rate: float = 0.0,
                 bn_momentum: float = 0.001,
                 leaky_relu_slope: float = 0.1,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if (depth - 4) % 6 != 0:
            raise ValueError(f'WideResNet depth must be 6n+4, got {depth}')
        n = (depth - 4) // 6
        channels = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.conv1 = nn.Conv2d(3, channels[0], 3, 1, 1, bias=False)
        stages = []
        for i, stride in enumerate((1, 2, 2)):
            blocks = [
                _PreActBlock(channels[i] if b == 0 else channels[i + 1], channels[i + 1],
                             stride if b == 0 else 1, drop_rate, bn_momentum,
                             leaky_relu_slope, activate_before_residual=(i == 0 and b == 0))
                for b in range(n)
            ]
            stages.append(nn.Sequential(*blocks))
        self.block1, self.block2, self.block3 = stages
        self.bn = nn.BatchNorm2d(channels[3], momentum=bn_momentum)
        self.relu = nn.LeakyReLU(leaky_relu_slope, inplace=True)
        self.out_channels = channels[3]
        self._init_weights(leaky_relu_slope)

    def _init_weights(self, slope: float) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, a=slope, mode='fan_out',
                                        nonlinearity='leaky_relu')
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """Args: x (N, 3, 32, 32). Returns: ((N, 64k, 8, 8),)."""
        x = self.block3(self.block2(self.block1(self.conv1(x))))
        return (self.relu(self.bn(x)), )
