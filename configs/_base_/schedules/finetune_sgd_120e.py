# Fine-tuning (Appendix B): every weight trains, the classifier with lr 1 and the backbone
# with lr 1e-3 (lr_mult), SGD momentum 0.9, batch 256, 120 epochs, lr x0.1 at epochs
# 50, 70 and 90. The paper gives no weight decay: none here.
max_epochs = 120
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1.0, momentum=0.9, weight_decay=0.0),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=1e-3)}))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[50, 70, 90], gamma=0.1),
]
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(base_batch_size=256, enable=False)
