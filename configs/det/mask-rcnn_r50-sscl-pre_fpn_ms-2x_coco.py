# COCO transfer with the multi-scale 2x schedule of mmdet's self-supervised benchmarks
# (shorter side 640-800), initialised from a converted SsCL ResNet-50; the settings and the
# commands are those of mask-rcnn_r50-sscl-pre_fpn_1x_coco.py.
_base_ = 'mmdet::selfsup_pretrain/mask-rcnn_r50-mocov2-pre_fpn_ms-2x_coco.py'

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        frozen_stages=-1,  # nothing frozen (mmdet's 0 freezes the stem)
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
