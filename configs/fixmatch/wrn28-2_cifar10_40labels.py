# FixMatch baseline, CIFAR-10 with 40 labels: SsCL's recipe without the contrastive branch
# and without co-calibration.
_base_ = '../sscl/wrn28-2_cifar10_40labels.py'

model = dict(neck=None, loss_ctr=None, calibration=dict(mode=None))
# mmengine replaces lists on inheritance: restated without the refresh.
custom_hooks = [{{_base_.ema_hook}}]
