"""Hooks that kill the training process like a pre-emption, for the resume tests.

Imported by the training subprocess through ``custom_imports`` (``tests/test_tools`` on
``PYTHONPATH``).
"""
import os
import signal

from mmengine.fileio import LocalBackend
from mmengine.hooks import Hook

from sscl.registry import HOOKS


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class KillAfterIterHook(Hook):
    """SIGKILL the process once iteration ``iteration`` (1-based) is finished and saved."""

    priority = 'LOWEST'  # after CheckpointHook

    def __init__(self, iteration: int):
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.iteration:
            _kill()


@HOOKS.register_module()
class KillWhileSavingHook(Hook):
    """SIGKILL the process halfway through writing checkpoint number ``save_index``."""

    def __init__(self, save_index: int):
        self.save_index = save_index
        self.saves = 0

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        self.saves += 1
        if self.saves != self.save_index:
            return

        def put_half(backend, obj: bytes, filepath) -> None:
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
                f.flush()
                os.fsync(f.fileno())
            _kill()

        LocalBackend.put = put_half


@HOOKS.register_module()
class PoisonWeightsHook(Hook):
    """Fill the model's weights with NaN before iteration ``iteration`` (1-based)."""

    def __init__(self, iteration: int):
        self.iteration = iteration

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if runner.iter + 1 == self.iteration:
            for param in runner.model.parameters():
                param.data.fill_(float('nan'))
