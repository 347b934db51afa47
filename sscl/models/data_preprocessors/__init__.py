from .batch_strong_augment import BatchStrongAugment
from .data_preprocessor import SsclDataPreprocessor

__all__ = ['BatchStrongAugment', 'SsclDataPreprocessor']
