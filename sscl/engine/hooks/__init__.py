from .atomic_checkpoint_hook import AtomicCheckpointHook
from .batched_runtime_info_hook import BatchedRuntimeInfoHook
from .checkpoint_compatibility_hook import CheckpointCompatibilityHook
from .co_calibration_hook import CoCalibrationHook
from .compile_hook import CompileHook, compile_encoders
from .collapse_guard_hook import CollapseGuardHook
from .non_finite_loss_hook import NonFiniteLossHook
from .sync_bn_statistics_hook import SyncBNStatisticsHook
from .weights_only_checkpoint_hook import WeightsOnlyCheckpointHook

__all__ = [
    'AtomicCheckpointHook', 'BatchedRuntimeInfoHook', 'CheckpointCompatibilityHook',
    'CoCalibrationHook', 'CollapseGuardHook', 'CompileHook', 'NonFiniteLossHook',
    'SyncBNStatisticsHook', 'WeightsOnlyCheckpointHook', 'compile_encoders'
]
