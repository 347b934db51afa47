# ImageNet SsCL schedule (Table 8): SGD lr 0.4 (momentum 0.9, wd 1e-4) with cosine decay for
# 800 epochs at 32 GPUs x (8 + 32) images. auto_scale_lr scales lr linearly for other totals.
max_epochs = 800
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.4, momentum=0.9, weight_decay=1e-4, foreach=True))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]
# Resumes mid-epoch checkpoints exactly (mmengine's loop restarts the epoch's data).
train_cfg = dict(
    type='ResumableEpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
val_cfg = dict(type='ValLoop')
# EMA weights for evaluation.
# mmengine's EMA in a few foreach operators, without host syncs (same averages).
ema_hook = dict(type='EMAHook', ema_type='FusedExponentialMovingAverage', momentum=0.001,
                priority='ABOVE_NORMAL')
custom_hooks = [ema_hook]
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(base_batch_size=32 * 40, enable=True)
