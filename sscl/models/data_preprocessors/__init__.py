from .data_preprocessor import SsclDataPreprocessor

__all__ = ['SsclDataPreprocessor']
