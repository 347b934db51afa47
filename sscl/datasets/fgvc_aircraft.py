"""FGVC-Aircraft reader for the official ``fgvc-aircraft-2013b`` layout (100 variants)."""
import os.path as osp
from typing import List, Optional

from sscl.registry import DATASETS
from sscl.utils.errors import DataError, DataFileNotFoundError
from .base_dataset import BaseImageDataset, FileIndex, choose_split, read_lines


@DATASETS.register_module()
class FGVCAircraft(BaseImageDataset):
    """FGVC-Aircraft 2013b at variant level, as distributed by the dataset's authors::

        data_root/data/images/<id>.jpg
        data_root/data/images_variant_{train,val,trainval,test}.txt  # "<id> <variant name>"
        data_root/data/variants.txt                                 # one variant per line

    Labels are the indices of the variants in ``variants.txt`` (or in ``classes``).

    Args:
        data_root: the ``fgvc-aircraft-2013b`` folder (the one holding ``data/``).
        split: ``'train'``, ``'val'``, ``'trainval'`` or ``'test'``; defaults to ``'test'``
            in ``test_mode``, else ``'trainval'``.
        test_mode: evaluation dataset (mmengine's ``BaseDataset`` flag).
        **kwargs: see :class:`BaseImageDataset` (``classes``, ``labeled_list``,
            ``num_per_class``, ``split_seed``) and mmengine's ``BaseDataset`` (``pipeline``
            ...).
    """
    splits = ('train', 'val', 'trainval', 'test')
    classes_file = 'data/variants.txt'

    def __init__(self,
                 data_root: str = '',
                 split: Optional[str] = None,
                 test_mode: bool = False,
                 **kwargs):
        self.split = split = choose_split(type(self).__name__, split, test_mode, self.splits,
                                          'trainval')
        super().__init__(
            ann_file=f'data/images_variant_{split}.txt',
            data_root=data_root,
            data_prefix=dict(img_path='data/images'),
            test_mode=test_mode,
            **kwargs)

    def load_samples(self) -> List[dict]:
        root = self.data_prefix['img_path']
        classes = self._metainfo.get('classes')
        if not classes:
            classes_path = osp.join(self.data_root, self.classes_file)
            classes = [line for _, line in read_lines(classes_path, 'variants')]
            self._metainfo['classes'] = tuple(classes)
        class_idx = {c: i for i, c in enumerate(classes)}
        files = FileIndex()
        samples = []
        for lineno, line in read_lines(self.ann_file, 'annotation'):
            where = f'{self.ann_file}:{lineno}'
            parts = line.split(maxsplit=1)
            if len(parts) != 2:
                raise DataError(f'{where}: malformed line "{line}"; expected "<image id> '
                                '<variant name>"')
            image_id, variant = parts
            if variant not in class_idx:
                raise DataError(f'{where}: unknown variant "{variant}" (not in the '
                                f'{len(classes)} classes)')
            path = osp.join(root, f'{image_id}.jpg')
            if path not in files:
                raise DataFileNotFoundError(f'{where}: image not found: {path}')
            samples.append(dict(img_path=path, gt_label=class_idx[variant]))
        if not samples:
            raise DataError(f'{self.ann_file}: no annotation lines')
        return samples
