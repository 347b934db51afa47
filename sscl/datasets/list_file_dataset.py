"""List-file reader: ``relative/path.JPEG label`` per line, or SimCLR subset lists."""
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Tuple

from sscl.registry import DATASETS
from sscl.utils.errors import DataError, DataFileNotFoundError
from .base_dataset import (IMG_EXTENSIONS, BaseImageDataset, FileIndex, find_classes, read_lines,
                           resolve_subset_file)


@DATASETS.register_module()
class ListFileDataset(BaseImageDataset):
    """Images named by a list file, under ``data_root/data_prefix``.

    A line is one of

    * ``relative/path.JPEG label`` (ImageNet ``meta/train.txt`` style);
    * ``n01440764_10026.JPEG`` (the SimCLR subset lists, e.g. ``ann_file='10percent'``): the
      class is the wnid before ``_`` and the path ``<wnid>/<file name>``;
    * ``<class>/<image>`` without a label: the class is the first folder of the path.

    Unlabeled lines take their label from the class list: ``classes`` (names or a file), or
    the sorted sub-folders of the image folder.

    Args:
        ann_file: the list file (``'1percent'``/``'10percent'`` name the shipped lists;
            a relative path is read under ``data_root``).
        data_root: dataset root, e.g. ``data/imagenet``.
        data_prefix: the image folder under ``data_root``, e.g. ``'train'``.
        num_classes: labels must lie in ``[0, num_classes)``; defaults to the class count.
        check_files: check that every listed image exists (one directory scan per folder,
            fast for the 1.28 M ImageNet images).
        **kwargs: see :class:`BaseImageDataset` and mmengine's ``BaseDataset``.
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: str = '',
                 num_classes: Optional[int] = None,
                 check_files: bool = True,
                 **kwargs):
        self.num_classes = num_classes
        self.check_files = check_files
        super().__init__(
            ann_file=resolve_subset_file(ann_file),
            data_root=data_root,
            data_prefix=dict(img_path=data_prefix),
            **kwargs)

    def load_samples(self) -> List[dict]:
        root = self.data_prefix['img_path']
        classes = self._class_list(root)
        num_classes = self.num_classes or len(classes)
        class_idx = {c: i for i, c in enumerate(classes)}
        files = FileIndex()
        samples = []
        for lineno, line in read_lines(self.ann_file, 'ann_file'):
            where = f'{self.ann_file}:{lineno}'
            rel, label = self._parse(line, where, class_idx)
            if num_classes and not 0 <= label < num_classes:
                raise DataError(f'{where}: label {label} is outside [0, {num_classes})')
            if not rel.lower().endswith(IMG_EXTENSIONS):
                raise DataError(f'{where}: "{rel}" is not a {"/".join(IMG_EXTENSIONS)} image')
            path = osp.join(root, rel)
            if self.check_files and path not in files:
                raise DataFileNotFoundError(f'{where}: image not found: {path}')
            samples.append(dict(img_path=path, gt_label=label))
        if not classes and num_classes:
            classes = [str(i) for i in range(num_classes)]
        if classes:
            self._metainfo['classes'] = tuple(classes)
        return samples

    def _class_list(self, root: str) -> Sequence[str]:
        classes = self._metainfo.get('classes') or (find_classes(root) if osp.isdir(root) else [])
        if self.num_classes and classes and len(classes) != self.num_classes:
            raise DataError(f'num_classes={self.num_classes} but there are {len(classes)} '
                            f'classes (class folders of {root} or `classes`)')
        return classes

    @staticmethod
    def _parse(line: str, where: str, class_idx: Dict[str, int]) -> Tuple[str, int]:
        """``(relative path, label)`` of one list line."""
        parts = line.split()
        if len(parts) == 2 and re.fullmatch(r'-?\d+', parts[1]):
            return parts[0], int(parts[1])
        if len(parts) != 1:
            raise DataError(f'{where}: malformed line "{line}"; expected "relative/path label", '
                            'a relative path or an ImageNet file name')
        rel = parts[0]
        cls = rel.split('/')[0] if '/' in rel else rel.split('_')[0]
        if cls not in class_idx:
            raise DataError(f'{where}: class "{cls}" of "{rel}" is not a known class (class '
                            'folders of the image folder or `classes`)')
        return (rel if '/' in rel else f'{cls}/{rel}'), class_idx[cls]
