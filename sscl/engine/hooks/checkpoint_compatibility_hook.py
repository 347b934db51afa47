"""Refuse a checkpoint of another architecture before any weight is copied."""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import find_latest_checkpoint

from sscl.registry import HOOKS
from sscl.utils.checkpoint_loading import key_listing, strip_wrapper_prefix
from sscl.utils.errors import CheckpointError
from ..utils import is_resuming, load_from


@HOOKS.register_module()
class CheckpointCompatibilityHook(Hook):
    """Check a loaded checkpoint against the model before mmengine copies its weights.

    mmengine loads ``load_from``/``--resume`` checkpoints non-strictly and only logs what did
    not fit, so a checkpoint of another architecture would start a run from half-loaded
    weights. This hook raises :class:`CheckpointError` naming the file instead:

    * always: when a shared key has another shape, or no key matches at all;
    * ``load_from``: also when a key of the model's backbone is missing (it would stay
      random); other differences are counted in a log line;
    * when resuming: also when the model lacks a key of the checkpoint or vice versa.

    Buffers a model lists in ``resizable_buffers`` (e.g. SsCL's pseudo-label table, sized by
    the unlabeled set) may change shape.
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        source = self._source(runner)
        if not isinstance(checkpoint, dict) or not isinstance(
                checkpoint.get('state_dict', checkpoint), dict):
            raise CheckpointError(f'{source}: not a checkpoint (no state_dict)')
        saved = strip_wrapper_prefix(checkpoint.get('state_dict', checkpoint))
        expected = model.state_dict()
        resizable = tuple(getattr(model, 'resizable_buffers', ()))
        shared = [k for k in expected if k in saved]
        if not shared:
            raise CheckpointError(
                f'{source}: none of its {len(saved)} weights belongs to {type(model).__name__} '
                f'(checkpoint keys start {key_listing(sorted(saved))}); is it another model?')
        wrong = [
            f'{k} {tuple(saved[k].shape)} vs {tuple(expected[k].shape)}' for k in shared
            if isinstance(saved[k], torch.Tensor) and saved[k].shape != expected[k].shape
            and not k.endswith(resizable)
        ]
        if wrong:
            raise CheckpointError(f'{source}: {len(wrong)} weight(s) have another shape than in '
                                  f'{type(model).__name__}: {key_listing(wrong)}')
        missing = [k for k in expected if k not in saved]
        unexpected = [k for k in saved if k not in expected]
        if not is_resuming(runner):
            backbone = [k for k in expected if k.startswith('backbone.')]
            lost = [k for k in missing if k.startswith('backbone.')]
            if lost:
                raise CheckpointError(
                    f'{source}: matched {len(backbone) - len(lost)} of the {len(backbone)} '
                    f'backbone keys of {type(model).__name__} (missing {key_listing(lost)}); '
                    'the rest would stay random: is it another architecture?')
            runner.logger.info(
                f'{source}: loading {len(shared)} of the {len(expected)} keys of '
                f'{type(model).__name__}; missing {len(missing)}, unexpected {len(unexpected)}')
        else:
            if missing or unexpected:
                raise CheckpointError(
                    f'{source}: cannot resume {type(model).__name__} from it: '
                    f'{self._moved(missing, unexpected)}missing '
                    f'{key_listing(missing) or "nothing"}; unexpected '
                    f'{key_listing(unexpected) or "nothing"}')

    @staticmethod
    def _moved(missing, unexpected) -> str:
        """A hint when the checkpoint's extra keys are the model's missing ones under a
        submodule (state that moved into a component, e.g. ``co_calibration.``)."""
        prefixes = {m[:-len(u)] for u in unexpected for m in missing if m.endswith('.' + u)}
        if not prefixes or len(prefixes) > 1:
            return ''
        (prefix, ) = prefixes
        return (f'it was written by an older version, whose keys now live under '
                f'{prefix!r} (train it again, or resume with that version); ')

    @staticmethod
    def _source(runner) -> str:
        """The file being loaded, for the message."""
        if load_from(runner):
            return str(load_from(runner))
        return find_latest_checkpoint(runner.work_dir) or 'the checkpoint'
