"""What hooks read of the Runner that mmengine keeps only in private attributes.

mmengine 0.10 offers no public accessor for these: ``Runner.train_loop`` builds the loop
when read, and ``Runner.cfg`` is empty for a Runner built without a config. They are read
here, in one place, so that an mmengine change breaks one file.
"""
from typing import Optional

from mmengine.runner import BaseLoop


def is_training(runner) -> bool:
    """Whether the runner is training: ``Runner.train()`` builds its loop before
    ``before_run``; ``test()``/``val()`` leave it a config or None (mmengine's LoggerHook
    tells the modes apart by the same attribute)."""
    return isinstance(runner._train_loop, BaseLoop)


def is_resuming(runner) -> bool:
    """Whether the run resumes (``resume=True`` / ``--resume``)."""
    return bool(runner._resume)


def load_from(runner) -> Optional[str]:
    """The checkpoint file named by ``load_from`` (or ``--resume PATH``), if any."""
    return runner._load_from
