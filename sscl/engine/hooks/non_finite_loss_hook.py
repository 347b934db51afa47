"""Stop training at the first NaN or infinite loss, before it reaches a checkpoint."""
import math
from typing import Optional

from mmengine.hooks import Hook

from sscl.registry import HOOKS
from sscl.utils.errors import NonFiniteLossError


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` when a logged loss is NaN or infinite.

    Every iteration it reads the values ``RuntimeInfoHook`` has already copied to the message
    hub (no extra device synchronisation). It runs before ``CheckpointHook`` and ``EMAHook``,
    so corrupted weights are never saved and the last good checkpoint stays the latest.
    """

    priority = 'HIGH'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        for name, value in runner.message_hub.log_scalars.items():
            if not name.startswith('train/loss'):
                continue
            current = value.current()
            if not math.isfinite(current):
                last = runner.message_hub.get_info('last_ckpt')
                keep = f'the last good checkpoint is {last}' if last else 'no checkpoint was saved'
                raise NonFiniteLossError(
                    f'{name[len("train/"):]} became {current} at iteration {runner.iter + 1} '
                    f'(epoch {runner.epoch + 1}); training stopped, {keep}')
