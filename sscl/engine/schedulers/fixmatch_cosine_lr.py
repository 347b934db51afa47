"""FixMatch's learning-rate decay, lr_k = lr_0 cos(7πk / 16K)."""
import math

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler

from sscl.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class FixMatchCosineLR(LRSchedulerMixin, _ParamScheduler):
    """lr_k = lr_0 · cos(phase · π · k / T) over the T = ``end − begin`` steps.

    FixMatch's schedule (phase 7/16): it ends at cos(7π/16) ≈ 0.195 of the base rate, where
    ``CosineAnnealingLR`` ends at 0. Use it alone (the form is closed, not chainable).

    Args:
        optimizer: the optimizer or optim wrapper.
        phase: the fraction of π reached at the end.
        begin, end: the steps (epochs with ``by_epoch``) the schedule spans.
        by_epoch: count in epochs; ``convert_to_iter_based=True`` in a config steps it
            every iteration instead.
    """

    def __init__(self, optimizer, phase: float = 7 / 16, begin: int = 0, end: int = INF,
                 last_step: int = -1, by_epoch: bool = True, verbose: bool = False):
        if end == INF:
            raise ValueError('FixMatchCosineLR needs a finite end')
        self.phase = phase
        super().__init__(optimizer, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    @classmethod
    def build_iter_from_epoch(cls, *args, begin: int = 0, end: int = INF,
                              by_epoch: bool = True, epoch_length: int = None, **kwargs):
        """The iteration-based schedule of an epoch-based config."""
        assert by_epoch and epoch_length, 'only an epoch-based schedule converts'
        end = end if end == INF else int(end * epoch_length)
        return cls(*args, begin=int(begin * epoch_length), end=end, by_epoch=False, **kwargs)

    def _get_value(self) -> list:
        factor = math.cos(self.phase * math.pi * self.last_step / (self.end - self.begin))
        return [base * factor for base in self.base_values]
