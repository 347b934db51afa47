"""Stanford Cars reader for the layout torchvision documents (196 classes)."""
import os.path as osp
from typing import List, Optional

import numpy as np

from sscl.registry import DATASETS
from sscl.utils.errors import DataError, DataFileNotFoundError
from .base_dataset import BaseImageDataset, FileIndex, choose_split


def load_mat_entry(path: str, key: str, what: str) -> np.ndarray:
    """Entry ``key`` of a MATLAB file as a 1-D array (cells and struct arrays squeezed).

    Args:
        path: the ``.mat`` file.
        key: the variable to read.
        what: what the file is, for the error message.
    """
    from scipy.io import loadmat  # only this reader needs scipy: keep it out of `import sscl`
    if not osp.isfile(path):
        raise DataFileNotFoundError(f'{what} file not found: {path}')
    try:
        content = loadmat(path, squeeze_me=True)
    except Exception as e:  # scipy raises ValueError, TypeError ... for other files
        raise DataError(f'{path}: not a readable MATLAB file ({type(e).__name__}: {e})') from e
    if key not in content:
        raise DataError(f'{path}: no "{key}" variable; not the {what} file?')
    return np.atleast_1d(content[key])


@DATASETS.register_module()
class StanfordCars(BaseImageDataset):
    """Stanford Cars in the layout torchvision documents::

        data_root/cars_train/<fname>.jpg, data_root/cars_test/<fname>.jpg
        data_root/devkit/cars_meta.mat                 # class_names: 196 names
        data_root/devkit/cars_train_annos.mat          # annotations: class (1-based), fname
        data_root/cars_test_annos_withlabels.mat       # the same for the test images

    Labels are the 1-based ``class`` fields minus one.

    Args:
        data_root: the folder holding ``cars_train``, ``cars_test`` and ``devkit``.
        split: ``'train'`` or ``'test'``; defaults to ``'test'`` in ``test_mode``, else
            ``'train'``.
        test_mode: evaluation dataset (mmengine's ``BaseDataset`` flag).
        **kwargs: see :class:`BaseImageDataset` (``classes``, ``labeled_list``,
            ``num_per_class``, ``split_seed``) and mmengine's ``BaseDataset`` (``pipeline``
            ...).
    """
    ann_files = dict(train='devkit/cars_train_annos.mat', test='cars_test_annos_withlabels.mat')
    meta_file = 'devkit/cars_meta.mat'

    def __init__(self,
                 data_root: str = '',
                 split: Optional[str] = None,
                 test_mode: bool = False,
                 **kwargs):
        self.split = split = choose_split(type(self).__name__, split, test_mode, self.ann_files,
                                          'train')
        super().__init__(
            ann_file=self.ann_files[split],
            data_root=data_root,
            data_prefix=dict(img_path=f'cars_{split}'),
            test_mode=test_mode,
            **kwargs)

    def load_samples(self) -> List[dict]:
        root = self.data_prefix['img_path']
        classes = self._metainfo.get('classes')
        if not classes:
            names = load_mat_entry(
                osp.join(self.data_root, self.meta_file), 'class_names', 'cars_meta')
            classes = tuple(str(n) for n in names)
            self._metainfo['classes'] = classes
        annotations = load_mat_entry(self.ann_file, 'annotations', 'annotation')
        fields = annotations.dtype.names or ()
        if 'class' not in fields or 'fname' not in fields:
            raise DataError(f'{self.ann_file}: annotations have fields {fields}, not "class" '
                            'and "fname" (the test set needs cars_test_annos_withlabels.mat)')
        files = FileIndex()
        samples = []
        for i, (label, name) in enumerate(zip(annotations['class'], annotations['fname']), 1):
            where = f'{self.ann_file}: annotation {i}'
            if not 1 <= int(label) <= len(classes):
                raise DataError(f'{where}: class {int(label)} is outside [1, {len(classes)}]')
            path = osp.join(root, str(name))
            if path not in files:
                raise DataFileNotFoundError(f'{where}: image not found: {path}')
            samples.append(dict(img_path=path, gt_label=int(label) - 1))
        return samples
