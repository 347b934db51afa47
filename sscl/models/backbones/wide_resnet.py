"""WideResNet-28-2, the FixMatch architecture for 32x32 images."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from sscl.registry import MODELS
from sscl.utils.errors import ConfigError


class _PreActBlock(nn.Module):
    """Pre-activation basic block: BN-LReLU-conv3x3-BN-LReLU-(dropout)-conv3x3 + shortcut.

    As in FixMatch, the shortcut takes the raw block input, except in the network's first
    block (``activate_before_residual``), whose shortcut takes the pre-activated input. A
    1x1 convolution projects the shortcut when the channel count changes.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: stride of the first convolution and of the projection.
        drop_rate: dropout probability between the two convolutions.
        bn_momentum: BatchNorm momentum.
        leaky_relu_slope: negative slope of the activations.
        activate_before_residual: feed the pre-activation to the shortcut.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, drop_rate: float,
                 bn_momentum: float, leaky_relu_slope: float, activate_before_residual: bool):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels, momentum=bn_momentum)
        self.relu1 = nn.LeakyReLU(leaky_relu_slope, inplace=True)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels, momentum=bn_momentum)
        self.relu2 = nn.LeakyReLU(leaky_relu_slope, inplace=True)
        self.dropout = nn.Dropout(drop_rate) if drop_rate > 0 else nn.Identity()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.shortcut = None if in_channels == out_channels else nn.Conv2d(
            in_channels, out_channels, 1, stride, 0, bias=False)
        self.activate_before_residual = activate_before_residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (N, in, H, W). Returns: (N, out, H/stride, W/stride)."""
        pre = self.relu1(self.bn1(x))
        out = self.conv2(self.dropout(self.relu2(self.bn2(self.conv1(pre)))))
        identity = pre if self.activate_before_residual else x
        if self.shortcut is not None:
            identity = self.shortcut(identity)
        return out + identity


@MODELS.register_module()
class WideResNet(BaseModule):
    """WideResNet-d-k (pre-activation, leaky ReLU) as used by FixMatch on CIFAR.

    A 3x3 stem with 16 channels, three stages of ``(depth - 4) / 6`` blocks with 16k, 32k
    and 64k channels (strides 1, 2, 2), then BN + leaky ReLU. Convolutions use FixMatch's He
    initialisation ``N(0, 2 / (k·k·out_channels))`` and have no bias (every one is followed
    by BatchNorm). WRN-28-2 has 1,466,320 parameters (1.47 M with a 10-class classifier).

    Args:
        depth: 6n + 4 (28 → 4 blocks per stage).
        widen_factor: k.
        drop_rate: dropout inside the blocks (FixMatch CIFAR: 0).
        bn_momentum: BatchNorm momentum (FixMatch: 0.001, i.e. TF decay 0.999).
        leaky_relu_slope: negative slope (FixMatch: 0.1).
        init_cfg: mmengine initialisation config, e.g. ``Pretrained``.
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
            raise ConfigError(f'WideResNet depth must be 6n+4, got {depth}')
        num_blocks = (depth - 4) // 6
        channels = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.conv1 = nn.Conv2d(3, channels[0], 3, 1, 1, bias=False)
        stages = []
        for i, stride in enumerate((1, 2, 2)):
            blocks = [
                _PreActBlock(
                    channels[i] if b == 0 else channels[i + 1],
                    channels[i + 1],
                    stride if b == 0 else 1,
                    drop_rate,
                    bn_momentum,
                    leaky_relu_slope,
                    activate_before_residual=(i == 0 and b == 0)) for b in range(num_blocks)
            ]
            stages.append(nn.Sequential(*blocks))
        self.block1, self.block2, self.block3 = stages
        self.bn = nn.BatchNorm2d(channels[3], momentum=bn_momentum)
        self.relu = nn.LeakyReLU(leaky_relu_slope, inplace=True)
        self.out_channels = channels[3]
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """Args: x (N, 3, 32, 32). Returns: ``((N, 64k, 8, 8),)``."""
        x = self.block3(self.block2(self.block1(self.conv1(x))))
        return (self.relu(self.bn(x)), )
