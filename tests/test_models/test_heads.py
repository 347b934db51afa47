import pytest
import torch
import torch.nn.functional as F

from sscl.models.heads import LinearClsHead


def test_linear_cls_head_forward_loss_predict():
    torch.manual_seed(0)
    head = LinearClsHead(num_classes=5, in_channels=16)
    feats, labels = torch.randn(4, 16), torch.tensor([0, 1, 4, 2])
    logits = head(feats)
    assert logits.shape == (4, 5)
    assert torch.allclose(logits, feats @ head.fc.weight.t() + head.fc.bias)
    losses = head.loss(feats, labels)
    assert set(losses) == {'loss'}
    assert losses['loss'].item() == pytest.approx(F.cross_entropy(logits, labels).item())
    scores = head.predict(feats)
    assert torch.allclose(scores, logits.softmax(dim=1))


def test_linear_cls_head_builds_its_loss_from_config():
    head = LinearClsHead(
        num_classes=3, in_channels=4, loss=dict(type='CrossEntropyLoss', loss_weight=0.5))
    feats, labels = torch.randn(2, 4), torch.tensor([0, 2])
    expected = 0.5 * F.cross_entropy(head(feats), labels)
    assert head.loss(feats, labels)['loss'].item() == pytest.approx(expected.item())


def test_loss_from_logits_applies_the_configured_loss_to_given_logits():
    head = LinearClsHead(
        num_classes=3, in_channels=4, loss=dict(type='CrossEntropyLoss', loss_weight=0.5))
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    labels = torch.tensor([0, 1])
    # by hand: 0.5 * mean(-log softmax) = 0.5 * (log(2 + e^2) - 2 + log(2 + e) - 0) / 2
    e = torch.tensor(1.0).exp()
    expected = 0.5 * ((2 + e**2).log() - 2 + (2 + e).log()) / 2
    assert head.loss_from_logits(logits, labels).item() == pytest.approx(expected.item())
