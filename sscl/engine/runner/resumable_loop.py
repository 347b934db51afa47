"""mmengine's epoch loop, resumable in the middle of an epoch."""
import itertools

from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop

from sscl.registry import LOOPS


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` that continues a resumed epoch where its checkpoint left it.

    mmengine restores the iteration count of a mid-epoch checkpoint (saved with
    ``CheckpointHook(by_epoch=False)``) but restarts that epoch's data from the beginning, so
    the resumed run sees other batches and trains longer than the uninterrupted one. This
    loop skips the batches already trained: through the sampler's ``set_start`` (items to
    skip) when it has one (``SemiSupervisedSampler``, ``KeyedSampler``: nothing is loaded),
    otherwise by reading and discarding them. Arguments are those of
    :class:`mmengine.runner.EpochBasedTrainLoop`.
    """

    def run_epoch(self) -> None:
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        done = self._iter - self._epoch * len(self.dataloader)
        batches = self.dataloader
        if done > 0:
            sampler = self.dataloader.sampler
            if hasattr(sampler, 'set_start'):
                sampler.set_start(done * self.dataloader.batch_size)
            else:
                batches = itertools.islice(self.dataloader, done, None)
            print_log(f'resuming epoch {self._epoch + 1} at batch {done + 1} of '
                      f'{len(self.dataloader)}', logger='current')
        for idx, data_batch in enumerate(batches, start=max(done, 0)):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
