"""Co-calibration's state and rules: prototypes, window and table (:class:`CoCalibration`),
the steps' per-sample records (:class:`StepRecords`) and the prototype mixture."""
from .co_calibration import CoCalibration
from .mixture import MixturePairs, PrototypeMixture
from .step_records import StepRecords

__all__ = ['CoCalibration', 'MixturePairs', 'PrototypeMixture', 'StepRecords']
