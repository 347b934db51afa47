"""Training-time extensions of mmengine: hooks and the resumable training loop."""
from . import hooks, runner  # noqa: F401
