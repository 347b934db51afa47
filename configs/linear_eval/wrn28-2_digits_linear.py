# CPU demo of linear evaluation: the frozen WRN-28-2 of the digits SsCL run (README demo)
# under a new linear classifier trained on every digits training label. The MoCo v2
# protocol shortened to 20 epochs: lr 30 x 64/256, x0.1 at 60 % and 80 %.
_base_ = [
    '../_base_/models/wrn28-2.py',
    '../_base_/datasets/digits.py',
    '../_base_/schedules/linear_sgd_100e.py',
    '../_base_/default_runtime.py',
]

max_epochs = 20
model = dict(
    frozen_backbone=True,
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint='work_dirs/sscl_digits/epoch_20.pth',
            prefix='backbone.', weights='query')))  # the trained query encoder
optim_wrapper = dict(optimizer=dict(lr=7.5))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[12, 16], gamma=0.1)]
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=20, max_keep_ckpts=1))
