# MoCo v2 linear classification protocol: SGD lr 30, momentum 0.9, no weight decay, batch
# 256, 100 epochs, lr x0.1 at epochs 60 and 80.
max_epochs = 100
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=30.0, momentum=0.9, weight_decay=0.0))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[60, 80], gamma=0.1),
]
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(base_batch_size=256, enable=False)
