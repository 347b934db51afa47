"""ResNet with torchvision's parameter names, so detection conversion is a prefix strip."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torchvision.models.resnet import BasicBlock, Bottleneck
from torchvision.models.resnet import ResNet as TVResNet

from sscl.registry import MODELS
from sscl.utils.errors import ConfigError

_ARCH = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
}


@MODELS.register_module()
class ResNet(BaseModule):
    """ResNet-18/34/50/101 built from torchvision's blocks, without ``avgpool``/``fc``.

    ``state_dict()`` keys equal those of ``torchvision.models.resnet{depth}()`` minus ``fc.*``
    (``conv1``, ``bn1``, ``layer1.0.conv1`` … — 318 keys for ResNet-50), which are also the keys
    of mmdet's ResNet.

    Args:
        depth: 18, 34, 50 or 101.
        out_indices: stages (0-3) whose outputs ``forward`` returns.
        frozen_stages: freeze the stem and stages ``1..frozen_stages`` (0: the stem only,
            -1: nothing): no gradient, BatchNorm statistics fixed even in ``train()``.
        norm_eval: keep every BatchNorm in eval mode during training (linear evaluation).
        zero_init_residual: zero the last BN of each residual branch.
        sync_bn: build ``nn.SyncBatchNorm`` layers (mmengine reverts them to BN when the run
            is not distributed).
        init_cfg: mmengine initialisation config, e.g. ``Pretrained``; without one the
            weights keep torchvision's initialisation.

    Attributes:
        out_channels: channels of the last stage, 512·expansion.
    """

    def __init__(self,
                 depth: int = 50,
                 out_indices: Sequence[int] = (3, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 zero_init_residual: bool = False,
                 sync_bn: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if depth not in _ARCH:
            raise ConfigError(f'ResNet depth must be one of {sorted(_ARCH)}, got {depth}')
        if not -1 <= frozen_stages <= len(_ARCH[depth][1]):
            raise ConfigError(f'frozen_stages must be in [-1, 4], got {frozen_stages}')
        block, layers = _ARCH[depth]
        net = TVResNet(
            block,
            list(layers),
            zero_init_residual=zero_init_residual,
            norm_layer=nn.SyncBatchNorm if sync_bn else nn.BatchNorm2d)
        self.conv1, self.bn1, self.relu, self.maxpool = net.conv1, net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2 = net.layer1, net.layer2
        self.layer3, self.layer4 = net.layer3, net.layer4
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.out_channels = 512 * block.expansion
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        stages = [getattr(self, f'layer{i}') for i in range(1, self.frozen_stages + 1)]
        for m in (self.conv1, self.bn1, *stages):
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Args: x (N, 3, H, W). Returns: the outputs of the stages in ``out_indices``;
        stage i is (N, 64·2^i·expansion, H/2^(i+2), W/2^(i+2))."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for i in range(4):
            x = getattr(self, f'layer{i + 1}')(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True) -> 'ResNet':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self
