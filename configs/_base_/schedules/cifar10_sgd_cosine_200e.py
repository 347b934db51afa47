# CIFAR-10 schedule (Table 8): SGD lr 0.03 (momentum 0.9, Nesterov, wd 5e-4), cosine decay,
# 200 epochs of the unlabeled set at B = 64, mu = 4 on one GPU; EMA weights for evaluation.
_base_ = './sgd_cosine.py'

max_epochs = 200
optim_wrapper = dict(optimizer=dict(lr=0.03, weight_decay=5e-4, nesterov=True))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]
# Resumes mid-epoch checkpoints exactly (mmengine's loop restarts the epoch's data).
train_cfg = dict(
    type='ResumableEpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5)
# mmengine's EMA in a few foreach operators, without host syncs (same averages).
ema_hook = dict(type='EMAHook', ema_type='FusedExponentialMovingAverage', momentum=0.001,
                priority='ABOVE_NORMAL')
custom_hooks = [ema_hook]
auto_scale_lr = dict(base_batch_size=64 * 5, enable=False)
