"""``init_cfg=dict(type='Pretrained')`` that refuses a checkpoint that does not fit."""
from typing import Dict, Optional

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model.weight_init import PretrainedInit, update_init_info
from mmengine.runner.checkpoint import CheckpointLoader, load_state_dict

from sscl.registry import WEIGHT_INITIALIZERS
from sscl.utils.checkpoint_loading import key_listing, strip_wrapper_prefix, trained_weights
from sscl.utils.errors import CheckpointError, ConfigError

WEIGHTS = ('query', 'ema')


def _state_dict(checkpoint, weights: str) -> Dict[str, torch.Tensor]:
    """The ``weights`` of a checkpoint, without a wrapper prefix common to every key:
    ``'query'`` the trained model (``ema_state_dict`` of an EMAHook checkpoint, else
    ``state_dict`` or a bare state dict), ``'ema'`` EMAHook's average (``state_dict``)."""
    if not isinstance(checkpoint, dict):
        raise CheckpointError('not a checkpoint (no state_dict)')
    if weights == 'ema' and 'ema_state_dict' not in checkpoint:
        raise CheckpointError("weights='ema': the checkpoint has no ema_state_dict (it was "
                              "not trained with EMAHook); use weights='query'")
    state = trained_weights(checkpoint) if weights == 'query' else None
    if state is None:
        state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, dict):
        raise CheckpointError('not a checkpoint (no state_dict)')
    return strip_wrapper_prefix(state)


@WEIGHT_INITIALIZERS.register_module(name='Pretrained')
class CheckedPretrainedInit(PretrainedInit):
    """mmengine's ``Pretrained`` initialisation, made strict about what it loads.

    mmengine loads non-strictly: a checkpoint of another depth or width leaves the layers
    that did not match random, with a warning in the log, and a wrong ``prefix`` ends in an
    assertion. Here every key of the module must be in the checkpoint (after ``prefix``)
    with the same shape, or :class:`CheckpointError` names the file, the prefix and how many
    keys matched out of how many. Keys of the checkpoint that the module lacks are allowed
    (e.g. an SsCL checkpoint's key encoder under ``prefix=None``) and counted in the log
    line that a successful load writes.

    Which weights transfer is one choice, the same in the downstream configs and
    ``tools/convert_to_det.py``: ``weights='query'`` (default), the trained query encoder,
    as the paper (which keeps no average) and MoCo transfer; ``'ema'``, the average
    mmengine's ``EMAHook`` keeps, which it saves as ``state_dict`` (docs/method.md).

    Args:
        checkpoint: the file.
        prefix: the part of the checkpoint to load, e.g. ``'backbone.'``; None = all.
        map_location: where tensors are loaded.
        weights: ``'query'`` (trained) or ``'ema'`` (EMAHook's average).
    """

    def __init__(self, checkpoint: str, prefix: Optional[str] = None,
                 map_location: str = 'cpu', weights: str = 'query'):
        if weights not in WEIGHTS:
            raise ConfigError(f'Pretrained: weights must be one of {WEIGHTS}, got {weights!r}')
        super().__init__(checkpoint, prefix=prefix, map_location=map_location)
        self.weights = weights

    def __call__(self, module: nn.Module) -> None:
        where = f'{self.checkpoint} (prefix {self.prefix!r})'
        try:
            state = _state_dict(
                CheckpointLoader.load_checkpoint(self.checkpoint, map_location=self.map_location),
                self.weights)
        except CheckpointError as e:  # the safe loader's messages already name the file
            msg = str(e)
            raise CheckpointError(msg if self.checkpoint in msg else f'{where}: {msg}') from e
        if self.prefix:
            selected = {k[len(self.prefix):]: v for k, v in state.items()
                        if k.startswith(self.prefix)}
            if not selected:
                raise CheckpointError(
                    f'{where}: no key starts with the prefix; its {len(state)} keys start '
                    f'{key_listing(sorted(state))}')
            state = selected
        self._check(module, state, where)
        load_state_dict(module, state, strict=False, logger='current')
        unexpected = len([k for k in state if k not in module.state_dict()])
        print_log(
            f'Pretrained: {type(module).__name__} loaded all {len(module.state_dict())} keys '
            f'of the {self.weights} weights from {where}; missing 0, unexpected {unexpected}',
            logger='current')
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    @staticmethod
    def _check(module: nn.Module, state: Dict[str, torch.Tensor], where: str) -> None:
        """Every key of ``module`` in ``state`` with its shape, or CheckpointError."""
        expected = module.state_dict()
        missing = [k for k in expected if k not in state]
        wrong = [f'{k} {tuple(state[k].shape)} vs {tuple(v.shape)}' for k, v in expected.items()
                 if k in state and isinstance(state[k], torch.Tensor)
                 and state[k].shape != v.shape]
        if missing or wrong:
            matched = len(expected) - len(missing) - len(wrong)
            detail = []
            if missing:
                detail.append(f'missing {key_listing(missing)}')
            if wrong:
                detail.append(f'another shape: {key_listing(wrong)}')
            raise CheckpointError(
                f'{where}: matched {matched} of the {len(expected)} keys of '
                f'{type(module).__name__} ({"; ".join(detail)}); is it another architecture '
                'or prefix?')
