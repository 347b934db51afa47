"""Make the checkpoints mmengine writes loadable with ``torch.load(weights_only=True)``."""
from typing import Any

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from sscl.registry import HOOKS

_BUFFER_TAG = '__history_buffer__'


def to_plain(obj: Any) -> Any:
    """Recursively replace numpy arrays/scalars and ``HistoryBuffer`` with tensors,
    Python scalars, lists and dicts, which ``weights_only`` unpickling accepts."""
    if isinstance(obj, HistoryBuffer):
        logs, counts = obj.data
        return {_BUFFER_TAG: True, 'log_history': torch.from_numpy(np.asarray(logs)),
                'count_history': torch.from_numpy(np.asarray(counts)),
                'max_length': obj.max_length}
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_plain(v) for v in obj)
    return obj


def from_plain(obj: Any) -> Any:
    """Inverse of :func:`to_plain` for the message hub: rebuild ``HistoryBuffer``s."""
    if isinstance(obj, dict) and obj.get(_BUFFER_TAG, False):
        return HistoryBuffer(obj['log_history'].numpy().tolist(),
                             obj['count_history'].numpy().tolist(), obj['max_length'])
    if isinstance(obj, dict):
        return {k: from_plain(v) for k, v in obj.items()}
    return obj


@HOOKS.register_module()
class WeightsOnlyCheckpointHook(Hook):
    """Store mmengine's message hub and metadata as plain tensors and lists.

    mmengine 0.10.7 pickles ``HistoryBuffer`` objects and numpy arrays into every checkpoint,
    which ``torch.load`` refuses under ``weights_only=True`` (the default since torch 2.6), so
    ``--resume`` fails. Instead of allow-listing unsafe globals, this hook writes only tensors
    and plain Python before saving, and rebuilds the buffers after loading (mmengine calls
    ``after_load_checkpoint`` before it restores the message hub).
    """

    priority = 'VERY_LOW'  # after every hook that adds to the checkpoint

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        for key in ('message_hub', 'meta'):
            if key in checkpoint:
                checkpoint[key] = to_plain(checkpoint[key])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = from_plain(checkpoint['message_hub'])
