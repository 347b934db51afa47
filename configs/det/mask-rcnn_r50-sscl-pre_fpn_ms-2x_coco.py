# COCO transfer with the multi-scale 2x schedule of mmdet's self-supervised benchmarks,
# initialised from a converted SsCL ResNet-50 (see the 1x config for the settings).
_base_ = 'mmdet::selfsup_pretrain/mask-rcnn_r50-mocov2-pre_fpn_ms-2x_coco.py'

model = dict(
    backbone=dict(
        frozen_stages=0,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        init_cfg=dict(
            # override: --cfg-options model.backbone.init_cfg.checkpoint=PATH
            type='Pretrained', checkpoint='work_dirs/sscl_r50_mmdet.pth')),
    neck=dict(norm_cfg=dict(type='SyncBN', requires_grad=True)))
