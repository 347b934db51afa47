# Linear evaluation on ImageNet (every training label): frozen SsCL ResNet-50, new classifier,
# MoCo v2 protocol (SGD lr 30, 100 epochs, batch 256, x0.1 at 60/80). The backbone comes from
# --cfg-options model.backbone.init_cfg.checkpoint=<SsCL checkpoint>.
_base_ = [
    '../_base_/models/r50_pretrained.py',
    '../_base_/datasets/imagenet_224.py',
    '../_base_/schedules/linear_sgd_100e.py',
    '../_base_/default_runtime.py',
]

model = dict(frozen_backbone=True, head=dict(num_classes=1000))
