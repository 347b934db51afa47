"""Read local checkpoints without executing pickled code, unless the user opts in.

mmengine reads local files with a bare ``torch.load``, whose safety depends on the torch
version. Inside :func:`sscl_checkpoint_loading` (around the runs of sscl's tools: every
``load_from``, ``--resume`` and ``init_cfg=dict(type='Pretrained')``), mmengine's loader for
local paths is sscl's, which always passes ``weights_only=True`` and names the file in a
one-line error; only :func:`allow_pickle` (``--allow-pickle``) turns that off. Outside the
block, and so for other packages in the same process, loading stays as mmengine made it.
"""
import os.path as osp
import pickle
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Sequence

import torch
from mmengine.runner.checkpoint import CheckpointLoader

from .errors import CheckpointError

_ALLOW_PICKLE = False


def allow_pickle(enabled: bool = True) -> None:
    """Let checkpoints run arbitrary pickled code when loaded: only for trusted files."""
    global _ALLOW_PICKLE
    _ALLOW_PICKLE = enabled


def safe_torch_load(filename: str, map_location=None) -> dict:
    """``torch.load`` of a local file, tensors and plain Python only.

    Raises:
        CheckpointError: the file is missing, truncated, or holds other pickled objects.
    """
    if not osp.isfile(filename):
        raise CheckpointError(f'checkpoint not found: {filename}')
    try:
        return torch.load(filename, map_location=map_location, weights_only=not _ALLOW_PICKLE)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()
        detail = next((line for line in first if 'Unsupported global' in line), first[0])
        raise CheckpointError(
            f'{filename}: refusing to unpickle objects other than tensors and plain Python '
            f'({detail.strip()}); pass --allow-pickle only if you trust this file') from e
    except (RuntimeError, EOFError, ValueError) as e:
        raise CheckpointError(f'{filename}: not a readable checkpoint (truncated or '
                              f'corrupt?): {str(e).splitlines()[0]}') from e


WRAPPER_PREFIXES = ('module.', )


def strip_wrapper_prefix(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Drop a model-wrapper prefix (``module.``) common to every key."""
    for prefix in WRAPPER_PREFIXES:
        if state_dict and all(k.startswith(prefix) for k in state_dict):
            return {k[len(prefix):]: v for k, v in state_dict.items()}
    return state_dict


def key_listing(keys: Sequence[str], limit: int = 3) -> str:
    """The first ``limit`` keys and how many more, for a one-line message."""
    more = f' (+{len(keys) - limit} more)' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


def trained_weights(checkpoint: dict) -> Optional[dict]:
    """The optimised weights of a checkpoint saved with mmengine's ``EMAHook``, or None.

    ``EMAHook`` swaps the two when saving: ``state_dict`` holds the average and
    ``ema_state_dict`` the trained weights under ``module.`` (plus its ``steps``). Without an
    ``ema_state_dict`` (None returned), ``state_dict`` holds the trained weights.
    """
    ema = checkpoint.get('ema_state_dict')
    if ema is None:
        return None
    return {k[len('module.'):]: v for k, v in ema.items() if k.startswith('module.')}


def load_from_local(filename: str, map_location=None) -> dict:
    """A loader for mmengine's local paths (``~`` expanded), reading safely."""
    return safe_torch_load(osp.expanduser(filename), map_location)


@contextmanager
def sscl_checkpoint_loading(pickle_allowed: bool = False) -> Iterator[None]:
    """Within the block, mmengine's ``CheckpointLoader`` reads local paths with
    :func:`load_from_local` (``pickle_allowed``: :func:`allow_pickle`); on leaving it, the
    loader and the pickle setting in place before are restored."""
    previous_loader = CheckpointLoader._schemes['']
    previous_pickle = _ALLOW_PICKLE
    CheckpointLoader.register_scheme('', load_from_local, force=True)
    allow_pickle(pickle_allowed)
    try:
        yield
    finally:
        CheckpointLoader.register_scheme('', previous_loader, force=True)
        allow_pickle(previous_pickle)
