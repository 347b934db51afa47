"""Training-time extensions of mmengine: hooks and optimizer helpers."""
from . import hooks  # noqa: F401
