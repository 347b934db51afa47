import torch

from sscl.registry import MODELS
from sscl.utils import register_all_modules

register_all_modules()


def _tiny_classifier(**kwargs):
    return MODELS.build(
        dict(
            type='ImageClassifier',
            **kwargs,
            backbone=dict(type='WideResNet', depth=10, widen_factor=1, bn_momentum=0.1),
            head=dict(type='LinearClsHead', num_classes=2, in_channels=64),
            data_preprocessor=dict(type='SsclDataPreprocessor', mean=(128, ) * 3, std=(64, ) * 3)))


def _batch():
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (8, 3, 16, 16), generator=g, dtype=torch.uint8)
    return imgs, dict(gt_label=torch.tensor([0, 1] * 4), sample_idx=torch.arange(8))


def test_loss_decreases_over_sgd_steps():
    torch.manual_seed(0)
    model = _tiny_classifier()
    imgs, samples = _batch()
    optim = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(10):
        data = model.data_preprocessor(dict(inputs=imgs, data_samples=samples), True)
        loss = model(**data, mode='loss')['loss']
        losses.append(loss.item())
        optim.zero_grad()
        loss.backward()
        optim.step()
    assert losses[-1] < 0.5 * losses[0]


def test_semi_supervised_batch_trains_on_the_labeled_part_only():
    torch.manual_seed(0)
    model = _tiny_classifier().eval()
    imgs, samples = _batch()
    noise = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    semi = dict(
        inputs=dict(labeled=imgs, weak=noise, strong=noise),
        data_samples=dict(
            labeled=samples,
            unlabeled=dict(gt_label=torch.full((4, ), -1), sample_idx=torch.arange(4))))
    plain = model(**model.data_preprocessor(dict(inputs=imgs, data_samples=samples)), mode='loss')
    from_semi = model(**model.data_preprocessor(semi, True), mode='loss')
    assert torch.allclose(from_semi['loss'], plain['loss'])


def test_predict_and_tensor_outputs():
    model = _tiny_classifier().eval()
    imgs, samples = _batch()
    data = model.data_preprocessor(dict(inputs=imgs, data_samples=samples))
    assert model.extract_feat(data['inputs']).shape == (8, 64)
    logits = model(data['inputs'], mode='tensor')
    assert logits.shape == (8, 2)
    out = model(**data, mode='predict')
    assert len(out) == 8
    first = out[3]
    assert set(first) == {'pred_score', 'pred_label', 'feat', 'gt_label', 'sample_idx'}
    assert first['pred_score'].shape == (2, )
    assert torch.allclose(first['feat'], model.extract_feat(data['inputs'])[3])
    assert torch.allclose(first['pred_score'], logits[3].softmax(0))
    assert first['pred_label'] == logits[3].argmax()
    assert first['gt_label'] == 1 and first['sample_idx'] == 3
    # the runner's val_step runs the preprocessor, then predict
    assert len(model.val_step(dict(inputs=imgs, data_samples=samples))) == 8


def test_frozen_backbone_keeps_weights_and_bn_statistics():
    """Linear evaluation: one SGD step moves the head only; BN running stats stay put."""
    model = _tiny_classifier(frozen_backbone=True)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.SGD(model.parameters(), lr=10.0, momentum=0.9, weight_decay=1e-4)
    imgs, samples = _batch()
    loss = model(**model.data_preprocessor(dict(inputs=imgs, data_samples=samples), True),
                 mode='loss')['loss']
    loss.backward()
    optimizer.step()
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {'head.fc.weight', 'head.fc.bias'}
    assert all(not m.training for m in model.backbone.modules())
    assert all(p.grad is None for p in model.backbone.parameters())
