"""Intra-class similarity of embeddings (the paper's Table 4)."""
from typing import Any, Dict, List, Sequence

import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric

from sscl.functional import mean_pairwise_cosine
from sscl.registry import METRICS


def intra_class_similarity(feats: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean cosine similarity over all pairs of distinct samples of a class, averaged over
    the classes that have at least two samples.

    Uses ``sum_{i<j} <f_i, f_j> = (|sum_i f_i|^2 - n) / 2`` for unit vectors: O(N·D).

    Args:
        feats: (N, D) embeddings (normalised here).
        labels: (N,) class indices.

    Returns:
        The similarity in [-1, 1].
    """
    feats = F.normalize(feats.double(), dim=1)
    classes, counts = labels.unique(return_counts=True)
    sums = torch.zeros(int(classes.max()) + 1, feats.size(1), dtype=feats.dtype)
    sums.index_add_(0, labels, feats)
    keep = counts >= 2
    if not keep.any():
        raise ValueError('intra-class similarity needs a class with at least two samples')
    n = counts[keep].double()
    pair_sums = (sums[classes[keep]].pow(2).sum(dim=1) - n) / 2
    # clamp: the sum formula can exceed 1 by rounding when every pair is identical
    return (pair_sums / (n * (n - 1) / 2)).mean().clamp(-1.0, 1.0).item()


@METRICS.register_module()
class IntraClassSimilarity(BaseMetric):
    """Table 4: mean cosine similarity of same-class validation embeddings, averaged over
    classes, beside the mean cosine over all pairs.

    Args:
        feature_key: the per-sample output of ``predict`` to measure: ``'feat'`` (pooled
            backbone feature, every classifier) or ``'embed'`` (SsCL's contrastive
            embedding).
        **kwargs: ``collect_device`` and ``prefix`` of :class:`BaseMetric`.
    """
    default_prefix = 'intra_class'

    def __init__(self, feature_key: str = 'feat', **kwargs):
        super().__init__(**kwargs)
        self.feature_key = feature_key

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if self.feature_key not in sample:
                raise KeyError(f'IntraClassSimilarity: the model\'s predictions have no '
                               f'"{self.feature_key}" (keys: {sorted(sample)})')
            self.results.append((sample[self.feature_key].detach().cpu().float(),
                                 int(sample['gt_label'])))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        """Returns: ``similarity`` (same-class pairs) and ``mean_cosine`` (all pairs, the
        reference it must clearly exceed: 1 when the embedding has collapsed)."""
        feats = torch.stack([f for f, _ in results])
        labels = torch.tensor([g for _, g in results])
        return dict(
            similarity=intra_class_similarity(feats, labels),
            mean_cosine=float(mean_pairwise_cosine(F.normalize(feats.double(), dim=1))))
