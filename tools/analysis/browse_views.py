"""Look at what a config trains on: ``python tools/analysis/browse_views.py CONFIG
--out views.png [--num 8] [--seed 0] [--cfg-options key=value ...]``.

A grid of labeled training images (titled with their class) and, for a semi-supervised
config, the weak and strong views of unlabeled images, read through the config's own
``train_dataloader.dataset`` and pipelines with the augmentation draws of epoch 0, rank 0 of
a run of ``--seed``. Where the config's data preprocessor has ``batch_augments`` (the
GPU-augmentation recipe's ``BatchStrongAugment``), those views also go through it, here on
the CPU, as training applies it on the device before normalisation.
"""
import argparse
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import DefaultScope

from sscl.datasets.keyed_random import keyed_items
from sscl.registry import DATASETS, MODELS
from sscl.utils import register_all_modules
from sscl.utils.cli import (exit_on_user_error, load_config, merge_overrides,
                            runner_model_config)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Plot the training views of a config')
    parser.add_argument('config', help='training config file path')
    parser.add_argument('--out', required=True, help='the PNG to write')
    parser.add_argument('--num', type=int, default=8, help='images of each kind')
    parser.add_argument('--seed', type=int, default=0, help='the run seed of the draws')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override config settings')
    return parser.parse_args(argv)


def spread(size: int, num: int) -> List[int]:
    """``num`` indices spread evenly over ``range(size)`` (the sets are sorted by class)."""
    return sorted(set(np.linspace(0, size - 1, min(num, size)).round().astype(int).tolist()))


def read(dataset, indices: List[int], seed: int) -> List[dict]:
    """The packed samples at ``indices``, drawn as item ``i`` of epoch 0 on rank 0."""
    return [dataset[item] for item in keyed_items(indices, seed, rank=0, epoch=0)]


def collect_views(cfg: Config, num: int, seed: int) -> Dict[str, object]:
    """``{'labeled': (N, 3, H, W) uint8, 'labels': [class names], 'weak'/'strong':
    (M, 3, H, W) uint8 (semi-supervised configs only), 'batch_augmented': [view names],
    'indices': the dataset indices read}``, N and M at most ``num``."""
    with DefaultScope.overwrite_default_scope('sscl'):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        semi = hasattr(dataset, 'labeled') and hasattr(dataset, 'unlabeled')
        labeled = dataset.labeled if semi else dataset
        # semi: indices [0, len(labeled)) read the labeled set, the following the unlabeled
        indices = spread(len(labeled), num)
        n_lab = len(indices)
        if semi:
            indices += [len(labeled) + i for i in spread(len(dataset.unlabeled), num)]
        samples = read(dataset, indices, seed)
        unlabeled, samples = samples[n_lab:], samples[:n_lab]
        classes = labeled.metainfo.get('classes')
        labels = [int(s['data_samples']['gt_label']) for s in samples]
        views: Dict[str, object] = dict(
            labeled=torch.stack([s['inputs'] for s in samples]),
            labels=[str(classes[k]) if classes else str(k) for k in labels],
            batch_augmented=[],
            indices=indices)
        if semi:
            for view in ('weak', 'strong'):
                views[view] = torch.stack([s['inputs'][view] for s in unlabeled])
            preprocessor = runner_model_config(cfg).get('data_preprocessor') or {}
            for view, aug_cfg in (preprocessor.get('batch_augments') or {}).items():
                module = MODELS.build(aug_cfg)
                with torch.no_grad():
                    views[view] = module(views[view])
                views['batch_augmented'].append(view)
    return views


def plot(views: Dict[str, object], out: str, title: str) -> None:
    """One row per kind of image: labeled, weak, strong."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = [('labeled', [f'label: {name}' for name in views['labels']])]
    for view in ('weak', 'strong'):
        if view in views:
            how = ' + batch aug (CPU)' if view in views['batch_augmented'] else ''
            rows.append((view, [f'{view} #{i}{how}' for i in range(len(views[view]))]))
    cols = max(len(views[name]) for name, _ in rows)
    fig, axes = plt.subplots(len(rows), cols, figsize=(1.9 * cols, 2.1 * len(rows)),
                             squeeze=False)
    for r, (name, titles) in enumerate(rows):
        for c in range(cols):
            ax = axes[r, c]
            ax.axis('off')
            if c < len(views[name]):
                ax.imshow(np.ascontiguousarray(views[name][c].permute(1, 2, 0).numpy()))
                ax.set_title(titles[c], fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    with exit_on_user_error('browse_views.py'):
        cfg = load_config(args.config)
        merge_overrides(cfg, args.cfg_options, args.config)
        views = collect_views(cfg, args.num, args.seed)
        plot(views, args.out, f'{args.config} (seed {args.seed}); unlabeled columns: the same '
             'image in both views')
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
