import math

import pytest
import torch

from sscl.evaluation.metrics import (IntraClassSimilarity, PseudoLabelDiagnostics,
                                     intra_class_similarity, pseudo_label_diagnostics)


def test_intra_class_similarity_by_hand():
    s = math.sqrt(0.5)
    feats = torch.tensor([
        [1.0, 0.0], [0.0, 2.0], [s, s],  # class 0: cosines 0, 0.7071, 0.7071 -> mean 0.4714
        [3.0, 0.0], [-1.0, 0.0],  # class 1: cosine -1
        [5.0, 5.0],  # class 2: one sample, no pair -> not counted
    ])
    labels = torch.tensor([0, 0, 0, 1, 1, 2])
    expected = ((0 + s + s) / 3 + (-1)) / 2
    assert intra_class_similarity(feats, labels) == pytest.approx(expected, abs=1e-12)


def test_intra_class_similarity_matches_brute_force():
    g = torch.Generator().manual_seed(0)
    feats, labels = torch.randn(40, 7, generator=g), torch.randint(0, 5, (40, ), generator=g)
    normed = torch.nn.functional.normalize(feats.double(), dim=1)
    per_class = []
    for c in labels.unique():
        f = normed[labels == c]
        sim = f @ f.t()
        n = len(f)
        per_class.append((sim.sum() - sim.diagonal().sum()) / (n * (n - 1)))
    assert intra_class_similarity(feats, labels) == pytest.approx(
        torch.stack(per_class).mean().item(), abs=1e-12)


def test_intra_class_metric_reads_the_named_feature():
    metric = IntraClassSimilarity(feature_key='embed')
    metric.process(None, [
        dict(embed=torch.tensor([1.0, 0.0]), gt_label=torch.tensor(0)),
        dict(embed=torch.tensor([1.0, 1.0]), gt_label=torch.tensor(0)),
    ])
    # all ordered pairs, self-pairs included: (1 + 1 + 2 cos 45°) / 4
    assert metric.evaluate(2) == {
        'intra_class/similarity': pytest.approx(math.sqrt(0.5)),
        'intra_class/mean_cosine': pytest.approx((2 + 2 * math.sqrt(0.5)) / 4)
    }
    with pytest.raises(KeyError, match='no "embed"'):
        metric.process(None, [dict(feat=torch.ones(2), gt_label=0)])


def test_pseudo_label_diagnostics_by_hand():
    gt = torch.tensor([0, 1, 2, 3, 4])
    cls_pred = torch.tensor([0, 1, 2, 0, 0])  # correct: {0, 1, 2}
    proto_pred = torch.tensor([0, 0, 2, 3, 0])  # correct: {0, 2, 3}
    out = pseudo_label_diagnostics(cls_pred, proto_pred, gt)
    assert out == pytest.approx(dict(pl_acc=60.0, proto_acc=60.0, overlap=50.0))

    metric = PseudoLabelDiagnostics()
    metric.process(None, [
        dict(pred_label=torch.tensor(c), proto_label=torch.tensor(p), gt_label=torch.tensor(g))
        for c, p, g in zip(cls_pred, proto_pred, gt)
    ])
    assert metric.evaluate(5) == pytest.approx({
        'pseudo_label/pl_acc': 60.0, 'pseudo_label/proto_acc': 60.0, 'pseudo_label/overlap': 50.0})
