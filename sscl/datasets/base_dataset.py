"""Common base of the image classification readers: class list, checks, labeled splits."""
import os.path as osp
from collections import Counter
from typing import List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset

SUBSET_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data',
                      'imagenet_subsets')
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')


def resolve_subset_file(name: str) -> str:
    """``'1percent'``/``'10percent'`` → the shipped SimCLR list; any other value is a path."""
    shipped = osp.join(SUBSET_DIR, f'{name}.txt')
    return shipped if osp.isfile(shipped) else name


class BaseImageDataset(BaseDataset):
    """Image classification reader with a labeled split applied when it is built.

    Subclasses implement :meth:`load_samples` returning dicts with ``img_path`` (or ``img``)
    and ``gt_label``. This class checks labels, applies the split and adds ``sample_idx``
    (the index in this dataset). Every check runs in ``load_data_list``, i.e. when the
    dataset is built, never in the middle of an epoch.

    Args:
        classes: class names; by default read from the data (sorted folder names).
        labeled_list: keep only the images named in this file (one relative path or file
            name per line, e.g. the SimCLR subsets ``'1percent'``/``'10percent'``).
        num_per_class: keep ``num_per_class`` images of each class drawn with ``split_seed``
            (the FixMatch protocol: N/C labels per class).
        split_seed: seed (fold) of the ``num_per_class`` draw.
    """

    def __init__(self,
                 *args,
                 classes: Optional[Sequence[str]] = None,
                 labeled_list: Optional[str] = None,
                 num_per_class: Optional[int] = None,
                 split_seed: int = 0,
                 **kwargs):
        if labeled_list is not None and num_per_class is not None:
            raise ValueError('Give either labeled_list or num_per_class, not both')
        self._classes = list(classes) if classes is not None else None
        self.labeled_list = labeled_list
        self.num_per_class = num_per_class
        self.split_seed = split_seed
        metainfo = kwargs.pop('metainfo', None) or {}
        if classes is not None:
            metainfo = dict(metainfo, classes=tuple(classes))
        super().__init__(*args, metainfo=metainfo, **kwargs)

    def load_samples(self) -> List[dict]:
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        samples = self.load_samples()
        classes = self._metainfo.get('classes')
        num_classes = len(classes) if classes else None
        for s in samples:
            if num_classes is not None and not -1 <= s['gt_label'] < num_classes:
                raise ValueError(f'{s.get("img_path", self.__class__.__name__)}: label '
                                 f'{s["gt_label"]} is outside [0, {num_classes})')
        if self.labeled_list is not None:
            samples = self._select_listed(samples, resolve_subset_file(self.labeled_list))
        elif self.num_per_class is not None:
            samples = self._select_per_class(samples)
        if self.labeled_list is not None or self.num_per_class is not None:
            self._check_every_class_labeled(samples, num_classes)
        for idx, s in enumerate(samples):
            s['sample_idx'] = idx
        return samples

    def _select_listed(self, samples: List[dict], list_file: str) -> List[dict]:
        if not osp.isfile(list_file):
            raise FileNotFoundError(f'labeled_list file not found: {list_file}')
        by_path = {s['img_path']: s for s in samples}
        by_name = {osp.basename(s['img_path']): s for s in samples}
        selected = []
        with open(list_file) as f:
            for lineno, line in enumerate(f, 1):
                name = line.strip()
                if not name:
                    continue
                sample = by_name.get(name) or by_path.get(osp.join(self.data_prefix['img_path'],
                                                                   name))
                if sample is None:
                    raise FileNotFoundError(f'{list_file}:{lineno}: "{name}" is not an image of '
                                            f'{self.data_prefix["img_path"] or self.data_root}')
                selected.append(sample)
        return selected

    def _select_per_class(self, samples: List[dict]) -> List[dict]:
        labels = np.array([s['gt_label'] for s in samples])
        rng = np.random.default_rng(self.split_seed)
        keep = []
        for c in np.unique(labels[labels >= 0]):
            idx = np.flatnonzero(labels == c)
            if len(idx) < self.num_per_class:
                raise ValueError(f'class {c} has {len(idx)} images, fewer than '
                                 f'num_per_class={self.num_per_class}')
            keep.extend(rng.choice(idx, self.num_per_class, replace=False).tolist())
        return [samples[i] for i in sorted(keep)]

    def _check_every_class_labeled(self, samples: List[dict],
                                   num_classes: Optional[int]) -> None:
        if not num_classes:
            return
        counts = Counter(s['gt_label'] for s in samples)
        missing = [self._metainfo['classes'][c] for c in range(num_classes) if counts[c] == 0]
        if missing:
            raise ValueError(f'the labeled split has no sample of class(es) {missing[:10]}'
                             f'{" ..." if len(missing) > 10 else ""}')
