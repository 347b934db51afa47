# What sscl changes in mmdet's self-supervised Mask R-CNN benchmarks, for the configs in
# configs/det/ (variables, named there: a second base may not repeat mmdet's keys).
# MoCo/SsCL transfer settings: SyncBN in the backbone and the FPN, BN statistics trained
# (norm_eval=False), every layer fine-tuned.
sync_bn = dict(type='SyncBN', requires_grad=True)
sscl_backbone = dict(
    # MoCo's detectron2 FREEZE_AT=0 (nothing frozen) is mmdet's frozen_stages=-1;
    # mmdet's 0 would still freeze the stem conv1/bn1.
    frozen_stages=-1,
    norm_cfg=sync_bn,
    norm_eval=False,
    # sscl's Pretrained: every backbone key must load, or the run stops naming the file.
    # tools/convert_to_det.py wrote the trained query encoder (--weights query, its
    # default), which weights='query' reads from a bare state dict as it is.
    init_cfg=dict(
        type='sscl.Pretrained', checkpoint='work_dirs/sscl_r50_mmdet.pth', weights='query'))
# Checkpoints that torch.load(weights_only=True) reads, so tools/test.py and --resume work
# (mmengine 0.10.7 pickles numpy objects), written crash-safely; the "sscl." prefix finds
# the hooks from mmdet's scope.
sscl_checkpoint_hooks = dict(
    checkpoint=dict(type='sscl.AtomicCheckpointHook'),
    weights_only_checkpoint=dict(type='sscl.WeightsOnlyCheckpointHook'))
