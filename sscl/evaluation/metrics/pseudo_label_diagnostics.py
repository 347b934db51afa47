"""Classifier vs nearest-prototype labels (the paper's Table 5)."""
from typing import Any, Dict, List, Sequence

import torch
from mmengine.evaluator import BaseMetric

from sscl.registry import METRICS


def pseudo_label_diagnostics(cls_pred: torch.Tensor, proto_pred: torch.Tensor,
                             gt: torch.Tensor) -> Dict[str, float]:
    """Accuracy of the classifier, of the nearest prototype, and the overlap of their
    correct sets.

    Args:
        cls_pred: (N,) classifier labels.
        proto_pred: (N,) nearest-prototype labels.
        gt: (N,) ground truth.

    Returns:
        ``pl_acc``, ``proto_acc`` and ``overlap`` = |both correct| / |either correct|, in
        percent.
    """
    cls_ok, proto_ok = cls_pred == gt, proto_pred == gt
    union = (cls_ok | proto_ok).sum().clamp(min=1)
    return dict(
        pl_acc=cls_ok.double().mean().item() * 100,
        proto_acc=proto_ok.double().mean().item() * 100,
        overlap=((cls_ok & proto_ok).sum() / union).item() * 100)


@METRICS.register_module()
class PseudoLabelDiagnostics(BaseMetric):
    """Table 5 on an evaluation set: the classifier's accuracy (``pl_acc``), the nearest
    prototype's (``proto_acc``) and the overlap of their correct sets, in percent.

    Reads ``pred_label`` and ``proto_label`` of SsCL's ``predict`` (the prototypes of the
    last co-calibration refresh). Run it on the unlabeled training set to reproduce the
    paper's numbers; ``CoCalibrationHook`` logs the same figures at each refresh.
    """
    default_prefix = 'pseudo_label'

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'proto_label' not in sample:
                raise KeyError('PseudoLabelDiagnostics needs a model whose predictions carry '
                               '"proto_label" (SsCL with a neck)')
            self.results.append((int(sample['pred_label']), int(sample['proto_label']),
                                 int(sample['gt_label'])))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        cls_pred, proto_pred, gt = torch.tensor(results).t()
        if (proto_pred < 0).all():
            raise ValueError('PseudoLabelDiagnostics: the model has no prototypes yet (no '
                             'co-calibration refresh in this checkpoint)')
        return pseudo_label_diagnostics(cls_pred, proto_pred, gt)
