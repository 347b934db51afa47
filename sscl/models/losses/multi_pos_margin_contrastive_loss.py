"""Multi-positive margin contrastive loss (paper eq. 5, Circle-loss form)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from sscl.registry import MODELS


@MODELS.register_module()
class MultiPosMarginContrastiveLoss(nn.Module):
    """``L = softplus( logsumexp_n γ(s_n + m) + logsumexp_p (−γ α_p s_p) )``, mean over queries.

    Equal to ``log(1 + Σ_n exp(γ(s_n + m)) · Σ_p exp(−γ α_p s_p))`` (eq. 5), computed in
    logsumexp/softplus form so that it stays finite for any γ. Masked-out entries take no part;
    a query without any negative contributes ``softplus(-inf) = 0``.

    Args:
        gamma: scale γ = 1/τ (10 ImageNet, 5 CIFAR).
        margin: m (−0.25 in the paper).
        loss_weight: λ_ctr.
    """

    def __init__(self, gamma: float = 10.0, margin: float = -0.25, loss_weight: float = 1.0):
        super().__init__()
        self.gamma = gamma
        self.margin = margin
        self.loss_weight = loss_weight

    def forward(self, pos_sim: torch.Tensor, pos_weight: torch.Tensor, pos_mask: torch.Tensor,
                neg_sim: torch.Tensor, neg_mask: torch.Tensor) -> torch.Tensor:
        """Args:
            pos_sim: (N, P) cosine similarities to the positives s_p.
            pos_weight: (N, P) self-paced weights α_p (no gradient).
            pos_mask: (N, P) bool, valid positives (each query needs at least one).
            neg_sim: (N, K) cosine similarities to the negatives s_n.
            neg_mask: (N, K) bool, valid negatives.

        Returns:
            Scalar loss.
        """
        neg_inf = torch.finfo(neg_sim.dtype).min
        neg_logits = (self.gamma * (neg_sim + self.margin)).masked_fill(~neg_mask, neg_inf)
        pos_logits = (-self.gamma * pos_weight.detach() * pos_sim).masked_fill(
            ~pos_mask,
            torch.finfo(pos_sim.dtype).min)
        loss = F.softplus(torch.logsumexp(neg_logits, dim=1) + torch.logsumexp(pos_logits, dim=1))
        return self.loss_weight * loss.mean()
