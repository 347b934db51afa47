"""torch.compile for the model's encoders (backbone, neck, head, and the key encoder)."""
from typing import List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from sscl.registry import HOOKS

ENCODER_PARTS = ('backbone', 'neck', 'head')


@HOOKS.register_module()
class CompileHook(Hook):
    """Compile the model's encoders with ``torch.compile`` before training.

    mmengine's ``compile`` key compiles the whole ``train_step``, optimizer step included,
    which TorchDynamo (torch 2.14) fails to trace through mmengine's ``OptimWrapper``.
    Compiling SsCL's whole loss forward traces as one graph, but AOTAutograd then gives
    the contrastive branch another gradient than the eager step (the queue's enqueue after
    the loss reaches its backward; tests/test_models/test_compiled_step.py). This hook
    compiles what holds the FLOPs and most operators: the backbone, neck and head of the
    query encoder and the key encoder's backbone and neck (``nn.Module.compile``, each its
    own graph; AOTAutograd compiles their backward). Preprocessing, shuffle-BN, the queue,
    the calibration, the losses and the optimizer step stay eager. ``tools/train.py`` turns
    mmengine's ``compile`` key (``--cfg-options compile=True``) into this hook.

    With ``fullgraph=True`` (default) a graph break is an error, never a silent fall back to
    eager Python for part of an encoder.

    Args:
        backend: ``torch.compile`` backend.
        mode: ``torch.compile`` mode (``None``, ``'reduce-overhead'``, ``'max-autotune'``).
        fullgraph: fail on a graph break.
        dynamic: ``torch.compile``'s ``dynamic``.
    """

    priority = 'VERY_LOW'  # after every other before_train (the refresh embeds eagerly)

    def __init__(self,
                 backend: str = 'inductor',
                 mode: Optional[str] = None,
                 fullgraph: bool = True,
                 dynamic: Optional[bool] = None):
        self.options = dict(backend=backend, mode=mode, fullgraph=fullgraph, dynamic=dynamic)

    def before_train(self, runner) -> None:
        names = compile_encoders(runner.model, **self.options)
        runner.logger.info(f'CompileHook: compiled {", ".join(names)} ({self.options}); '
                           'the first iterations include the compilation')


def compile_encoders(model: torch.nn.Module, **options) -> List[str]:
    """``nn.Module.compile(**options)`` on the encoder parts of ``model`` (the wrapped
    module, for a DDP wrapper); returns their names."""
    module = model.module if is_model_wrapper(model) else model
    parts = {name: getattr(module, name, None) for name in ENCODER_PARTS}
    key_encoder = getattr(module, 'momentum_encoder', None)
    if key_encoder is not None:
        parts.update({f'momentum_encoder.{n}': m for n, m in key_encoder.items()})
    compiled = [name for name, part in parts.items() if part is not None]
    for name in compiled:
        parts[name].compile(**options)
    return compiled
