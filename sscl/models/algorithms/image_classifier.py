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
    """

    def loss(self, inputs: Union[torch.Tensor, Dict[str, torch.Tensor]],
             data_samples: dict) -> Dict[str, torch.Tensor]:
        """Returns: ``{'loss': scalar}``."""
        if isinstance(inputs, dict):
            inputs, data_samples = inputs['labeled'], data_samples['labeled']
        return self.head.loss(self.extract_feat(inputs), data_samples['gt_label'])
