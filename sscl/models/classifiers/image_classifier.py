"""Supervised image classifier (the supervised baseline and linear evaluation)."""
from typing import Dict, Optional, Union

import torch

from sscl.registry import MODELS
from .base_classifier import BaseClassifier


@MODELS.register_module()
class ImageClassifier(BaseClassifier):
    """Backbone → global average pool → linear head, trained with cross entropy.

    Trains on an evaluation-format batch, or on the labeled part of a semi-supervised batch
    (``inputs['labeled']``), so that the supervised baseline reads the same data as SsCL.

    With ``frozen_backbone=True`` (linear evaluation) the backbone gets no gradient, runs
    without autograd and stays in eval mode, so neither its weights nor its BatchNorm
    statistics change; only the head trains.

    Args:
        backbone: backbone config; ``forward`` returns a tuple of feature maps.
        head: ``LinearClsHead`` config, with its loss.
        frozen_backbone: freeze the whole backbone.
        data_preprocessor: batch preprocessor config (default ``SsclDataPreprocessor``).
        init_cfg: mmengine initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 frozen_backbone: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(backbone, head, data_preprocessor, init_cfg)
        self.frozen_backbone = frozen_backbone
        if frozen_backbone:
            self.backbone.requires_grad_(False)
            self.backbone.eval()

    def train(self, mode: bool = True) -> 'ImageClassifier':
        super().train(mode)
        if self.frozen_backbone:
            self.backbone.eval()
        return self

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """Args: inputs (N, 3, H, W). Returns: pooled features (N, C)."""
        if self.frozen_backbone:
            with torch.no_grad():
                return super().extract_feat(inputs)
        return super().extract_feat(inputs)

    def loss(self, inputs: Union[torch.Tensor, Dict[str, torch.Tensor]],
             data_samples: dict) -> Dict[str, torch.Tensor]:
        """Cross entropy of the head on the labeled images (eq. 1).

        Args:
            inputs: (N, 3, H, W) normalised images, or a semi-supervised batch's dict whose
                ``'labeled'`` entry (B, 3, H, W) is used alone.
            data_samples: ``{'gt_label': (N,), ...}``, or ``{'labeled': {'gt_label': (B,)},
                ...}`` for a semi-supervised batch.

        Returns:
            ``{'loss': scalar}``.
        """
        if isinstance(inputs, dict):
            inputs, data_samples = inputs['labeled'], data_samples['labeled']
        return self.head.loss(self.extract_feat(inputs), data_samples['gt_label'])
