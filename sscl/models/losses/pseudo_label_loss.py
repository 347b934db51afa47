"""Thresholded hard pseudo-label cross entropy (paper eq. 2, FixMatch)."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from sscl.registry import MODELS


@MODELS.register_module()
class PseudoLabelCrossEntropyLoss(nn.Module):
    """``L_pl = loss_weight · 1/N Σ_i 1[max p̂_i ≥ τ] · H(argmax p̂_i, softmax(logits_i))``.

    The mean runs over all N unlabeled samples, masked ones included (FixMatch).

    Args:
        threshold: confidence threshold τ.
        loss_weight: λ_pl.
    """

    def __init__(self, threshold: float = 0.95, loss_weight: float = 1.0):
        super().__init__()
        self.threshold = threshold
        self.loss_weight = loss_weight

    def forward(self, logits: torch.Tensor,
                probs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Args:
            logits: (N, C) classifier logits on the strong view.
            probs: (N, C) calibrated pseudo-label distribution of the weak view (no grad).

        Returns:
            loss (scalar) and mask (N,) float: 1 where the pseudo label is confident.
        """
        probs = probs.detach()
        confidence, pseudo_label = probs.max(dim=1)
        mask = (confidence >= self.threshold).float()
        loss = (F.cross_entropy(logits, pseudo_label, reduction='none') * mask).mean()
        return self.loss_weight * loss, mask
