# Runtime shared by every sscl recipe.
default_scope = 'sscl'

default_hooks = dict(
    # mmengine's RuntimeInfoHook, but the step's log values reach the host in one copy
    # (one host sync per iteration instead of one per value).
    runtime_info=dict(type='BatchedRuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Written to a temporary file and renamed: a kill while saving never breaks the latest.
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Checkpoints hold only tensors and plain Python, so they load with weights_only=True.
    weights_only_checkpoint=dict(type='WeightsOnlyCheckpointHook'),
    # A checkpoint of another architecture fails before any weight is copied.
    checkpoint_compatibility=dict(type='CheckpointCompatibilityHook'),
    # The first NaN/inf loss stops training before it can be saved.
    non_finite_loss=dict(type='NonFiniteLossHook'),
    # BN running statistics averaged over ranks before validation and checkpoints (DDP
    # runs with broadcast_buffers=False); a no-op in one process.
    sync_bn_statistics=dict(type='SyncBNStatisticsHook'),
)

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

# DDP that also runs with gloo on CPU-only machines (the Runner looks wrappers up in the
# root registry, hence the scope prefix).
model_wrapper_cfg = dict(
    type='sscl.SsclDistributedDataParallel', broadcast_buffers=False, find_unused_parameters=False)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(by_epoch=True, window_size=10)
log_level = 'INFO'

load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)

# The paper's representation diagnostics for models with an embedding (SsCL), which
# tools/test.py then reports: Table 4's intra-class similarity of the contrastive embedding,
# and Table 5's classifier vs nearest-prototype accuracies with the overlap of their correct
# sets. A variable, since a recipe's test_evaluator replaces its dataset's: SsCL recipes set
# test_evaluator = {{_base_.sscl_test_evaluator}}.
sscl_test_evaluator = [
    dict(type='Accuracy', topk=(1, 5)),
    dict(type='IntraClassSimilarity', feature_key='embed'),
    dict(type='PseudoLabelDiagnostics'),
]
