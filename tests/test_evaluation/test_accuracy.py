import pytest
import torch

from sscl.evaluation.metrics import Accuracy


def test_topk_on_hand_made_scores():
    metric = Accuracy(topk=(1, 2, 5))
    scores = torch.tensor([[0.7, 0.2, 0.1], [0.5, 0.3, 0.2], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3]])
    labels = [0, 1, 0, 2]
    metric.process(None, [dict(pred_score=s, gt_label=torch.tensor(y))
                          for s, y in zip(scores, labels)])
    result = metric.compute_metrics(metric.results)
    assert result['top1'] == pytest.approx(25.0)  # only sample 0
    assert result['top2'] == pytest.approx(75.0)  # samples 0, 1, 3
    assert result['top5'] == pytest.approx(100.0)  # clipped to 3 classes
