# COCO transfer (paper Table 3): Mask R-CNN R50-FPN 1x in mmdet, initialised from an SsCL
# ResNet-50 converted by tools/convert_to_det.py. MoCo/SsCL transfer settings: SyncBN in the
# backbone and the FPN, BN statistics trained (norm_eval=False), no frozen stage.
# Runs in mmdet's scope; COCO under data/coco/. Paper: 40.0 AP_bb.
_base_ = 'mmdet::selfsup_pretrain/mask-rcnn_r50-mocov2-pre_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        frozen_stages=0,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        init_cfg=dict(
            # override: --cfg-options model.backbone.init_cfg.checkpoint=PATH
            type='Pretrained', checkpoint='work_dirs/sscl_r50_mmdet.pth')),
    neck=dict(norm_cfg=dict(type='SyncBN', requires_grad=True)))
