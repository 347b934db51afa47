import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from sscl.registry import MODELS
from sscl.utils import register_all_modules
from sscl.utils.errors import ConfigError

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
    co = build().co_calibration
    co.set_prototypes(torch.eye(3, 8))
    co.calib_window[:2] = torch.tensor([[0.5, 0.25, 0.25], [0.3, 0.45, 0.25]])
    co.calib_window[2:] = 5.0  # rows not filled yet must not count
    co.calib_count.fill_(2)
    probs = torch.tensor([[0.2, 0.3, 0.5]])
    z = F.normalize(torch.tensor([[1.0, 1.0, 0, 0, 0, 0, 0, 0]]), dim=1)
    p_s = (z @ torch.eye(3, 8).t() / 0.1).softmax(dim=1)
    p_bar = torch.tensor([0.4, 0.35, 0.25])

    expected = probs * p_s / p_bar
    assert torch.allclose(co.calibrate(probs, z), expected / expected.sum(), atol=1e-6)
    co.mode = 'global'
    expected = probs * p_bar
    assert torch.allclose(co.calibrate(probs, z), expected / expected.sum(), atol=1e-6)
    co.mode = None
    assert torch.equal(co.calibrate(probs, z), probs)


def test_raw_cosine_similarity_on_hand_example():
    """p_s = max(cos, 0): cosines 2/3, -1/3, 2/3 to the prototypes give w = (2/3) / p̄_s,
    0, (2/3) / p̄_s; a sample with every cosine <= 0 keeps p_b."""
    co = build(calibration=dict(mode='sample', window=4, similarity='cosine')).co_calibration
    co.set_prototypes(torch.eye(3, 8))
    co.calib_window[:2] = torch.tensor([[0.5, 0.25, 0.25], [0.3, 0.45, 0.25]])
    co.calib_count.fill_(2)  # p̄_s = (0.4, 0.35, 0.25)
    probs = torch.tensor([[0.2, 0.3, 0.5], [0.2, 0.3, 0.5]])
    z = torch.tensor([[2.0, -1, 2, 0, 0, 0, 0, 0], [-1.0, -1, -1, 0, 0, 0, 0, 0]])
    z = F.normalize(z, dim=1)
    torch.testing.assert_close(co.similarity_distribution(z)[0],
                               torch.tensor([2 / 3, 0, 2 / 3]))
    # 0.2 * 5/3 = 1/3, 0.3 * 0 = 0, 0.5 * 8/3 = 4/3: normalised 0.2, 0, 0.8
    torch.testing.assert_close(co.calibrate(probs, z),
                               torch.tensor([[0.2, 0.0, 0.8], [0.2, 0.3, 0.5]]))


def test_invalid_similarity():
    with pytest.raises(ConfigError, match='calibration.similarity'):
        build(calibration=dict(mode='sample', similarity='dot'))


def test_step_calibration_is_float32_under_bf16_autocast():
    """What the step calls for its targets (window update, then calibration) gives under
    CPU bf16 autocast the float32 values: T_s = 0.1 would magnify bf16 rounding."""
    co = build().co_calibration
    g = torch.Generator().manual_seed(0)
    co.set_prototypes(torch.randn(3, 8, generator=g))
    co.calib_window[:2] = torch.rand(2, 3, generator=g).softmax(dim=1)
    co.calib_count.fill_(2)
    probs = torch.randn(16, 3, generator=g).softmax(dim=1)
    z = F.normalize(torch.randn(16, 8, generator=g), dim=1)
    state = {k: v.clone() for k, v in co.state_dict().items()}
    full = co.update_window_and_calibrate(probs, z)
    window = co.calib_window.clone()
    co.load_state_dict(state)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        half = co.update_window_and_calibrate(probs, z)
        nearest = co.nearest(z)
    assert half.dtype == torch.float32
    torch.testing.assert_close(half, full, atol=1e-5, rtol=0)
    torch.testing.assert_close(co.calib_window, window, atol=1e-5, rtol=0)
    assert torch.equal(nearest, (z @ co.prototypes.t()).argmax(dim=1))


def test_calibration_waits_for_prototypes():
    model = build()
    probs = torch.tensor([[0.2, 0.3, 0.5]])
    assert torch.equal(model.co_calibration.calibrate(probs, torch.randn(1, 8)), probs)


def test_invalid_calibration_mode():
    with pytest.raises(ValueError, match='calibration.mode'):
        build(calibration=dict(mode='both'))


def test_train_step_updates_queue_encoder_and_window():
    torch.manual_seed(0)
    model = build()
    model.co_calibration.init_table(8)
    model.co_calibration.set_prototypes(torch.randn(3, 8))
    model.co_calibration.set_pseudo_labels(torch.tensor([0, 1, 2, 0, 1, 2, 0, -1]))
    optim = torch.optim.SGD(model.parameters(), lr=0.1)
    key_before = [p.clone() for p in model.momentum_encoder.parameters()]
    inputs, samples = semi_batch()
    losses = model.loss(inputs, samples)
    assert set(losses) == {
        'loss_sup', 'loss_pl', 'loss_ctr', 'pl_mask_rate', 'pl_acc', 'key_mean_cos'
    }
    assert all(torch.isfinite(v) for v in losses.values())
    queue = model.queue.queue
    assert losses['key_mean_cos'] == pytest.approx(float((queue @ queue.t()).mean()), abs=1e-6)
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    optim.step()
    model.loss(inputs, samples)
    # 4 labeled + 8 unlabeled keys per step, K = 16
    assert model.queue.queue_ptr.item() == 24 % 16
    # the second batch's labeled keys sit at slots 12-15, its unlabeled keys wrapped to 0-7
    assert (model.queue.queue_labels[12:] == samples['labeled']['gt_label']).all()
    assert (model.queue.queue_labels[:8] == -1).all()
    assert model.co_calibration.calib_count.item() == 2
    assert any(not torch.equal(a, b)
               for a, b in zip(key_before, model.momentum_encoder.parameters()))
    assert all(not p.requires_grad for p in model.momentum_encoder.parameters())


def test_training_steps_lower_every_loss():
    torch.manual_seed(0)
    model = build()
    model.co_calibration.init_table(8)
    model.co_calibration.set_prototypes(torch.randn(3, 8))
    model.co_calibration.set_pseudo_labels(torch.tensor([0, 1, 2, 0, 1, 2, 0, 1]))
    optim = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    inputs, samples = semi_batch()
    model.loss(inputs, samples)  # fill the queue with real keys
    # The same batch every step: hold the queue fixed, or its own earlier keys (label -1)
    # would become hard negatives of the unlabeled queries.
    queue = {k: v.clone() for k, v in model.queue.state_dict().items()}
    history = []
    for _ in range(10):
        model.queue.load_state_dict(queue)
        losses = model.loss(inputs, samples)
        optim.zero_grad()
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        optim.step()
        history.append({k: v.item() for k, v in losses.items() if 'loss' in k})
    for key in ('loss_sup', 'loss_pl', 'loss_ctr'):
        assert history[-1][key] < 0.5 * history[0][key], key


def test_fixmatch_configuration_has_no_key_encoder():
    model = build(neck=None, loss_ctr=None, calibration=dict(mode=None))
    assert not hasattr(model, 'momentum_encoder')
    losses = model.loss(*semi_batch())
    assert set(losses) == {'loss_sup', 'loss_pl', 'pl_mask_rate', 'pl_acc'}


def test_predict_format():
    model = build().eval()
    x = torch.randn(2, 3, 16, 16)
    out = model(
        x, dict(gt_label=torch.tensor([1, 2]), sample_idx=torch.tensor([5, 6])), mode='predict')
    assert len(out) == 2 and out[1]['sample_idx'] == 6 and out[1]['gt_label'] == 2
    with torch.no_grad():
        probs = model.head(model.extract_feat(x)).softmax(dim=1)
    for r, p in zip(out, probs):
        torch.testing.assert_close(r['pred_score'], p)
        assert int(r['pred_label']) == int(p.argmax())


def test_state_dict_round_trip_with_other_table_size():
    model = build()
    model.co_calibration.set_pseudo_labels(torch.tensor([2, 1, 0, 2, -1]))
    model.co_calibration.set_prototypes(torch.randn(3, 8))
    model.queue.enqueue(F.normalize(torch.randn(3, 8), dim=1), torch.tensor([0, 1, -1]))
    state = model.state_dict()
    fresh = build()
    assert fresh.co_calibration.pseudo_labels.numel() == 0
    fresh.load_state_dict(state)
    for key, value in state.items():
        assert torch.equal(fresh.state_dict()[key], value), key
    assert bool(fresh.co_calibration.prototypes_ready)


def test_empty_window_counts_as_uniform():
    model = build(calibration=dict(mode='global', temperature=0.1, window=4))
    model.co_calibration.set_prototypes(torch.eye(3, 8))
    probs = torch.tensor([[0.2, 0.3, 0.5]])
    assert torch.allclose(model.co_calibration.calibrate(probs, torch.randn(1, 8)), probs)


def test_window_fills_only_once_prototypes_exist():
    model = build()
    co = model.co_calibration
    co.init_table(8)
    inputs, samples = semi_batch()
    model.loss(inputs, samples)
    assert co.calib_count.item() == 0 and (co.calib_window == 0).all()
    co.set_prototypes(torch.randn(3, 8))
    for _ in range(5):  # window t = 4: wraps around
        model.loss(inputs, samples)
    assert co.calib_count.item() == 4 and co.calib_ptr.item() == 1
    assert torch.allclose(co.calib_window.sum(dim=1), torch.ones(4))


class _HostSyncSpy(TorchDispatchMode):
    """Records the ops that read a device tensor back to the host (they block a GPU)."""
    SYNCING = (torch.ops.aten._local_scalar_dense.default, torch.ops.aten.nonzero.default,
               torch.ops.aten.masked_select.default, torch.ops.aten.item.default)

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in self.SYNCING:
            self.calls.append(str(func))
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize('records', [False, True])
@pytest.mark.parametrize('ready', [False, True])
@pytest.mark.parametrize('mode', ['sample', 'global'])
def test_training_step_never_syncs_with_the_host(ready, mode, records):
    model = build(calibration=dict(mode=mode, temperature=0.1, window=4))
    model.co_calibration.init_table(8)
    if records:
        model.init_step_records(4, 8)
    if ready:
        model.co_calibration.set_prototypes(torch.randn(3, 8))
        model.co_calibration.set_pseudo_labels(torch.tensor([0, 1, 2, 0, 1, 2, 0, -1]))
    inputs, samples = semi_batch()
    with _HostSyncSpy() as spy:
        losses = model.loss(inputs, samples)
        sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert spy.calls == []


def test_zero_loss_weight_switches_a_branch_off():
    model = build(
        loss_ctr=dict(type='MultiPosMarginContrastiveLoss', loss_weight=0.0),
        loss_pl=dict(type='PseudoLabelCrossEntropyLoss', loss_weight=0.0))
    assert not hasattr(model, 'momentum_encoder') and not hasattr(model, 'queue')
    assert set(model.loss(*semi_batch())) == {'loss_sup'}


def test_calibration_needs_a_neck():
    with pytest.raises(ValueError, match='neck'):
        build(neck=None, loss_ctr=None)


def test_init_weights_starts_the_key_encoder_as_a_copy():
    model = build(
        backbone=dict(
            type='WideResNet',
            depth=10,
            widen_factor=1,
            bn_momentum=0.1,
            init_cfg=dict(type='Kaiming', layer='Conv2d')))
    model.init_weights()
    key = model.momentum_encoder.state_dict()
    for name, value in model.backbone.state_dict().items():
        assert torch.equal(key['backbone.' + name], value), name
    for name, value in model.neck.state_dict().items():
        assert torch.equal(key['neck.' + name], value), name


def test_tensor_mode_returns_logits():
    model = build().eval()
    x = torch.randn(2, 3, 16, 16)
    feat = model.backbone(x)[-1].mean(dim=(2, 3))  # global average pool of the last map
    torch.testing.assert_close(model.extract_feat(x), feat)
    torch.testing.assert_close(model(x, mode='tensor'), model.head(feat))


def test_predict_adds_embedding_and_nearest_prototype():
    model = build().eval()
    imgs = torch.randn(5, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    samples = dict(gt_label=torch.arange(5) % 3, sample_idx=torch.arange(5))
    out = model.predict(imgs, samples)
    assert all(int(r['proto_label']) == -1 for r in out)  # no refresh yet
    protos = F.normalize(torch.randn(3, 8, generator=torch.Generator().manual_seed(2)), dim=1)
    model.co_calibration.set_prototypes(protos)
    out = model.predict(imgs, samples)
    z, _ = model.embed(imgs)
    for i, r in enumerate(out):
        torch.testing.assert_close(r['embed'], z[i])
        assert int(r['proto_label']) == int((z[i] @ protos.t()).argmax())
        torch.testing.assert_close(r['feat'], model.extract_feat(imgs[i:i + 1])[0])


def test_channels_last_model_matches_the_default_layout():
    torch.manual_seed(0)
    plain = build()
    fast = build(data_preprocessor=dict(
        type='SsclDataPreprocessor', mean=(0, 0, 0), std=(1, 1, 1), channels_last=True))
    fast.load_state_dict(plain.state_dict())
    conv = fast.momentum_encoder['backbone'].conv1.weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    batch = semi_batch()
    losses = [
        m(**m.data_preprocessor(dict(inputs=batch[0], data_samples=batch[1]), True), mode='loss')
        for m in (plain, fast)
    ]
    for key in losses[0]:
        torch.testing.assert_close(losses[1][key], losses[0][key], rtol=1e-4, atol=1e-5)


def test_bf16_autocast_step_stays_close_to_float32():
    """The AMP path on the CPU: the contrastive similarities stay in float32."""
    torch.manual_seed(0)
    model = build()
    batch = semi_batch()
    data = model.data_preprocessor(dict(inputs=batch[0], data_samples=batch[1]), True)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    full = model(**data, mode='loss')
    model.load_state_dict(state)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        half = model(**data, mode='loss')
    for key in ('loss_sup', 'loss_ctr'):
        assert half[key].dtype == torch.float32
        torch.testing.assert_close(half[key], full[key], rtol=0.05, atol=0.05)
    half['loss_ctr'].backward()
    assert model.backbone.conv1.weight.grad.isfinite().all()


@pytest.mark.parametrize('mode', ['sample', None])
def test_step_records_hold_the_steps_pseudo_labels_and_embeddings(mode):
    model = build(calibration=dict(mode=mode, temperature=0.1, window=4))
    model.co_calibration.init_table(20)
    model.init_step_records(6, 20)
    model.co_calibration.set_prototypes(torch.randn(3, 8))
    inputs, samples = semi_batch()
    samples['labeled']['sample_idx'] = torch.tensor([5, 0, 3, 1])
    samples['unlabeled']['sample_idx'] = torch.arange(8) * 2 + 1
    model.train()
    model.loss(inputs, samples)

    # the same joint forward pass again (train-mode BN: the same batch statistics)
    with torch.no_grad():
        x = torch.cat([inputs['labeled'], inputs['weak'], inputs['strong']])
        all_feats = model.extract_feat(x)
        feats = all_feats[4:12]
        z = F.normalize(model.neck(feats), dim=1)
        calibrated = model.co_calibration.calibrate(model.head(feats).softmax(dim=1), z)
        z_lab = F.normalize(model.neck(all_feats[:4]), dim=1)
    rec = model.co_calibration.step_records
    idx = samples['unlabeled']['sample_idx']
    assert torch.equal(rec.assigned[idx], calibrated.argmax(dim=1))
    sim = z @ model.co_calibration.prototypes.t()
    assert torch.equal(rec.nearest[idx], sim.argmax(dim=1))
    torch.testing.assert_close(rec.sim_assigned[idx], sim.gather(1, rec.assigned[idx, None])[:, 0])
    assert (rec.assigned[::2] == -1).all() and (rec.assigned[[17, 19]] == -1).all()  # unseen
    torch.testing.assert_close(rec.labeled_embed[[5, 0, 3, 1]].float(), z_lab, atol=1e-2, rtol=0)
    assert (rec.labeled_embed[[2, 4]] == 0).all()
    assert not rec.complete()
    rec.labeled_embed[[2, 4]] = 1
    rec.assigned[rec.assigned < 0] = 0
    assert rec.complete()


def test_step_records_need_the_pseudo_label_pass():
    with pytest.raises(ConfigError, match='loss_pl'):
        build(loss_pl=None).init_step_records(4, 8)


def test_step_records_round_trip_without_switching_recording_on():
    model = build()
    model.init_step_records(3, 5)
    model.co_calibration.step_records.fill(torch.randn(3, 8), torch.tensor([0, 1, 2, 0, 1]),
                                           torch.tensor([1, 1, 2, 0, 0]), torch.rand(5))
    fresh = build()
    fresh.load_state_dict(model.state_dict())
    for key, value in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key
    # only CoCalibrationHook(source='steps') switches recording on
    assert not fresh.co_calibration.step_records.enabled


def test_a_labeled_batch_larger_than_the_labeled_set():
    """B = 4 labeled rows drawn from 2 labeled images (e.g. CIFAR-10 at 40 labels, B = 64):
    the queue takes each row's key with its own label, and each image's record is the
    embedding of one of its rows."""
    model = build()
    co = model.co_calibration
    co.init_table(8)
    model.init_step_records(2, 8)
    co.set_prototypes(torch.randn(3, 8))
    inputs, samples = semi_batch()
    samples['labeled']['sample_idx'] = torch.tensor([1, 0, 1, 0])
    samples['labeled']['gt_label'] = torch.tensor([2, 0, 2, 0])
    model.train()
    model.loss(inputs, samples)
    assert model.queue.queue_labels[:4].tolist() == [2, 0, 2, 0]
    assert (model.queue.queue_labels[4:12] == -1).all()
    with torch.no_grad():
        x = torch.cat([inputs['labeled'], inputs['weak'], inputs['strong']])
        z_lab = F.normalize(model.neck(model.extract_feat(x)[:4]), dim=1)
    rec = co.step_records.labeled_embed.float()
    for image, rows in ((1, [0, 2]), (0, [1, 3])):
        assert any(torch.allclose(rec[image], z_lab[r], atol=1e-2) for r in rows), image
    assert not torch.allclose(z_lab[0], z_lab[2], atol=1e-2)  # two views: distinguishable
