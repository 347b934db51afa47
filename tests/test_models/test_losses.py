import math

import pytest
import torch
import torch.nn.functional as F

from sscl.models.losses import CrossEntropyLoss, PseudoLabelCrossEntropyLoss
from sscl.registry import MODELS


def test_cross_entropy_hand_example():
    logits, target = torch.tensor([[2.0, 0.5, -1.0], [0.0, 0.0, 0.0]]), torch.tensor([0, 2])
    z = math.exp(2.0) + math.exp(0.5) + math.exp(-1.0)
    expected = (-(2.0 - math.log(z)) + math.log(3)) / 2
    assert CrossEntropyLoss()(logits, target).item() == pytest.approx(expected, rel=1e-6)
    assert CrossEntropyLoss(loss_weight=2.0)(logits, target).item() == pytest.approx(
        2 * expected, rel=1e-6)


def test_cross_entropy_matches_torch_with_label_smoothing():
    torch.manual_seed(0)
    logits, target = torch.randn(6, 4), torch.randint(0, 4, (6, ))
    loss = MODELS.build(dict(type='CrossEntropyLoss', label_smoothing=0.1))
    assert torch.allclose(
        loss(logits, target), F.cross_entropy(logits, target, label_smoothing=0.1))


def test_pseudo_label_loss_hand_example():
    logits = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 2.0]], requires_grad=True)
    probs = torch.tensor([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]], requires_grad=True)
    loss, mask = PseudoLabelCrossEntropyLoss(threshold=0.8, loss_weight=2.0)(logits, probs)
    assert mask.dtype == torch.float32 and mask.tolist() == [1.0, 0.0, 1.0]
    # pseudo labels 0 and 1; CE = log(1 + e^-1) and log(1 + e^-2); mean over all 3 samples
    expected = 2.0 * (math.log(1 + math.exp(-1)) + math.log(1 + math.exp(-2))) / 3
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert probs.grad is None
    assert logits.grad[1].abs().sum() == 0
    # d CE / d logits = softmax - onehot, scaled by loss_weight / N
    p0 = torch.tensor([1.0, 0.0]).softmax(0)
    assert torch.allclose(logits.grad[0], 2.0 / 3 * (p0 - torch.tensor([1.0, 0.0])))


def test_pseudo_label_loss_is_zero_when_nothing_is_confident():
    logits = torch.randn(4, 3, requires_grad=True)
    loss, mask = PseudoLabelCrossEntropyLoss(threshold=0.95)(logits, torch.full((4, 3), 1 / 3))
    assert loss.item() == 0.0 and mask.sum() == 0
