"""sscl: Semi-supervised Contrastive Learning (SsCL) on mmengine."""
from .version import __version__

__all__ = ['__version__']
