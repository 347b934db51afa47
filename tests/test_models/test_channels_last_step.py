"""channels_last (the GPU recipes' default) is the same training step as the NCHW one."""
import pytest
import torch

from sscl.registry import MODELS
from sscl.utils import register_all_modules

register_all_modules()

# float32 on the CPU: NHWC convolutions sum in another order (oneDNN), so values agree to
# rounding, not bit for bit. Measured here: losses within 1.5e-6, gradients within 4e-5
# absolute (largest gradient entries ~1e-1); a layout bug moves both by orders more.
LOSS_TOL = dict(rtol=1e-5, atol=1e-5)
GRAD_TOL = dict(rtol=1e-3, atol=1e-4)


def build(channels_last: bool, algorithm: str):
    pre = dict(type='SsclDataPreprocessor', channels_last=channels_last)
    backbone = dict(type='ResNet', depth=18)
    head = dict(type='LinearClsHead', num_classes=4, in_channels=512)
    if algorithm == 'ImageClassifier':
        return MODELS.build(dict(type='ImageClassifier', backbone=backbone, head=head,
                                 data_preprocessor=pre))
    return MODELS.build(dict(
        type='SsCL', backbone=backbone, head=head,
        neck=dict(type='MoCoV2Neck', in_channels=512, hid_channels=64, out_channels=16),
        num_classes=4, feat_dim=16, queue_len=32, momentum=0.99, num_positives=2,
        loss_pl=dict(type='PseudoLabelCrossEntropyLoss', threshold=0.0, loss_weight=1.0),
        loss_ctr=dict(type='MultiPosMarginContrastiveLoss', gamma=10.0, margin=-0.25),
        calibration=dict(mode='sample', temperature=0.1, window=4), data_preprocessor=pre))


def batch(algorithm: str) -> dict:
    """uint8 images as the dataloader collates them: 4 labeled + 8 unlabeled of 32 px."""
    g = torch.Generator().manual_seed(0)
    img = lambda n: torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)  # noqa
    label = lambda n: dict(gt_label=torch.arange(n) % 4, sample_idx=torch.arange(n))  # noqa
    if algorithm == 'ImageClassifier':
        return dict(inputs=img(12), data_samples=label(12))
    return dict(inputs=dict(labeled=img(4), weak=img(8), strong=img(8)),
                data_samples=dict(labeled=label(4), unlabeled=label(8)))


@pytest.mark.parametrize('algorithm', ['SsCL', 'ImageClassifier'])
def test_channels_last_step_gives_the_nchw_losses_and_gradients(algorithm):
    torch.manual_seed(0)
    models = [build(False, algorithm), build(True, algorithm)]
    models[1].load_state_dict(models[0].state_dict())
    assert models[1].backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    if algorithm == 'SsCL':
        for m in models:
            m.co_calibration.init_table(8)
            m.co_calibration.set_prototypes(torch.eye(4, 16))
    losses = []
    for m in models:
        m.train()
        torch.manual_seed(1)  # the same shuffle-BN and queue draws
        data = m.data_preprocessor(batch(algorithm), True)
        loss = m(**data, mode='loss')
        m.parse_losses(loss)[0].backward()
        losses.append(loss)
    assert set(losses[0]) == set(losses[1])
    for key in losses[0]:
        torch.testing.assert_close(losses[1][key], losses[0][key], **LOSS_TOL, msg=key)
    grads = [dict(m.named_parameters()) for m in models]
    with_grad = [n for n, p in grads[0].items() if p.grad is not None]
    assert len(with_grad) >= 62  # ResNet-18's 62 tensors, then neck and head
    for name in with_grad:
        torch.testing.assert_close(grads[1][name].grad, grads[0][name].grad, **GRAD_TOL,
                                   msg=name)
    for (name, a), b in zip(models[0].named_buffers(), models[1].buffers()):
        torch.testing.assert_close(b, a, **LOSS_TOL, msg=name)  # BN statistics, queue
