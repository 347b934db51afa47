"""CIFAR-10/100 readers for the official python pickles."""
import os.path as osp
import pickle
from typing import List, Sequence, Tuple

import numpy as np

from sscl.registry import DATASETS
from .base_dataset import BaseImageDataset


@DATASETS.register_module()
class CIFAR10(BaseImageDataset):
    """CIFAR-10 from ``data_root/cifar-10-batches-py`` (``data_batch_1..5``, ``test_batch``).

    Samples carry the image itself (``img``: RGB uint8 (32, 32, 3)).

    Args:
        data_root: folder holding ``cifar-10-batches-py``.
        test_mode: read the test batch instead of the training batches.
    """
    base_folder = 'cifar-10-batches-py'
    train_files: Sequence[str] = tuple(f'data_batch_{i}' for i in range(1, 6))
    test_files: Sequence[str] = ('test_batch', )
    meta_file, meta_key, label_key = 'batches.meta', b'label_names', b'labels'

    def _read(self, name: str) -> dict:
        path = osp.join(self.data_root, self.base_folder, name)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{self.__class__.__name__} file not found: {path}')
        with open(path, 'rb') as f:
            # The official CIFAR format is a pickle of plain dicts, bytes and lists.
            return pickle.load(f, encoding='bytes')

    def _load_arrays(self) -> Tuple[np.ndarray, List[int]]:
        images, labels = [], []
        for name in (self.test_files if self.test_mode else self.train_files):
            batch = self._read(name)
            images.append(np.asarray(batch[b'data'], dtype=np.uint8))
            labels.extend(int(x) for x in batch[self.label_key])
        data = np.concatenate(images).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return np.ascontiguousarray(data), labels

    def load_samples(self) -> List[dict]:
        if not self._metainfo.get('classes'):
            names = self._read(self.meta_file)[self.meta_key]
            self._metainfo['classes'] = tuple(n.decode() for n in names)
        data, labels = self._load_arrays()
        return [dict(img=img, gt_label=label) for img, label in zip(data, labels)]


@DATASETS.register_module()
class CIFAR100(CIFAR10):
    """CIFAR-100 from ``data_root/cifar-100-python`` (``train``, ``test``, ``meta``).

    Labels are the 100 fine labels.
    """
    base_folder = 'cifar-100-python'
    train_files = ('train', )
    test_files = ('test', )
    meta_file, meta_key, label_key = 'meta', b'fine_label_names', b'fine_labels'
