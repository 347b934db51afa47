"""CIFAR-10/100 readers for the official python pickles."""
import os.path as osp
import pickle
from typing import List, Sequence

import numpy as np

from sscl.registry import DATASETS
from sscl.utils.errors import DataError, DataFileNotFoundError
from .base_dataset import BaseImageDataset


@DATASETS.register_module()
class CIFAR10(BaseImageDataset):
    """CIFAR-10 from ``data_root/cifar-10-batches-py`` (``data_batch_1..5``, ``test_batch``,
    ``batches.meta``), as distributed by the dataset's authors.

    Samples carry the image itself (``img``: RGB uint8 (32, 32, 3)), so ``labeled_list`` does
    not apply; ``num_per_class`` draws the FixMatch labeled sets.

    Args:
        data_root: folder holding ``cifar-10-batches-py``.
        test_mode: read the test batch instead of the training batches.
        **kwargs: see :class:`BaseImageDataset` and mmengine's ``BaseDataset``.
    """
    base_folder = 'cifar-10-batches-py'
    train_files: Sequence[str] = tuple(f'data_batch_{i}' for i in range(1, 6))
    test_files: Sequence[str] = ('test_batch', )
    meta_file, meta_key, label_key = 'batches.meta', b'label_names', b'labels'
    image_shape = (3, 32, 32)

    def __init__(self, data_root: str = '', test_mode: bool = False, **kwargs):
        super().__init__(data_root=data_root, test_mode=test_mode, **kwargs)

    def _read(self, name: str, keys: Sequence[bytes]) -> dict:
        """Unpickle one file of the dataset and check it holds ``keys``."""
        path = osp.join(self.data_root, self.base_folder, name)
        if not osp.isfile(path):
            raise DataFileNotFoundError(f'{type(self).__name__} file not found: {path}')
        with open(path, 'rb') as f:
            # The official CIFAR format: a pickle of plain dicts, bytes, lists and arrays.
            content = pickle.load(f, encoding='bytes')
        missing = [k for k in keys if k not in content]
        if missing:
            raise DataError(f'{path}: not a CIFAR file, keys {missing} are missing')
        return content

    def load_samples(self) -> List[dict]:
        if not self._metainfo.get('classes'):
            names = self._read(self.meta_file, [self.meta_key])[self.meta_key]
            self._metainfo['classes'] = tuple(n.decode() for n in names)
        samples = []
        for name in (self.test_files if self.test_mode else self.train_files):
            batch = self._read(name, [b'data', self.label_key])
            data = np.asarray(batch[b'data'], dtype=np.uint8)
            labels = batch[self.label_key]
            if data.shape != (len(labels), int(np.prod(self.image_shape))):
                raise DataError(
                    f'{self.base_folder}/{name}: data of shape {data.shape} does not hold '
                    f'{len(labels)} images of {self.image_shape}')
            images = data.reshape(-1, *self.image_shape).transpose(0, 2, 3, 1)  # (N, H, W, 3)
            images = np.ascontiguousarray(images)
            samples.extend(dict(img=img, gt_label=int(label)) for img, label in zip(images, labels))
        return samples


@DATASETS.register_module()
class CIFAR100(CIFAR10):
    """CIFAR-100 from ``data_root/cifar-100-python`` (``train``, ``test``, ``meta``).

    Labels are the 100 fine labels. Arguments as :class:`CIFAR10`.
    """
    base_folder = 'cifar-100-python'
    train_files = ('train', )
    test_files = ('test', )
    meta_file, meta_key, label_key = 'meta', b'fine_label_names', b'fine_labels'
