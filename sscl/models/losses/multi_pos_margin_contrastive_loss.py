"""Multi-positive margin contrastive loss (paper eq. 5, Circle-loss form)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from sscl.registry import MODELS
from sscl.utils.errors import ConfigError

POS_WEIGHTINGS = ('similarity', 'term')
FORMS = ('circle', 'infonce')


@MODELS.register_module()
class MultiPosMarginContrastiveLoss(nn.Module):
    """Eq. 5 of the paper, in one of its two non-equal forms (``form``), mean over queries.

    The paper prints three lines as equal; the first two are, the third is not
    (docs/method.md, "Eq. 5"):

    * ``'circle'`` (line 3): ``log(1 + Σ_n exp(γ(s_n + m)) · Σ_p exp(−γ α_p s_p))``
      = ``softplus(LSE_n γ(s_n + m) + LSE_p(−γ α_p s_p))``. Its gradient goes mostly to the
      *hardest* positive (eq. 9's min α_p s_p).
    * ``'infonce'`` (lines 1-2): ``−log Σ_p e^{γ α_p s_p} / (Σ_p e^{γ α_p s_p} +
      Σ_n e^{γ(s_n + m)})`` = ``softplus(LSE_n γ(s_n + m) − LSE_p γ α_p s_p)``, the
      multi-positive InfoNCE with a margin. Its gradient goes mostly to the *easiest*
      positive (usually the query's own key), so a wrong class positive pulls little.

    Both are computed in logsumexp/softplus form and stay finite for any γ. Masked-out
    entries take no part; a query without any negative contributes ``softplus(-inf) = 0``.

    ``pos_weighting`` says where the self-paced weight α_p enters:

    * ``'similarity'`` (eq. 5 as printed): ``exp(∓γ α_p s_p)``. In the circle form a
      positive with α_p → 0 adds a constant 1 to Σ_p, which outweighs the own key's
      ``exp(−γ s)`` and removes the pull towards it (docs/method.md, "Eq. 5").
    * ``'term'``: ``α_p exp(∓γ s_p)``, i.e. ``LSE_p(∓γ s_p + log α_p)``: the positive
      counts α_p times, and α_p = 0 removes it.

    Args:
        gamma: scale γ = 1/τ (10 ImageNet, 5 CIFAR).
        margin: m (−0.25 in the paper).
        loss_weight: λ_ctr.
        pos_weighting: ``'similarity'`` or ``'term'``.
        form: ``'circle'`` or ``'infonce'``.
    """

    def __init__(self,
                 gamma: float = 10.0,
                 margin: float = -0.25,
                 loss_weight: float = 1.0,
                 pos_weighting: str = 'similarity',
                 form: str = 'circle'):
        super().__init__()
        if form not in FORMS:
            raise ConfigError(f'form must be one of {FORMS}, got {form!r}')
        self.form = form
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
        sign = -1.0 if self.form == 'circle' else 1.0
        if self.pos_weighting == 'similarity':
            pos_logits = sign * self.gamma * weight * pos_sim
        else:
            pos_logits = sign * self.gamma * pos_sim + weight.clamp(min=0).log()
        pos_logits = pos_logits.masked_fill(~pos_mask | ~torch.isfinite(pos_logits),
                                            torch.finfo(pos_sim.dtype).min)
        pos_lse = torch.logsumexp(pos_logits, dim=1)
        loss = F.softplus(torch.logsumexp(neg_logits, dim=1) - sign * pos_lse)
        return self.loss_weight * loss.mean()
