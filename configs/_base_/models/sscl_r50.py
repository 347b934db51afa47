# SsCL on ResNet-50 with the paper's ImageNet numbers (Table 8): embedding 128, K = 65536,
# gamma = 10, m = -0.25, tau = 0.6, P = 3, key momentum 0.999. Leaf configs set the
# loss weights of their label fraction.
model = dict(
    type='SsCL',
    backbone=dict(type='ResNet', depth=50),
    neck=dict(type='MoCoV2Neck', in_channels=2048, hid_channels=2048, out_channels=128),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    num_classes=1000,
    feat_dim=128,
    queue_len=65536,
    momentum=0.999,
    num_positives=3,
    self_paced=True,
    loss_pl=dict(type='PseudoLabelCrossEntropyLoss', threshold=0.6, loss_weight=10.0),
    # The loss setting of every SsCL recipe (docs/method.md, "Ambiguities and the choices
    # made"): eq. 5's first two lines and class positives only for confident unlabeled
    # queries; r50_imagenet_10pct_literal.py keeps the paper's literal reading.
    loss_ctr=dict(type='MultiPosMarginContrastiveLoss', gamma=10.0, margin=-0.25,
                  loss_weight=5.0, form='infonce'),
    unlabeled_positives='confident',
    calibration=dict(mode='sample', temperature=0.1, window=128),
    shuffle_bn=True)
