# COCO transfer with the multi-scale 2x schedule of mmdet's self-supervised benchmarks
# (shorter side 640-800), initialised from a converted SsCL ResNet-50; the settings and the
# commands are those of mask-rcnn_r50-sscl-pre_fpn_1x_coco.py.
_base_ = [
    'mmdet::selfsup_pretrain/mask-rcnn_r50-mocov2-pre_fpn_ms-2x_coco.py',
    '../_base_/det/sscl_transfer.py',
]

model = dict(backbone={{_base_.sscl_backbone}}, neck=dict(norm_cfg={{_base_.sync_bn}}))
default_hooks = {{_base_.sscl_checkpoint_hooks}}
