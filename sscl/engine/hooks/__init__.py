from .co_calibration_hook import CoCalibrationHook
from .weights_only_checkpoint_hook import WeightsOnlyCheckpointHook

__all__ = ['CoCalibrationHook', 'WeightsOnlyCheckpointHook']
