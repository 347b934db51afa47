"""What the SsCL step hands its losses: positives, negatives, α_p and the loss value, from a
hand-built queue, prototypes and pseudo-label table, with permuted ``sample_idx``."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from sscl.registry import MODELS
from sscl.utils import register_all_modules

register_all_modules()

B, MU, C, D, K, P = 2, 2, 3, 8, 16, 2
# Queue labels (−1: unlabeled key); the pointer is 6, so slot 5 is the newest, then 4, ...,
# 0, 15, 14, ... The P = 2 newest keys of each class, newest first:
QUEUE_LABELS = [0, 1, -1, 2, 0, -1, 1, 0, 2, -1, -1, 0, 1, 2, -1, -1]
QUEUE_PTR = 6
NEWEST = {0: [4, 0], 1: [1, 12], 2: [3, 13]}
# Unlabeled batch rows carry dataset indices 5, 2, 7, 0 (not arange); the table by index:
UNLABELED_IDX = [5, 2, 7, 0]
TABLE = [1, 0, 2, 0, 1, 0, 2, 1]  # table[5]=0, table[2]=2, table[7]=1, table[0]=1
LABELED_GT = [2, 0]
# The labeled keys of each class, by queue slot (what SsCL's negatives leave out):
CLASS_SLOTS = {0: [0, 4, 7, 11], 1: [1, 6, 12], 2: [3, 8, 13]}


class Recorder(nn.Module):
    """Calls the wrapped loss and keeps its arguments."""

    def __init__(self, loss: nn.Module):
        super().__init__()
        self.loss, self.calls = loss, []

    def forward(self, *args):
        self.calls.append([a.detach().clone() for a in args])
        return self.loss(*args)


def build(**kwargs) -> nn.Module:
    torch.manual_seed(0)
    cfg = dict(
        type='SsCL',
        backbone=dict(type='WideResNet', depth=10, widen_factor=1, bn_momentum=0.1),
        neck=dict(type='MoCoV2Neck', in_channels=64, hid_channels=32, out_channels=D),
        head=dict(type='LinearClsHead', num_classes=C, in_channels=64),
        num_classes=C,
        feat_dim=D,
        queue_len=K,
        momentum=0.9,
        num_positives=P,
        loss_pl=dict(type='PseudoLabelCrossEntropyLoss', threshold=0.0, loss_weight=1.0),
        loss_ctr=dict(type='MultiPosMarginContrastiveLoss', gamma=5.0, margin=-0.25),
        calibration=dict(mode=None),
        data_preprocessor=dict(type='SsclDataPreprocessor', mean=(0, 0, 0), std=(1, 1, 1)))
    cfg.update(kwargs)
    model = MODELS.build(cfg)
    model.init_weights()
    g = torch.Generator().manual_seed(1)
    if model.loss_ctr is not None:
        model.queue.queue.copy_(F.normalize(torch.randn(K, D, generator=g), dim=1))
        model.queue.queue_labels.copy_(torch.tensor(QUEUE_LABELS))
        model.queue.queue_ptr.fill_(QUEUE_PTR)
        model.co_calibration.set_prototypes(torch.randn(C, D, generator=g))
        model.co_calibration.set_pseudo_labels(torch.tensor(TABLE))
        model.loss_ctr = Recorder(model.loss_ctr)
    model.train()
    return model


def batch(unlabeled_gt=(0, 1, 2, 0)):
    g = torch.Generator().manual_seed(2)
    img = lambda n: torch.randn(n, 3, 16, 16, generator=g)  # noqa: E731
    inputs = dict(labeled=img(B), weak=img(B * MU), strong=img(B * MU))
    samples = dict(
        labeled=dict(gt_label=torch.tensor(LABELED_GT), sample_idx=torch.tensor([1, 0])),
        unlabeled=dict(
            gt_label=torch.tensor(unlabeled_gt), sample_idx=torch.tensor(UNLABELED_IDX)))
    return inputs, samples


def queries(model, inputs):
    """The step's queries q (B + μB, D): the same forward, weights and batch statistics."""
    with torch.no_grad():
        x = torch.cat([inputs['labeled'], inputs['weak'], inputs['strong']])
        z = F.normalize(model.neck(model.extract_feat(x)), dim=1)
    return torch.cat([z[:B], z[B + B * MU:]])


def spread_prototypes(model, inputs):
    """Prototypes near the queries, so that α_p = clamp(cos, 0, 1) differs per class."""
    q = queries(model, inputs)
    g = torch.Generator().manual_seed(3)
    model.co_calibration.set_prototypes(q.mean(dim=0) + 0.15 * torch.randn(C, D, generator=g))


def step(model, inputs, samples):
    """One loss call; returns the losses, the queries q and the keys k it used."""
    keys = []
    encode = model._encode_keys
    model._encode_keys = lambda x: keys.append(encode(x)) or keys[-1]
    queue_before = model.queue.queue.clone()
    losses = model.loss(inputs, samples)
    return losses, queries(model, inputs), keys[0], queue_before


def test_the_step_hands_the_loss_the_exact_positives_negatives_and_weights():
    model = build()
    inputs, samples = batch()
    spread_prototypes(model, inputs)
    losses, q, k, queue = step(model, inputs, samples)
    pos_sim, pos_weight, pos_mask, neg_sim, neg_mask = model.loss_ctr.calls[0]
    labels = torch.tensor(QUEUE_LABELS)
    # query classes: ground truth for labeled rows, table[sample_idx] for unlabeled rows
    classes = LABELED_GT + [TABLE[i] for i in UNLABELED_IDX]
    assert classes == [2, 0, 0, 2, 1, 1]
    for i, c in enumerate(classes):
        own = (q[i] * k[i]).sum()
        expected = torch.stack([own] + [q[i] @ queue[j] for j in NEWEST[c]])
        torch.testing.assert_close(pos_sim[i], expected, atol=1e-5, rtol=1e-5)
        assert pos_mask[i].all()
        protos = model.co_calibration.prototypes
        alpha = (q[i] @ protos[c]).clamp(0, 1)  # the prototype of the query's class
        assert 0 < alpha < 1
        others = [(q[i] @ protos[o]).clamp(0, 1) for o in range(C) if o != c]
        assert all(abs(alpha - a) > 1e-3 for a in others), 'α must tell the classes apart'
        torch.testing.assert_close(pos_weight[i], torch.stack([torch.tensor(1.0), alpha, alpha]),
                                   atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(neg_sim[i], q[i] @ queue.t(), atol=1e-5, rtol=1e-5)
        # same-class labeled keys are not negatives; unlabeled keys (−1) always are
        assert neg_mask[i].tolist() == (labels != c).tolist()
        assert neg_mask[i][labels == -1].all()


def literal_circle(pos, alpha, neg, gamma=5.0, m=-0.25):
    sn = sum(math.exp(gamma * (s + m)) for s in neg)
    sp = sum(math.exp(-gamma * a * s) for s, a in zip(pos, alpha))
    return math.log(1 + sn * sp)


def test_the_contrastive_loss_equals_the_literal_formula_on_the_handed_values():
    model = build()
    losses, q, k, queue = step(model, *batch())
    pos_sim, pos_weight, pos_mask, neg_sim, neg_mask = model.loss_ctr.calls[0]
    per_query = [
        literal_circle(pos_sim[i].tolist(), pos_weight[i].tolist(),
                       neg_sim[i][neg_mask[i]].tolist()) for i in range(len(q))
    ]
    assert losses['loss_ctr'].item() == pytest.approx(sum(per_query) / len(per_query), rel=1e-5)


def test_confident_positives_come_from_the_steps_pseudo_labels():
    model = build(unlabeled_positives='confident', positive_threshold=0.4)
    inputs, samples = batch()
    losses, q, k, queue = step(model, inputs, samples)
    pos_sim, pos_weight, pos_mask, neg_sim, neg_mask = model.loss_ctr.calls[0]
    with torch.no_grad():
        x = torch.cat([inputs['labeled'], inputs['weak'], inputs['strong']])
        probs = model.head(model.extract_feat(x))[B:B + B * MU].softmax(dim=1)
    confidence, label = probs.max(dim=1)
    labels = torch.tensor(QUEUE_LABELS)
    for row in range(B * MU):
        i = B + row
        if confidence[row] >= 0.4:
            c = int(label[row])
            assert pos_mask[i].all()
            expected = torch.stack([q[i] @ queue[j] for j in NEWEST[c]])
            torch.testing.assert_close(pos_sim[i, 1:], expected, atol=1e-5, rtol=1e-5)
            assert neg_mask[i].tolist() == (labels != c).tolist()
        else:  # only the own key; every queue entry is a negative
            assert pos_mask[i].tolist() == [True, False, False]
            assert neg_mask[i].all()
    assert ((confidence >= 0.4).any() and (confidence < 0.4).any()), 'both cases exercised'


def test_unlabeled_ground_truth_changes_no_loss():
    first = build()
    a, _, _, _ = step(first, *batch(unlabeled_gt=(0, 1, 2, 0)))
    second = build()
    b, _, _, _ = step(second, *batch(unlabeled_gt=(2, 2, -1, 1)))
    for name in ('loss_sup', 'loss_pl', 'loss_ctr'):
        assert torch.equal(a[name], b[name]), name
    assert not torch.equal(a['pl_acc'], b['pl_acc'])  # the diagnostic does read it


@pytest.mark.parametrize('joint', [True, False])
def test_weak_view_batch_statistics(joint):
    """Joint forward: the weak view shares the batch's BN statistics (one running-stat update
    per step); otherwise it is a pass of its own (two updates)."""
    model = build(joint_forward=joint, loss_ctr=None, neck=None, calibration=dict(mode=None))
    pl = Recorder(model.loss_pl)
    model.loss_pl = pl
    inputs, samples = batch()
    bn = model.backbone.bn
    before = bn.num_batches_tracked.clone()
    model.loss(inputs, samples)
    assert int(bn.num_batches_tracked - before) == (1 if joint else 2)
    with torch.no_grad():
        clone = build(joint_forward=joint, loss_ctr=None, neck=None, calibration=dict(mode=None))
        if joint:
            x = torch.cat([inputs['labeled'], inputs['weak'], inputs['strong']])
            expected = clone.head(clone.extract_feat(x))[B:B + B * MU].softmax(dim=1)
        else:
            expected = clone.head(clone.extract_feat(inputs['weak'])).softmax(dim=1)
    torch.testing.assert_close(pl.calls[0][1], expected)


def test_no_positives_is_the_moco_loss():
    """num_positives=0: the own key the only positive and every queue key a negative, the
    labeled keys of the query's class included (MoCo; the paper's Table 7 "0")."""
    model = build(num_positives=0)
    losses, q, k, queue = step(model, *batch())
    pos_sim, pos_weight, pos_mask, neg_sim, neg_mask = model.loss_ctr.calls[0]
    torch.testing.assert_close(pos_sim, (q * k).sum(dim=1, keepdim=True), atol=1e-5, rtol=1e-5)
    assert pos_mask.tolist() == [[True]] * 6 and pos_weight.tolist() == [[1.0]] * 6
    assert neg_mask.tolist() == [[True] * K] * 6
    torch.testing.assert_close(neg_sim, q @ queue.t(), atol=1e-5, rtol=1e-5)


def test_no_positives_without_class_negatives_is_a_named_option():
    """num_positives=0, negatives='other_classes': the own key the only positive, and the
    labeled keys of the query's class (ground truth, or table entry) not negatives."""
    model = build(num_positives=0, negatives='other_classes')
    step(model, *batch())
    pos_sim, pos_weight, pos_mask, neg_sim, neg_mask = model.loss_ctr.calls[0]
    assert pos_mask.tolist() == [[True]] * 6
    classes = [2, 0, 0, 2, 1, 1]  # LABELED_GT, then TABLE at UNLABELED_IDX
    for i, c in enumerate(classes):
        assert [j for j in range(K) if not neg_mask[i, j]] == CLASS_SLOTS[c]


def test_moco_negatives_need_no_positives():
    with pytest.raises(ValueError, match="negatives='all'.*num_positives=0"):
        build(negatives='all')
    with pytest.raises(ValueError, match='negatives must be one of'):
        build(negatives='same')
