# The ResNet-50 of an SsCL checkpoint under a new linear classifier, for linear evaluation
# (frozen_backbone=True) and fine-tuning. Set the checkpoint with
# --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../epoch_800.pth
# weights='query': the trained query encoder, not the EMA average the recipe also saves
# (docs/method.md, "Ambiguities and the choices made"; the converter's default too).
model = dict(
    type='ImageClassifier',
    frozen_backbone=False,
    backbone=dict(
        type='ResNet',
        depth=50,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/sscl/r50_imagenet_10pct/epoch_800.pth',
            prefix='backbone.',
            weights='query')),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        init_cfg=dict(type='Normal', layer='Linear', std=0.01)))
