"""Common base of the image classification readers: class list, label checks, labeled split."""
import logging
import os
import os.path as osp
from collections import Counter
from typing import Dict, List, Optional, Sequence, Set, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from sscl.utils.errors import ConfigError, DataError, DataFileNotFoundError, ImageReadError
from .keyed_random import SeededGetItemMixin

SUBSET_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data', 'imagenet_subsets')
# The formats torchvision.io.decode_image reads as one RGB frame.
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.webp')


def under_root(path: str, data_root: str) -> str:
    """``path`` read under ``data_root`` unless it is absolute (mmengine's ``ann_file`` rule)."""
    return path if osp.isabs(path) or not data_root else osp.join(data_root, path)


def resolve_subset_file(name: str, data_root: str = '') -> str:
    """Path of a list file.

    Args:
        name: a shipped SimCLR subset (``'1percent'``, ``'10percent'``) or a path; a relative
            path is read under ``data_root``.
        data_root: dataset root.

    Returns:
        The path of the list file.
    """
    shipped = osp.join(SUBSET_DIR, f'{name}.txt')
    return shipped if osp.isfile(shipped) else under_root(name, data_root)


def find_classes(folder: str) -> List[str]:
    """Sorted names of the sub-folders of ``folder`` (hidden ones skipped)."""
    return sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith('.'))


class FileIndex:
    """``path in index``: whether the file exists, reading each folder once with
    ``scandir`` (fast for the 1.28M ImageNet images, where a ``stat`` per file is not)."""

    def __init__(self):
        self._folders: Dict[str, Set[str]] = {}

    def __contains__(self, path: str) -> bool:
        folder, name = osp.split(path)
        if folder not in self._folders:
            names = {e.name for e in os.scandir(folder)} if osp.isdir(folder) else set()
            self._folders[folder] = names
        return name in self._folders[folder]


def choose_split(reader: str, split: Optional[str], test_mode: bool, choices: Sequence[str],
                 train_split: str) -> str:
    """``split``, by default ``'test'`` in ``test_mode`` and ``train_split`` otherwise.

    Raises:
        ConfigError: naming ``reader``, when the split is not one of ``choices``.
    """
    split = split or ('test' if test_mode else train_split)
    if split not in choices:
        raise ConfigError(f'{reader}: split must be one of {tuple(choices)}, got {split!r}')
    return split


def read_lines(path: str, what: str) -> List[tuple]:
    """Non-empty stripped lines of a text file with their 1-based line numbers.

    Args:
        path: the file.
        what: what the file is, for the error message (e.g. ``'labeled_list'``).

    Returns:
        ``[(lineno, line), ...]``.
    """
    if not osp.isfile(path):
        raise DataFileNotFoundError(f'{what} file not found: {path}')
    with open(path) as f:
        return [(n, line.strip()) for n, line in enumerate(f, 1) if line.strip()]


class BaseImageDataset(SeededGetItemMixin, BaseDataset):
    """Image classification reader with its labeled split applied when it is built.

    Subclasses implement :meth:`load_samples` returning dicts with ``img_path`` (or ``img``)
    and ``gt_label``. This class resolves the class list, checks labels, applies the split and
    adds ``sample_idx`` (the index in this dataset). Every check runs in ``load_data_list``,
    i.e. when the dataset is built, never in the middle of an epoch. A :class:`KeyedIndex`
    item (from ``KeyedSampler``) is read with the random generators seeded by its key.

    Without ``labeled_list`` and ``num_per_class`` the dataset holds every sample (the
    unlabeled set, whose ground truth only serves diagnostics).

    Args:
        classes: class names, or a text file with one class name per line (relative paths
            are read under ``data_root``). By default read from the data (sorted folders).
        labeled_list: keep only the images named in this file: one relative path (under the
            image folder) or file name per line; ``'1percent'``/``'10percent'`` name the
            shipped SimCLR subsets; relative paths are read under ``data_root``.
        num_per_class: keep ``num_per_class`` images of every class, drawn with
            ``split_seed`` (the FixMatch protocol: N/C labels per class).
        split_seed: seed (fold) of the ``num_per_class`` draw.
        skip_bad_images: in training, replace a sample whose image is missing or cannot be
            decoded by another one (mmengine's refetch) and log it with the running count,
            instead of stopping with :class:`ImageReadError`.
        **kwargs: mmengine ``BaseDataset`` arguments (``data_root``, ``pipeline``,
            ``test_mode`` ...).
    """

    def __init__(self,
                 *args,
                 classes: Union[str, Sequence[str], None] = None,
                 labeled_list: Optional[str] = None,
                 num_per_class: Optional[int] = None,
                 split_seed: int = 0,
                 skip_bad_images: bool = False,
                 **kwargs):
        if labeled_list is not None and num_per_class is not None:
            raise DataError('give either labeled_list or num_per_class, not both')
        if num_per_class is not None and num_per_class < 1:
            raise DataError(f'num_per_class must be >= 1, got {num_per_class}')
        self._classes = classes
        self.labeled_list = labeled_list
        self.num_per_class = num_per_class
        self.split_seed = split_seed
        self.skip_bad_images = skip_bad_images
        self.num_skipped = 0  # in this process
        super().__init__(*args, **kwargs)

    def prepare_data(self, idx: int) -> Optional[dict]:
        """The pipeline's output; None (mmengine then draws another sample) for an
        unreadable image when ``skip_bad_images`` is set in training."""
        try:
            return super().prepare_data(idx)
        except ImageReadError as e:
            if not self.skip_bad_images or self.test_mode:
                raise
            self.num_skipped += 1
            print_log(f'skipped: {e} ({self.num_skipped} skipped by this process)',
                      logger='current', level=logging.WARNING)
            return None

    def get_gt_labels(self) -> np.ndarray:
        """(N,) int64 ground truth of every sample (−1 where unknown), from the annotations:
        no image is decoded."""
        return np.array([self.get_data_info(i)['gt_label'] for i in range(len(self))],
                        dtype=np.int64)

    def load_samples(self) -> List[dict]:
        """Every sample of the data: dicts with ``img_path`` or ``img``, and ``gt_label``."""
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        self._load_classes()
        samples = self.load_samples()
        classes = self._metainfo.get('classes')
        if classes is not None:
            self._metainfo['classes'] = tuple(classes)
            self._check_labels(samples, len(classes))
        total = len(samples)
        if self.labeled_list is not None:
            samples = self._select_listed(samples)
        elif self.num_per_class is not None:
            samples = self._select_per_class(samples)
        if self.labeled_list is not None or self.num_per_class is not None:
            self._check_every_class_labeled(samples)
            split = self.labeled_list or f'{self.num_per_class} per class, seed {self.split_seed}'
            print_log(
                f'{type(self).__name__}: labeled split ({split}) keeps {len(samples)} of '
                f'{total} images',
                logger='current')
        for idx, sample in enumerate(samples):
            sample['sample_idx'] = idx
        return samples

    def _load_classes(self) -> None:
        """Put ``classes`` (names or a file of names) into the metainfo."""
        if self._classes is None:
            return
        if isinstance(self._classes, str):
            path = under_root(self._classes, self.data_root)
            self._metainfo['classes'] = tuple(line for _, line in read_lines(path, 'classes'))
        else:
            self._metainfo['classes'] = tuple(self._classes)

    def _check_labels(self, samples: List[dict], num_classes: int) -> None:
        for s in samples:
            if not -1 <= s['gt_label'] < num_classes:
                where = s.get('img_path', type(self).__name__)
                raise DataError(f'{where}: label {s["gt_label"]} is outside [0, {num_classes})')

    def _select_listed(self, samples: List[dict]) -> List[dict]:
        """The samples named in ``labeled_list``, in the order of the list."""
        list_file = resolve_subset_file(self.labeled_list, self.data_root)
        if samples and 'img_path' not in samples[0]:
            raise DataError(f'labeled_list needs image files; {type(self).__name__} holds '
                            'in-memory images (use num_per_class)')
        root = self.data_prefix.get('img_path') or self.data_root
        by_path = {s['img_path']: s for s in samples}
        by_name: Dict[str, Optional[dict]] = {}
        for s in samples:
            name = osp.basename(s['img_path'])
            by_name[name] = None if name in by_name else s  # None: the name is ambiguous
        seen: Dict[str, int] = {}
        selected = []
        for lineno, name in read_lines(list_file, 'labeled_list'):
            where = f'{list_file}:{lineno}'
            sample = by_path.get(osp.join(root, name)) or by_name.get(name)
            if sample is None:
                hint = ' (several images have this name; give its relative path)' \
                    if name in by_name else ''
                raise DataFileNotFoundError(f'{where}: "{name}" is not an image of {root}{hint}')
            if sample['img_path'] in seen:
                raise DataError(f'{where}: "{name}" is listed twice (first on line '
                                f'{seen[sample["img_path"]]})')
            seen[sample['img_path']] = lineno
            selected.append(sample)
        return selected

    def _select_per_class(self, samples: List[dict]) -> List[dict]:
        """``num_per_class`` samples of every class, drawn with ``split_seed``."""
        labels = np.array([s['gt_label'] for s in samples])
        rng = np.random.default_rng(self.split_seed)
        keep = []
        for c in np.unique(labels[labels >= 0]):
            idx = np.flatnonzero(labels == c)
            if len(idx) < self.num_per_class:
                raise DataError(f'class {self._class_name(c)} has {len(idx)} images, fewer '
                                f'than num_per_class={self.num_per_class}')
            keep.extend(rng.choice(idx, self.num_per_class, replace=False).tolist())
        return [samples[i] for i in sorted(keep)]

    def _check_every_class_labeled(self, samples: List[dict]) -> None:
        classes = self._metainfo.get('classes')
        if not classes:
            return
        counts = Counter(s['gt_label'] for s in samples)
        missing = [classes[c] for c in range(len(classes)) if counts[c] == 0]
        if missing:
            more = ' ...' if len(missing) > 10 else ''
            raise DataError(f'the labeled split of {type(self).__name__} has no sample of '
                            f'class(es) {missing[:10]}{more} ({len(missing)} of {len(classes)})')

    def _class_name(self, label: int) -> str:
        classes = self._metainfo.get('classes')
        return f'{label} ({classes[label]})' if classes else str(label)
