from .co_calibration import CoCalibration
from .image_classifier import ImageClassifier
from .labeled_queue import LabeledQueue
from .sscl import SsCL
from .step_records import StepRecords

__all__ = ['CoCalibration', 'ImageClassifier', 'LabeledQueue', 'SsCL', 'StepRecords']
