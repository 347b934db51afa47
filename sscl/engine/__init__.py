"""Training-time extensions of mmengine: hooks, the resumable training loop and schedulers."""
from . import hooks, runner, schedulers, utils  # noqa: F401
