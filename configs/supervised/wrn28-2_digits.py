# Supervised WRN-28-2 on every digits training label: the plumbing check of the project.
_base_ = [
    '../_base_/models/wrn28-2.py',
    '../_base_/datasets/digits.py',
    '../_base_/schedules/sgd_cosine.py',
    '../_base_/default_runtime.py',
]

max_epochs = 15
optim_wrapper = dict(optimizer=dict(lr=0.03, weight_decay=5e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=5, max_keep_ckpts=2, save_best='accuracy/top1', rule='greater'))
# 64 images per batch on one process: auto_scale_lr scales lr by total batch / 64.
auto_scale_lr = dict(base_batch_size=64, enable=False)
# FixMatch's BN momentum 0.001 suits ~1M iterations; this run has ~350.
model = dict(backbone=dict(bn_momentum=0.1))
