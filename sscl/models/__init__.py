"""Models: backbones, necks, heads, losses, data preprocessors, classifiers, algorithms and
wrappers."""
from . import (algorithms, backbones, classifiers, data_preprocessors, heads,  # noqa: F401
               losses, necks, utils, wrappers)
