# WideResNet-28-2 classifier (FixMatch's CIFAR architecture), 10 classes.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='WideResNet', depth=28, widen_factor=2, drop_rate=0.0),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
