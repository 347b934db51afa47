"""Stop a run whose contrastive embedding has collapsed, keeping the last good checkpoint."""
import os
import os.path as osp
from typing import Optional, Tuple, Union

from mmengine.dist import is_main_process
from mmengine.fileio import exists
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from sscl.registry import HOOKS
from sscl.utils.errors import CollapseError, ConfigError
from .atomic_checkpoint_hook import write_text_atomically

KEY = 'train/key_mean_cos'  # SsCL's step: mean pairwise cosine of the queued keys
REFRESH = 'train/refresh_embed_mean_cos'  # CoCalibrationHook: of the labeled embeddings
MODES = ('stop', 'warn')


def _count(buffer: Union[HistoryBuffer, dict, None]) -> int:
    """Number of values logged into ``buffer`` (0 for none); a dict is the plain form
    that ``WeightsOnlyCheckpointHook`` saves and rebuilds after this hook has read it."""
    if buffer is None:
        return 0
    return len(buffer['log_history'] if isinstance(buffer, dict) else buffer.data[0])


@HOOKS.register_module()
class CollapseGuardHook(Hook):
    """Stop training when the contrastive embedding has collapsed to one point.

    Both figures are ``|mean_i z_i|^2`` of unit embeddings: 1 for a collapsed embedding,
    near 0 for a spread one (``sscl.functional.mean_pairwise_cosine``). The hook reads them
    from the message hub, where ``RuntimeInfoHook`` copies the step's ``key_mean_cos``
    every iteration and ``CoCalibrationHook`` writes ``refresh_embed_mean_cos`` at each
    refresh. After ``warmup`` epochs (or iterations with ``by_epoch=False``) it trips when

    * ``key_mean_cos >= key_threshold`` for ``window`` consecutive iterations, or
    * ``refresh_embed_mean_cos >= refresh_threshold`` at one refresh.

    The first refresh runs before iteration 0; it is judged only with ``warmup=0``.
    ``mode='stop'`` raises :class:`CollapseError` with one line naming the figure, its value
    and the iteration; priority NORMAL puts it after the refresh (HIGH) and before
    ``CheckpointHook`` (VERY_LOW), so nothing of the tripping iteration or epoch is saved,
    and a checkpoint written while ``key_mean_cos`` was already over its threshold (inside
    the window) no longer is ``last_checkpoint``: that points again at the last one written
    before, or is removed when ``max_keep_ckpts`` has deleted it. ``mode='warn'`` logs the
    same line as a warning and trains on.

    Every rank reads the same figures (the queue and the refresh's embeddings are gathered
    over ranks), so every rank stops at the same iteration.

    Args:
        key_threshold: threshold of ``key_mean_cos``; None: not watched.
        window: consecutive iterations ``key_mean_cos`` must stay at or over it.
        refresh_threshold: threshold of ``refresh_embed_mean_cos``; None: not watched.
        warmup: epochs (iterations with ``by_epoch=False``) not judged.
        by_epoch: count ``warmup`` in epochs.
        mode: ``'stop'`` or ``'warn'``.
    """

    priority = 'NORMAL'

    def __init__(self,
                 key_threshold: Optional[float] = 0.99,
                 window: int = 50,
                 refresh_threshold: Optional[float] = 0.99,
                 warmup: int = 1,
                 by_epoch: bool = True,
                 mode: str = 'stop'):
        for name, value in (('key_threshold', key_threshold),
                            ('refresh_threshold', refresh_threshold)):
            if value is not None and not 0 < value <= 1:
                raise ConfigError(f'CollapseGuardHook: {name} must be in (0, 1] or None, '
                                  f'got {value!r}')
        if key_threshold is None and refresh_threshold is None:
            raise ConfigError('CollapseGuardHook: key_threshold and refresh_threshold are '
                              'both None, nothing to guard')
        if not (isinstance(window, int) and window >= 1):
            raise ConfigError(f'CollapseGuardHook: window must be an int >= 1, got {window!r}')
        if not (isinstance(warmup, int) and warmup >= 0):
            raise ConfigError(f'CollapseGuardHook: warmup must be an int >= 0, got {warmup!r}')
        if mode not in MODES:
            raise ConfigError(f'CollapseGuardHook: mode must be one of {MODES}, got {mode!r}')
        self.key_threshold, self.window = key_threshold, window
        self.refresh_threshold = refresh_threshold
        self.warmup, self.by_epoch, self.mode = warmup, by_epoch, mode
        self._streak = 0  # consecutive judged iterations at or over key_threshold
        self._good_ckpt: Optional[str] = None  # last checkpoint written before the streak
        # The refresh buffer and how many of its values were already judged (a resumed
        # message hub brings the previous run's refreshes); None: the first buffer found.
        self._seen: Tuple[Optional[HistoryBuffer], int] = (None, 0)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """A resume puts this buffer into the message hub: its values are not new."""
        buffer = checkpoint.get('message_hub', {}).get('log_scalars', {}).get(REFRESH)
        self._seen = (None, _count(buffer))

    def before_train(self, runner) -> None:
        if self.refresh_threshold is not None and not any(
                type(h).__name__ == 'CoCalibrationHook' for h in runner.hooks):
            raise ConfigError('CollapseGuardHook: refresh_threshold needs a '
                              'CoCalibrationHook in custom_hooks; set it to None')
        self._check_refresh(runner, runner.epoch, runner.iter)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if self._streak == 0:  # the last iteration was good, and so is its checkpoint
            self._good_ckpt = runner.message_hub.get_info('last_ckpt')
        done = runner.iter + 1
        self._check_refresh(runner, runner.epoch, done)  # refreshes by iteration
        if self.key_threshold is None:
            return
        buffer = runner.message_hub.log_scalars.get(KEY)
        if buffer is None:  # known after the first step, warm-up or not
            raise ConfigError('CollapseGuardHook: the model logs no key_mean_cos (no '
                              'contrastive branch); set key_threshold=None')
        if not self._judged(runner.epoch, done):
            return
        value = float(buffer.current())
        self._streak = self._streak + 1 if value >= self.key_threshold else 0
        if self._streak >= self.window:
            self._trip(runner, f'key_mean_cos stayed >= {self.key_threshold} for '
                       f'{self.window} iterations, {value:.4f} at iteration {done}')
            self._streak = 0  # mode='warn': a new window starts

    def after_train_epoch(self, runner) -> None:
        self._check_refresh(runner, runner.epoch + 1, runner.iter)  # refreshes by epoch

    def _judged(self, epochs_done: int, iters_done: int) -> bool:
        return (epochs_done if self.by_epoch else iters_done) >= self.warmup

    def _check_refresh(self, runner, epochs_done: int, iters_done: int) -> None:
        """Judge a refresh logged since the last call."""
        buffer = runner.message_hub.log_scalars.get(REFRESH)
        seen = self._seen[1] if self._seen[0] in (None, buffer) else 0
        self._seen = (buffer, _count(buffer))
        if (self._seen[1] <= seen or self.refresh_threshold is None
                or not self._judged(epochs_done, iters_done)):
            return
        value = float(buffer.current())
        if value >= self.refresh_threshold:
            self._trip(runner, f'refresh_embed_mean_cos reached {value:.4f} (>= '
                       f'{self.refresh_threshold}) at the refresh after iteration {iters_done}')

    def _trip(self, runner, what: str) -> None:
        line = f'CollapseGuardHook: the embedding collapsed: {what} (epoch {runner.epoch + 1})'
        if self.mode == 'warn':
            runner.logger.warning(f'{line}; training goes on (mode="warn")')
            return
        raise CollapseError(f'{line}; training stopped, {self._keep_last_good(runner)}')

    def _keep_last_good(self, runner) -> str:
        """Point ``last_checkpoint`` back at the last checkpoint written before the streak;
        returns what the error says about it."""
        last = runner.message_hub.get_info('last_ckpt')
        good = self._good_ckpt if self._streak else last
        if last == good:
            return f'the last good checkpoint is {good}' if good else 'no checkpoint was saved'
        kept = good is not None and exists(good)
        runner.message_hub.update_info('last_ckpt', good if kept else None)
        if is_main_process():
            pointer = osp.join(runner.work_dir, 'last_checkpoint')
            if kept:
                write_text_atomically(good, pointer)
            elif osp.isfile(pointer):
                os.remove(pointer)
        if kept:
            return f'the last good checkpoint is {good} ({last} was written during the collapse)'
        return (f'no checkpoint from before the collapse is kept ({last} was written during '
                'it; last_checkpoint removed)')
