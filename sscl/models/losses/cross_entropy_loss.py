"""Supervised cross entropy (paper eq. 1)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from sscl.registry import MODELS


@MODELS.register_module()
class CrossEntropyLoss(nn.Module):
    """``L_sup = loss_weight · mean_i H(y_i, softmax(logits_i))`` (eq. 1).

    Args:
        loss_weight: multiplier of the loss.
        label_smoothing: torch's label smoothing amount.
    """

    def __init__(self, loss_weight: float = 1.0, label_smoothing: float = 0.0):
        super().__init__()
        self.loss_weight = loss_weight
        self.label_smoothing = label_smoothing

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Args: logits (N, C), target (N,) class indices. Returns: scalar."""
        return self.loss_weight * F.cross_entropy(
            logits, target, label_smoothing=self.label_smoothing)
