"""Training-time extensions of mmengine: hooks, the resumable training loop and schedulers."""
from . import hooks, runner, schedulers  # noqa: F401
