# MoCo v2-style baseline on the digits demo: supervised CE on the labels plus the
# contrastive loss with only the own key as positive (P = 0), no pseudo labels.
_base_ = [
    '../_base_/models/sscl_wrn28-2.py',
    '../_base_/datasets/digits_40labels.py',
    '../_base_/schedules/digits_40labels_30e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(bn_momentum=0.1),
    queue_len=1024,
    momentum=0.99,
    num_positives=0,
    loss_pl=None,
    calibration=dict(mode=None))
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=10, max_keep_ckpts=1))
