from .image_classifier import ImageClassifier
from .labeled_queue import LabeledQueue
from .sscl import SsCL

__all__ = ['ImageClassifier', 'LabeledQueue', 'SsCL']
