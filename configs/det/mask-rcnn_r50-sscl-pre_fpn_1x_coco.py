# COCO transfer (paper Table 3): Mask R-CNN R50-FPN 1x in mmdet, initialised from an SsCL
# ResNet-50 converted by tools/convert_to_det.py, with the transfer settings of
# ../_base_/det/sscl_transfer.py.
# Runs in mmdet's scope (default_scope='mmdet' from mmdet's runtime); COCO under data/coco/.
#   tools/dist_train.sh configs/det/mask-rcnn_r50-sscl-pre_fpn_1x_coco.py 8 \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/sscl_r50_mmdet.pth
# Paper: 40.0 AP_bb (MoCo v2 39.2, supervised 38.9).
_base_ = [
    'mmdet::selfsup_pretrain/mask-rcnn_r50-mocov2-pre_fpn_1x_coco.py',
    '../_base_/det/sscl_transfer.py',
]

model = dict(backbone={{_base_.sscl_backbone}}, neck=dict(norm_cfg={{_base_.sync_bn}}))
default_hooks = {{_base_.sscl_checkpoint_hooks}}
