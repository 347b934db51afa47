import pytest
import torch
import torch.nn.functional as F

from sscl.registry import MODELS
from sscl.utils import register_all_modules

register_all_modules()


def build(**kwargs):
    cfg = dict(
        type='SsCL',
        backbone=dict(type='WideResNet', depth=10, widen_factor=1, bn_momentum=0.1),
        neck=dict(type='MoCoV2Neck', in_channels=64, hid_channels=32, out_channels=8),
        head=dict(type='LinearClsHead', num_classes=3, in_channels=64),
        num_classes=3,
        feat_dim=8,
        queue_len=16,
        momentum=0.9,
        num_positives=2,
        loss_pl=dict(type='PseudoLabelCrossEntropyLoss', threshold=0.0, loss_weight=1.0),
        loss_ctr=dict(type='MultiPosMarginContrastiveLoss', gamma=5.0, loss_weight=1.0),
        calibration=dict(mode='sample', temperature=0.1, window=4),
        data_preprocessor=dict(type='SsclDataPreprocessor', mean=(0, 0, 0), std=(1, 1, 1)))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def semi_batch(b=4, mu=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    img = lambda n: torch.randn(n, 3, 16, 16, generator=g)  # noqa: E731
    inputs = dict(labeled=img(b), weak=img(b * mu), strong=img(b * mu))
    samples = dict(
        labeled=dict(gt_label=torch.arange(b) % 3, sample_idx=torch.arange(b)),
        unlabeled=dict(gt_label=torch.arange(b * mu) % 3, sample_idx=torch.arange(b * mu)))
    return inputs, samples


def test_calibration_modes_on_hand_example():
    model = build()
    model.set_prototypes(torch.eye(3, 8))
    model.calib_window[:2] = torch.tensor([[0.5, 0.25, 0.25], [0.3, 0.45, 0.25]])
    model.calib_count.fill_(2)
    probs = torch.tensor([[0.2, 0.3, 0.5]])
    z = F.normalize(torch.tensor([[1.0, 1.0, 0, 0, 0, 0, 0, 0]]), dim=1)
    p_s = (z @ torch.eye(3, 8).t() / 0.1).softmax(dim=1)
    p_bar = torch.tensor([0.4, 0.35, 0.25])

    expected = probs * p_s / p_bar
    assert torch.allclose(model.calibrate(probs, z), expected / expected.sum(), atol=1e-6)
    model.calib_mode = 'global'
    expected = probs * p_bar
    assert torch.allclose(model.calibrate(probs, z), expected / expected.sum(), atol=1e-6)
    model.calib_mode = None
    assert torch.equal(model.calibrate(probs, z), probs)


def test_calibration_waits_for_prototypes():
    model = build()
    probs = torch.tensor([[0.2, 0.3, 0.5]])
    assert torch.equal(model.calibrate(probs, torch.randn(1, 8)), probs)


def test_invalid_calibration_mode():
    with pytest.raises(ValueError, match='calibration.mode'):
        build(calibration=dict(mode='both'))


def test_train_step_updates_queue_encoder_and_window():
    torch.manual_seed(0)
    model = build()
    model.init_pseudo_label_table(8)
    model.set_prototypes(torch.randn(3, 8))
    model.set_pseudo_labels(torch.tensor([0, 1, 2, 0, 1, 2, 0, -1]))
    optim = torch.optim.SGD(model.parameters(), lr=0.1)
    key_before = [p.clone() for p in model.momentum_encoder.parameters()]
    inputs, samples = semi_batch()
    losses = model.loss(inputs, samples)
    assert set(losses) == {'loss_sup', 'loss_pl', 'loss_ctr', 'pl_mask_rate', 'pl_acc'}
    assert all(torch.isfinite(v) for v in losses.values())
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    optim.step()
    model.loss(inputs, samples)
    # 4 labeled + 8 unlabeled keys per step, K = 16
    assert model.queue.queue_ptr.item() == 24 % 16
    # the second batch's labeled keys sit at slots 12-15, its unlabeled keys wrapped to 0-7
    assert (model.queue.queue_labels[12:] == samples['labeled']['gt_label']).all()
    assert (model.queue.queue_labels[:8] == -1).all()
    assert model.calib_count.item() == 2
    assert any(not torch.equal(a, b) for a, b in zip(key_before,
                                                     model.momentum_encoder.parameters()))
    assert all(not p.requires_grad for p in model.momentum_encoder.parameters())


def test_training_steps_lower_the_loss():
    torch.manual_seed(0)
    model = build(loss_pl=None, num_positives=0, calibration=dict(mode=None))
    optim = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    inputs, samples = semi_batch()
    history = []
    for _ in range(15):
        losses = model.loss(inputs, samples)
        total = losses['loss_sup'] + losses['loss_ctr']
        optim.zero_grad()
        total.backward()
        optim.step()
        history.append(losses['loss_sup'].item())
    assert history[-1] < 0.5 * history[0]


def test_fixmatch_configuration_has_no_key_encoder():
    model = build(neck=None, loss_ctr=None, calibration=dict(mode=None))
    assert not hasattr(model, 'momentum_encoder')
    losses = model.loss(*semi_batch())
    assert set(losses) == {'loss_sup', 'loss_pl', 'pl_mask_rate', 'pl_acc'}


def test_predict_format():
    model = build().eval()
    x = torch.randn(2, 3, 16, 16)
    out = model(x, dict(gt_label=torch.tensor([1, 2]), sample_idx=torch.tensor([5, 6])),
                mode='predict')
    assert len(out) == 2 and out[1]['sample_idx'] == 6 and out[1]['gt_label'] == 2
    assert out[0]['pred_score'].shape == (3, )
    assert torch.allclose(out[0]['pred_score'].sum(), torch.tensor(1.0))


def test_state_dict_round_trip_with_other_table_size():
    model = build()
    model.set_pseudo_labels(torch.tensor([2, 1, 0, 2, -1]))
    model.set_prototypes(torch.randn(3, 8))
    model.queue.enqueue(F.normalize(torch.randn(3, 8), dim=1), torch.tensor([0, 1, -1]))
    state = model.state_dict()
    fresh = build()
    assert fresh.pseudo_labels.numel() == 0
    fresh.load_state_dict(state)
    for key, value in state.items():
        assert torch.equal(fresh.state_dict()[key], value), key
    assert bool(fresh.prototypes_ready)
