"""ImageFolder tree reader: ``root/<class>/<image>``."""
import os
import os.path as osp
from typing import List

from sscl.registry import DATASETS
from sscl.utils.errors import DataFileNotFoundError
from .base_dataset import IMG_EXTENSIONS, BaseImageDataset, find_classes


@DATASETS.register_module()
class ImageFolder(BaseImageDataset):
    """Images in ``data_root/data_prefix/<class>/<image>``.

    Classes are the sorted sub-folder names (or ``classes``); images are the sorted files of
    each class folder with an extension in ``IMG_EXTENSIONS``.

    Args:
        data_root: dataset root, e.g. ``data/imagenet``.
        data_prefix: the image folder under ``data_root``, e.g. ``'train'``.
        **kwargs: see :class:`BaseImageDataset` (``classes``, ``labeled_list``,
            ``num_per_class``, ``split_seed``) and mmengine's ``BaseDataset`` (``pipeline``,
            ``test_mode`` ...).
    """

    def __init__(self, data_root: str = '', data_prefix: str = '', **kwargs):
        super().__init__(data_root=data_root, data_prefix=dict(img_path=data_prefix), **kwargs)

    def load_samples(self) -> List[dict]:
        root = self.data_prefix['img_path']
        if not osp.isdir(root):
            raise DataFileNotFoundError(f'image folder not found: {root}')
        classes = self._metainfo.get('classes') or find_classes(root)
        self._metainfo['classes'] = tuple(classes)
        samples = []
        for label, cls in enumerate(classes):
            folder = osp.join(root, cls)
            if not osp.isdir(folder):
                raise DataFileNotFoundError(f'class folder not found: {folder}')
            names = sorted(
                e.name for e in os.scandir(folder)
                if e.is_file() and e.name.lower().endswith(IMG_EXTENSIONS))
            samples.extend(dict(img_path=osp.join(folder, n), gt_label=label) for n in names)
        if not samples:
            raise DataFileNotFoundError(f'no {"/".join(IMG_EXTENSIONS)} images under {root}')
        return samples
