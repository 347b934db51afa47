"""Models: backbones, necks, heads, losses, data preprocessors, classifiers, algorithms and
wrappers."""
from . import (algorithms, backbones, classifiers, data_preprocessors, heads, losses,  # noqa: F401
               necks, utils, wrappers)
