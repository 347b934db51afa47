"""mmengine's DefaultSampler with keyed augmentation seeds and a mid-epoch start."""
from typing import Iterator

from mmengine.dataset import DefaultSampler

from sscl.registry import DATA_SAMPLERS
from ..keyed_random import KeyedIndex, keyed_items


@DATA_SAMPLERS.register_module()
class KeyedSampler(DefaultSampler):
    """:class:`mmengine.dataset.DefaultSampler` (the same order) whose items are
    :class:`KeyedIndex`: the index and the seed of that sample's augmentations, hashed from
    (seed, rank, epoch, position). A run then draws the same augmentations whatever its
    number of workers and wherever it was resumed; :meth:`set_start` skips the samples
    already trained without loading them (``ResumableEpochBasedTrainLoop``).

    Args: those of ``DefaultSampler`` (``dataset``, ``shuffle``, ``seed``, ``round_up``).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.start = 0

    def __iter__(self) -> Iterator[KeyedIndex]:
        start, self.start = self.start, 0
        return keyed_items(list(super().__iter__()), self.seed, self.rank, self.epoch, start)

    def set_start(self, num_items: int) -> None:
        """Start the next pass at item ``num_items`` of the epoch (mid-epoch resume); later
        passes start at 0 again. ``len`` stays the length of the whole epoch."""
        self.start = num_items
