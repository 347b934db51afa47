"""Hooks that kill the training process like a pre-emption, for the resume tests, and
test probes (poisoned weights, per-rank state dumps, a stalled pipeline).

Imported by the training subprocess through ``custom_imports`` (``tests/test_tools`` on
``PYTHONPATH``).
"""
import os
import signal
import time

import torch

from mmengine.fileio import LocalBackend
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmcv.transforms import BaseTransform

from sscl.registry import HOOKS, TRANSFORMS


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
    """Before iteration ``iteration`` (1-based), fill the model's weights with NaN
    (``value='nan'``), or make the loss infinite (``'inf'``): every class logit but class 0's
    is −inf, so the cross-entropy of every other label is +inf."""

    def __init__(self, iteration: int, value: str = 'nan'):
        self.iteration, self.value = iteration, value

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if runner.iter + 1 != self.iteration:
            return
        if self.value == 'nan':
            for param in runner.model.parameters():
                param.data.fill_(float('nan'))
        else:
            bias = runner.model.head.fc.bias.data
            bias.fill_(float('-inf'))
            bias[0] = 0.0


@HOOKS.register_module()
class DumpRankStateHook(Hook):
    """After training, every rank saves its model's state dict to
    ``work_dir/rank{r}_state.pth``, so a test can compare the ranks."""

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        torch.save(model.state_dict(), os.path.join(runner.work_dir, f'rank{get_rank()}_state.pth'))


@TRANSFORMS.register_module()
class SleepTransform(BaseTransform):
    """A pipeline step that sleeps ``seconds``: a stalled dataloader."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def transform(self, results: dict) -> dict:
        time.sleep(self.seconds)
        return results
