# COCO transfer (paper Table 3): Mask R-CNN R50-FPN 1x in mmdet, initialised from an SsCL
# ResNet-50 converted by tools/convert_to_det.py. MoCo/SsCL transfer settings: SyncBN in the
# backbone and the FPN, BN statistics trained (norm_eval=False), every layer fine-tuned.
# Runs in mmdet's scope (default_scope='mmdet' from mmdet's runtime); COCO under data/coco/.
#   tools/dist_train.sh configs/det/mask-rcnn_r50-sscl-pre_fpn_1x_coco.py 8 \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/sscl_r50_mmdet.pth
# Paper: 40.0 AP_bb (MoCo v2 39.2, supervised 38.9).
_base_ = 'mmdet::selfsup_pretrain/mask-rcnn_r50-mocov2-pre_fpn_1x_coco.py'

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        # MoCo's detectron2 FREEZE_AT=0 (nothing frozen) is mmdet's frozen_stages=-1;
        # mmdet's 0 would still freeze the stem conv1/bn1.
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        # sscl's Pretrained: every backbone key must load, or the run stops naming the file.
        init_cfg=dict(type='sscl.Pretrained', checkpoint='work_dirs/sscl_r50_mmdet.pth')),
    neck=dict(norm_cfg=norm_cfg))

# Checkpoints that torch.load(weights_only=True) reads, so tools/test.py and --resume work
# (mmengine 0.10.7 pickles numpy objects), written crash-safely; the "sscl." prefix finds
# the hooks from mmdet's scope.
default_hooks = dict(
    checkpoint=dict(type='sscl.AtomicCheckpointHook'),
    weights_only_checkpoint=dict(type='sscl.WeightsOnlyCheckpointHook'))
