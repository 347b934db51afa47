"""The labeled and the unlabeled training sets read through one index space."""
from typing import Union

from mmengine.dataset import BaseDataset, ConcatDataset

from sscl.registry import DATASETS
from sscl.utils.errors import DataError
from .keyed_random import SeededGetItemMixin


@DATASETS.register_module()
class SemiDataset(SeededGetItemMixin, ConcatDataset):
    """``ConcatDataset([labeled, unlabeled])``: indices ``[0, len(labeled))`` read the labeled
    set, the following ones the unlabeled set.

    ``SemiSupervisedSampler`` composes batches of B labeled then μB unlabeled indices. Both
    sets must have the same class list. A :class:`KeyedIndex` item is read with the global
    random generators seeded by its seed (and restored afterwards).

    Args:
        labeled: labeled dataset (config or object), e.g. with ``num_per_class`` or
            ``labeled_list`` set and a single-view pipeline.
        unlabeled: unlabeled dataset (config or object), usually the whole training set with
            a two-view pipeline; its ``sample_idx`` indexes the model's pseudo-label table.
        lazy_init: defer loading the annotations to ``full_init``.
    """

    def __init__(self,
                 labeled: Union[dict, BaseDataset],
                 unlabeled: Union[dict, BaseDataset],
                 lazy_init: bool = False):
        datasets = [DATASETS.build(d) if isinstance(d, dict) else d for d in (labeled, unlabeled)]
        lab_classes, unl_classes = (d.metainfo.get('classes') for d in datasets)
        if None not in (lab_classes, unl_classes) and lab_classes != unl_classes:
            raise DataError(f'the labeled and unlabeled sets have different classes: '
                            f'{_head(lab_classes)} vs {_head(unl_classes)}')
        super().__init__(datasets, lazy_init=lazy_init)

    @property
    def labeled(self) -> BaseDataset:
        return self.datasets[0]

    @property
    def unlabeled(self) -> BaseDataset:
        return self.datasets[1]


def _head(classes: tuple) -> str:
    """The first class names, for an error message."""
    return f'{len(classes)} classes {list(classes[:5])}{" ..." if len(classes) > 5 else ""}'
