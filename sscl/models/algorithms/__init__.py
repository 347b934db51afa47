from .co_calibration import CoCalibration, MixturePairs, PrototypeMixture, StepRecords
from .labeled_queue import LabeledQueue
from .sscl import SsCL

__all__ = [
    'CoCalibration', 'LabeledQueue', 'MixturePairs', 'PrototypeMixture', 'SsCL', 'StepRecords'
]
