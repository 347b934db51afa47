"""Top-k classification accuracy."""
from typing import Any, Dict, List, Sequence

import torch
from mmengine.evaluator import BaseMetric

from sscl.registry import METRICS


@METRICS.register_module()
class Accuracy(BaseMetric):
    """Top-k accuracy in percent over every evaluated sample (all ranks).

    Consumes the per-sample dicts of the models' ``predict`` (``pred_score`` (C,),
    ``gt_label``). ``k`` larger than the number of classes is clipped.

    Args:
        topk: the k values; results are reported as ``top{k}``.
        **kwargs: ``collect_device`` and ``prefix`` of :class:`BaseMetric`.
    """
    default_prefix = 'accuracy'

    def __init__(self, topk: Sequence[int] = (1, 5), **kwargs):
        super().__init__(**kwargs)
        self.topk = tuple(topk)

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Keep the CPU score (C,) and label of every sample of ``data_samples``."""
        for sample in data_samples:
            self.results.append(
                dict(
                    pred_score=sample['pred_score'].detach().cpu().float(),
                    gt_label=int(sample['gt_label'])))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Returns: ``{'top{k}': percent of samples whose label is among the k best}``."""
        scores = torch.stack([r['pred_score'] for r in results])
        labels = torch.tensor([r['gt_label'] for r in results])
        metrics = {}
        for k in self.topk:
            top = scores.topk(min(k, scores.size(1)), dim=1).indices
            correct = (top == labels[:, None]).any(dim=1).float().mean()
            metrics[f'top{k}'] = correct.item() * 100
        return metrics
