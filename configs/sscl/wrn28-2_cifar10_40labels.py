# SsCL, CIFAR-10 with 40 labels (4 per class), WRN-28-2 (paper Table 8).
# The 250- and 4000-label recipes inherit this file.
# split_seed picks the fold (the paper reports the mean over 5 folds: 0-4).
_base_ = [
    '../_base_/models/sscl_wrn28-2.py',
    '../_base_/datasets/cifar10_semi.py',
    '../_base_/schedules/cifar10_sgd_cosine_200e.py',
    '../_base_/default_runtime.py',
]

split_seed = 0
train_dataloader = dict(
    dataset=dict(labeled=dict(num_per_class=4, split_seed=split_seed)))

default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=3))
custom_hooks = [
    {{_base_.ema_hook}}, {{_base_.co_calibration_hook}}, {{_base_.collapse_guard_hook}}
]
