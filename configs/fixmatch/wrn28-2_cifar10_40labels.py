# FixMatch baseline, CIFAR-10 with 40 labels: SsCL's recipe without the contrastive branch
# and without co-calibration, trained with FixMatch's own protocol, the one behind the
# FixMatch figures SsCL quotes: 2^20 iterations of 64 labeled + 7 x 64 unlabeled images,
# lr_0 cos(7 pi k / 16 K) with lr_0 = 0.03 (docs/method.md, "The CIFAR-10 protocol").
_base_ = '../sscl/wrn28-2_cifar10_40labels.py'

model = dict(neck=None, loss_ctr=None, calibration=dict(mode=None))

max_iters = 2**20
mu = 7
unlabeled_batch_size = 64 * mu  # B = 64 as in the SsCL recipe
train_dataloader = dict(
    batch_size=64 + unlabeled_batch_size, sampler=dict(unlabeled_batch_size=unlabeled_batch_size))
param_scheduler = [
    dict(type='FixMatchCosineLR', phase=7 / 16, by_epoch=False, begin=0, end=max_iters),
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=2**14)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=2**14))
log_processor = dict(by_epoch=False)
# mmengine replaces lists on inheritance: restated without the refresh (and its guard).
custom_hooks = [{{_base_.ema_hook}}]
