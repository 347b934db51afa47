"""List-file reader: ``relative/path.JPEG label`` per line, or SimCLR subset lists."""
import os
import os.path as osp
from typing import Dict, List, Optional, Set

from sscl.registry import DATASETS
from .base_dataset import BaseImageDataset, resolve_subset_file


@DATASETS.register_module()
class ListFileDataset(BaseImageDataset):
    """Images named by a list file under ``data_root/data_prefix``.

    A line is either ``relative/path.JPEG label`` (ImageNet ``meta/train.txt`` style) or a
    bare ImageNet file name ``n01440764_10026.JPEG`` (the SimCLR subset lists, e.g.
    ``ann_file='10percent'``): its class is the wnid before ``_`` and its path
    ``<wnid>/<file name>``; labels index the sorted class folders of the image folder (or
    ``classes``).

    Args:
        ann_file: the list file (``'1percent'``/``'10percent'`` name the shipped lists).
        data_root: dataset root, e.g. ``data/imagenet``.
        data_prefix: the image folder under ``data_root``, e.g. ``'train'``.
        num_classes: labels must lie in ``[0, num_classes)``; defaults to the class count.
        check_files: check that every listed image exists (one directory scan per folder).
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

    def _class_names(self) -> List[str]:
        classes = self._metainfo.get('classes')
        if classes:
            return list(classes)
        root = self.data_prefix['img_path']
        return sorted(e.name for e in os.scandir(root) if e.is_dir()) if osp.isdir(root) else []

    def load_samples(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'list file not found: {self.ann_file}')
        classes = self._class_names()
        class_idx = {c: i for i, c in enumerate(classes)}
        num_classes = self.num_classes or len(classes) or None
        root = self.data_prefix['img_path']
        listing: Dict[str, Set[str]] = {}
        samples = []
        with open(self.ann_file) as f:
            for lineno, line in enumerate(f, 1):
                where = f'{self.ann_file}:{lineno}'
                parts = line.split()
                if not parts:
                    continue
                if len(parts) == 1:
                    rel, wnid = parts[0], parts[0].split('_')[0]
                    if wnid not in class_idx:
                        raise ValueError(f'{where}: class "{wnid}" of "{rel}" is not a class '
                                         f'folder of {root}')
                    rel, label = f'{wnid}/{rel}', class_idx[wnid]
                elif len(parts) == 2 and parts[1].lstrip('-').isdigit():
                    rel, label = parts[0], int(parts[1])
                else:
                    raise ValueError(f'{where}: malformed line "{line.strip()}"; expected '
                                     '"relative/path label" or an ImageNet file name')
                if num_classes is not None and not 0 <= label < num_classes:
                    raise ValueError(f'{where}: label {label} is outside [0, {num_classes})')
                path = osp.join(root, rel)
                if self.check_files and not self._exists(path, listing):
                    raise FileNotFoundError(f'{where}: image not found: {path}')
                samples.append(dict(img_path=path, gt_label=label))
        if classes:
            self._metainfo['classes'] = tuple(classes)
        elif num_classes:
            self._metainfo['classes'] = tuple(str(i) for i in range(num_classes))
        return samples

    @staticmethod
    def _exists(path: str, listing: Dict[str, Set[str]]) -> bool:
        """``os.path.exists`` with one ``scandir`` per folder (fast for 1.28 M files)."""
        folder, name = osp.split(path)
        if folder not in listing:
            listing[folder] = {e.name for e in os.scandir(folder)} if osp.isdir(folder) else set()
        return name in listing[folder]
