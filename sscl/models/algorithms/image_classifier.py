"""Supervised image classifier (the supervised baseline and linear evaluation)."""
from typing import Dict, Union

import torch

from sscl.registry import MODELS
from .base_classifier import BaseClassifier


@MODELS.register_module()
class ImageClassifier(BaseClassifier):
    """Backbone → global average pool → linear head, trained with cross entropy.

    Trains on an evaluation-format batch, or on the labeled part of a semi-supervised batch
    (``inputs['labeled']``), so that the supervised baseline reads the same data as SsCL.

    Args:
        backbone: backbone config; ``forward`` returns a tuple of feature maps.
        head: ``LinearClsHead`` config, with its loss.
        data_preprocessor: batch preprocessor config (default ``SsclDataPreprocessor``).
        init_cfg: mmengine initialisation config.
    """

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
