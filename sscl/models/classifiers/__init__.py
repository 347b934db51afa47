from .base_classifier import BaseClassifier
from .image_classifier import ImageClassifier

__all__ = ['BaseClassifier', 'ImageClassifier']
