"""Average BatchNorm running statistics over ranks before validation and checkpoints."""
from typing import Optional

from mmengine.hooks import CheckpointHook, Hook
from mmengine.model import is_model_wrapper

from sscl.models.utils import sync_bn_statistics
from sscl.registry import HOOKS


@HOOKS.register_module()
class SyncBNStatisticsHook(Hook):
    """Average the model's BN ``running_mean``/``running_var`` over ranks
    (:func:`sscl.models.utils.sync_bn_statistics`) before each validation and each
    checkpoint.

    ``Runner.save_checkpoint`` runs on rank 0 only, so its ``before_save_checkpoint`` cannot
    communicate: the statistics are averaged in ``after_train_iter`` instead, after the last
    iteration of every epoch (epoch checkpoints, validation and refreshes by epoch follow it)
    and after every iteration that an iteration-based ``CheckpointHook`` saves. The priority
    (35) puts this after ``CoCalibrationHook`` and ``NonFiniteLossHook`` (HIGH, 30) and before
    ``EMAHook`` (ABOVE_NORMAL, 40), which copies the buffers into the saved average.
    ``before_val_epoch`` averages again for validation at any other point (cheap, and a no-op
    without a process group). A refresh averages the statistics itself before embedding.
    """

    priority = 35

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if self.end_of_epoch(runner.train_dataloader, batch_idx) or self._saves_now(runner):
            self._sync(runner)

    def before_val_epoch(self, runner) -> None:
        self._sync(runner)

    def _saves_now(self, runner) -> bool:
        """Whether an iteration-based ``CheckpointHook`` saves after this iteration (its own
        rule in ``CheckpointHook.after_train_iter``)."""
        return any(
            isinstance(h, CheckpointHook) and not h.by_epoch and (
                h.every_n_train_iters(runner, h.interval, h.save_begin) or (
                    h.save_last and h.is_last_train_iter(runner))) for h in runner.hooks)

    @staticmethod
    def _sync(runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        sync_bn_statistics(model)
