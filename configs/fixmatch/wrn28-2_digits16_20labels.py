# FixMatch baseline on the digits demo: SsCL without the contrastive branch and without
# co-calibration (lambda_ctr = 0), same data, schedule and EMA as the SsCL demo.
_base_ = [
    '../_base_/models/sscl_wrn28-2.py',
    '../_base_/datasets/digits16_semi.py',
    '../_base_/schedules/digits16_20e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(bn_momentum=0.1),
    neck=None,
    loss_ctr=None,
    calibration=dict(mode=None))
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=10, max_keep_ckpts=1))
