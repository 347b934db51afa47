"""Multi-positive margin contrastive loss (paper eq. 5, Circle-loss form)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from sscl.registry import MODELS
from sscl.utils.errors import ConfigError

POS_WEIGHTINGS = ('similarity', 'term')


@MODELS.register_module()
class MultiPosMarginContrastiveLoss(nn.Module):
    """``L = softplus( logsumexp_n γ(s_n + m) + logsumexp_p (−γ α_p s_p) )``, mean over queries.

    Equal to ``log(1 + Σ_n exp(γ(s_n + m)) · Σ_p exp(−γ α_p s_p))`` (eq. 5), computed in
    logsumexp/softplus form so that it stays finite for any γ. Masked-out entries take no part;
    a query without any negative contributes ``softplus(-inf) = 0``.

    ``pos_weighting`` says where the self-paced weight α_p enters:

    * ``'similarity'`` (eq. 5, SPEC §3): ``exp(−γ α_p s_p)``. A positive with α_p → 0 adds a
      constant 1 to Σ_p, which outweighs the own key's ``exp(−γ s)`` and so removes the
      pull towards it (docs/design.md, "Known issue").
    * ``'term'``: ``α_p exp(−γ s_p)``, i.e. ``logsumexp_p(−γ s_p + log α_p)``: the positive
      counts α_p times, and α_p = 0 removes it.

    Args:
        gamma: scale γ = 1/τ (10 ImageNet, 5 CIFAR).
        margin: m (−0.25 in the paper).
        loss_weight: λ_ctr.
        pos_weighting: ``'similarity'`` or ``'term'``.
    """

    def __init__(self,
                 gamma: float = 10.0,
                 margin: float = -0.25,
                 loss_weight: float = 1.0,
                 pos_weighting: str = 'similarity'):
        super().__init__()
        if pos_weighting not in POS_WEIGHTINGS:
            raise ConfigError(f'pos_weighting must be one of {POS_WEIGHTINGS}, '
                              f'got {pos_weighting!r}')
        self.pos_weighting = pos_weighting
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
        weight = pos_weight.detach()
        if self.pos_weighting == 'similarity':
            pos_logits = -self.gamma * weight * pos_sim
        else:
            pos_logits = -self.gamma * pos_sim + weight.clamp(min=0).log()
        pos_logits = pos_logits.masked_fill(~pos_mask | ~torch.isfinite(pos_logits),
                                            torch.finfo(pos_sim.dtype).min)
        loss = F.softplus(torch.logsumexp(neg_logits, dim=1) + torch.logsumexp(pos_logits, dim=1))
        return self.loss_weight * loss.mean()
