import pytest
import torch
import torch.nn.functional as F
import torchvision

from sscl.models.backbones import ResNet, WideResNet
from sscl.models.data_preprocessors import SsclDataPreprocessor
from sscl.models.heads import LinearClsHead
from sscl.models.losses import CrossEntropyLoss, PseudoLabelCrossEntropyLoss
from sscl.models.necks import MoCoV2Neck
from sscl.registry import MODELS
from sscl.utils import register_all_modules

register_all_modules()


@pytest.mark.parametrize('depth', [18, 50])
def test_resnet_keys_equal_torchvision(depth):
    ours = ResNet(depth=depth)
    tv = getattr(torchvision.models, f'resnet{depth}')()
    tv_state = {k: v for k, v in tv.state_dict().items() if not k.startswith('fc.')}
    assert list(ours.state_dict()) == list(tv_state)
    ours.load_state_dict(tv_state, strict=True)
    x = torch.randn(1, 3, 64, 64)
    tv.eval(), ours.eval()
    trunk = torch.nn.Sequential(*list(tv.children())[:-2])
    assert torch.allclose(ours(x)[-1], trunk(x), atol=1e-5)


def test_resnet50_has_318_keys_and_out_indices():
    model = ResNet(depth=50, out_indices=(0, 3))
    assert len(model.state_dict()) == 318
    outs = model(torch.randn(2, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [256, 2048] and outs[1].shape[-1] == 2


def test_frozen_stages_and_norm_eval_freeze_weights_and_statistics():
    model = ResNet(depth=18, frozen_stages=4, norm_eval=True)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert not any(p.requires_grad for p in model.parameters())
    model(torch.randn(2, 3, 32, 32))
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_wide_resnet_28_2_shape_and_size():
    model = WideResNet(depth=28, widen_factor=2)
    assert model(torch.randn(2, 3, 32, 32))[-1].shape == (2, 128, 8, 8)
    assert 1.4e6 < sum(p.numel() for p in model.parameters()) < 1.6e6


def test_neck_and_head_shapes():
    assert MoCoV2Neck(16, 32, 8)(torch.randn(4, 16)).shape == (4, 8)
    head = LinearClsHead(num_classes=5, in_channels=16)
    assert head(torch.randn(4, 16)).shape == (4, 5)
    assert torch.allclose(head.predict(torch.randn(4, 16)).sum(1), torch.ones(4))


def test_cross_entropy_matches_torch():
    logits, target = torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([0])
    expected = -torch.log_softmax(logits, 1)[0, 0]
    assert CrossEntropyLoss(loss_weight=2.0)(logits, target).item() == pytest.approx(
        2 * expected.item())


def test_pseudo_label_loss_hand_example():
    logits = torch.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    probs = torch.tensor([[0.9, 0.1], [0.6, 0.4]], requires_grad=True)
    loss, mask = PseudoLabelCrossEntropyLoss(threshold=0.8)(logits, probs)
    assert mask.tolist() == [1.0, 0.0]
    # mean over both samples of the masked CE of sample 0 with label 0
    expected = F.cross_entropy(logits[:1].detach(), torch.tensor([0])).item() / 2
    assert loss.item() == pytest.approx(expected)
    loss.backward()
    assert probs.grad is None and logits.grad[1].abs().sum() == 0


def test_preprocessor_normalises_every_view():
    pre = SsclDataPreprocessor(mean=(100, 100, 100), std=(50, 50, 50))
    img = torch.full((1, 3, 2, 2), 200, dtype=torch.uint8)
    out = pre(dict(inputs=dict(weak=img, strong=img), data_samples=dict(x=torch.ones(1))))
    assert torch.allclose(out['inputs']['weak'], torch.full((1, 3, 2, 2), 2.0))
    assert out['inputs']['strong'].dtype == torch.float32
    assert pre(dict(inputs=img))['inputs'].shape == (1, 3, 2, 2)


def test_image_classifier_learns_and_predicts():
    torch.manual_seed(0)
    model = MODELS.build(
        dict(type='ImageClassifier',
             backbone=dict(type='WideResNet', depth=10, widen_factor=1, bn_momentum=0.1),
             head=dict(type='LinearClsHead', num_classes=2, in_channels=64)))
    x = torch.randn(8, 3, 16, 16)
    samples = dict(gt_label=torch.tensor([0, 1] * 4), sample_idx=torch.arange(8))
    optim = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    first = None
    for _ in range(10):
        loss = model(x, samples, mode='loss')['loss']
        first = loss.item() if first is None else first
        optim.zero_grad()
        loss.backward()
        optim.step()
    assert loss.item() < 0.5 * first
    # the labeled part of a semi-supervised batch trains the same way
    semi = model(dict(labeled=x, weak=x, strong=x), dict(labeled=samples), mode='loss')
    assert torch.isfinite(semi['loss'])
    out = model.eval()(x, samples, mode='predict')
    assert len(out) == 8 and out[0]['pred_score'].shape == (2, )
