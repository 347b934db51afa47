"""A labeled and an unlabeled dataset read through one index space."""
from typing import Union

from mmengine.dataset import BaseDataset
from torch.utils.data import Dataset

from sscl.registry import DATASETS


@DATASETS.register_module()
class SemiDataset(Dataset):
    """Indices ``[0, len(labeled))`` read the labeled set, the rest the unlabeled set.

    ``SemiSupervisedSampler`` composes batches of B labeled then μB unlabeled indices.

    Args:
        labeled: labeled dataset (config or object), e.g. with ``num_per_class`` set.
        unlabeled: unlabeled dataset (config or object), usually the full training set with a
            two-view pipeline; its ``sample_idx`` indexes the model's pseudo-label table.
    """

    def __init__(self, labeled: Union[dict, BaseDataset], unlabeled: Union[dict, BaseDataset]):
        self.labeled = DATASETS.build(labeled) if isinstance(labeled, dict) else labeled
        self.unlabeled = DATASETS.build(unlabeled) if isinstance(unlabeled, dict) else unlabeled

    @property
    def metainfo(self) -> dict:
        return self.labeled.metainfo

    def __len__(self) -> int:
        return len(self.labeled) + len(self.unlabeled)

    def __getitem__(self, idx: int) -> dict:
        n = len(self.labeled)
        return self.labeled[idx] if idx < n else self.unlabeled[idx - n]
