"""Linear classification head on pooled features."""
from typing import Dict, Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from sscl.registry import MODELS


@MODELS.register_module()
class LinearClsHead(BaseModule):
    """``Linear(in_channels, num_classes)`` on pooled backbone features.

    Args:
        num_classes: number of classes C.
        in_channels: pooled feature size.
        loss: config of the supervised loss (eq. 1).
        init_cfg: mmengine initialisation config.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss: dict = dict(type='CrossEntropyLoss'),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        self.fc = nn.Linear(in_channels, num_classes)
        self.loss_module = MODELS.build(loss)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """Args: feats (N, in). Returns: logits (N, C)."""
        return self.fc(feats)

    def loss(self, feats: torch.Tensor, gt_label: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Args: feats (N, in), gt_label (N,). Returns: ``{'loss': scalar}``."""
        return dict(loss=self.loss_from_logits(self(feats), gt_label))

    def loss_from_logits(self, logits: torch.Tensor, gt_label: torch.Tensor) -> torch.Tensor:
        """The supervised loss (eq. 1) of logits (N, C) already computed. Returns: scalar."""
        return self.loss_module(logits, gt_label)

    def predict(self, feats: torch.Tensor) -> torch.Tensor:
        """Args: feats (N, in). Returns: class probabilities (N, C)."""
        return self(feats).softmax(dim=1)
