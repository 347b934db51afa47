"""Models: backbones, necks, heads, losses, data preprocessors, algorithms and wrappers."""
from . import (algorithms, backbones, data_preprocessors, heads, losses, necks, utils,  # noqa: F401
               wrappers)
