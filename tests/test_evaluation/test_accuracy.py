import pytest
import torch
from mmengine.evaluator import Evaluator

from sscl.evaluation.metrics import Accuracy


def _samples(scores, labels):
    return [
        dict(
            pred_score=s,
            pred_label=s.argmax(),
            gt_label=torch.tensor(y),
            sample_idx=torch.tensor(i)) for i, (s, y) in enumerate(zip(scores, labels))
    ]


SCORES = torch.tensor([[0.7, 0.2, 0.1], [0.5, 0.3, 0.2], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3]])
LABELS = [0, 1, 0, 2]


def test_topk_on_hand_made_scores():
    metric = Accuracy(topk=(1, 2, 5))
    metric.process(None, _samples(SCORES, LABELS))
    result = metric.compute_metrics(metric.results)
    assert result['top1'] == pytest.approx(25.0)  # only sample 0
    assert result['top2'] == pytest.approx(75.0)  # samples 0, 1, 3
    assert result['top5'] == pytest.approx(100.0)  # clipped to 3 classes


def test_evaluator_accumulates_batches_under_the_accuracy_prefix():
    evaluator = Evaluator(dict(type='sscl.Accuracy', topk=(1, 5)))
    evaluator.process(_samples(SCORES[:2], LABELS[:2]))
    evaluator.process(_samples(SCORES[2:], LABELS[2:]))
    result = evaluator.evaluate(size=4)
    assert result == {'accuracy/top1': pytest.approx(25.0), 'accuracy/top5': pytest.approx(100.0)}
