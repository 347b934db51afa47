"""t-SNE of the test set's embeddings (the paper's Fig. 6).

    python tools/analysis/tsne.py CONFIG CHECKPOINT --out tsne.png [--classes 10]
        [--max-samples 2000] [--feature backbone|neck] [--ema] [--perplexity 30] [--seed 0]
        [--device cpu] [--cfg-options ...]

Embeds the samples of the first ``--classes`` classes of the config's test set (a random
``--max-samples`` of them, drawn with ``--seed``, when there are more) with the pooled
backbone feature or the L2-normalised neck embedding, and scatters their t-SNE map, one colour
per class. The checkpoint is read with ``torch.load(weights_only=True)``. mmengine's
``EMAHook`` swaps the weights when it saves: ``state_dict`` then holds the averaged model
(what ``tools/test.py`` evaluates) and ``ema_state_dict`` the trained one; as in
``tools/convert_to_det.py``, the trained weights are used unless ``--ema`` is given.
"""
import argparse
import logging
import os
import os.path as osp
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.model import BaseModel
from mmengine.runner import Runner
from sklearn.manifold import TSNE
from torch.utils.data import DataLoader

from sscl.engine.utils import embed_dataset
from sscl.registry import DATASETS, MODELS
from sscl.utils import (CheckpointError, ConfigError, DataError, key_listing, register_all_modules,
                        safe_torch_load, trained_weights)
from sscl.utils.cli import exit_on_user_error, load_config, runner_model_config

# Modules whose weights the embeddings come from: the checkpoint must hold all of them.
EMBEDDING_MODULES = ('backbone.', 'neck.')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='t-SNE map of the test set embeddings of a checkpoint')
    parser.add_argument('config', help='config file (its test_dataloader is embedded)')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='output PNG file')
    parser.add_argument(
        '--classes', type=int, default=10, help='embed the first N classes (default 10)')
    parser.add_argument(
        '--max-samples',
        type=int,
        default=2000,
        help='at most this many samples, drawn at random with --seed (default 2000)')
    parser.add_argument(
        '--feature',
        choices=['backbone', 'neck'],
        default='backbone',
        help='pooled backbone feature (default), or the L2-normalised neck embedding of '
        'models with a neck (SsCL)')
    parser.add_argument(
        '--ema',
        action='store_true',
        help='use the EMAHook average (what tools/test.py evaluates) instead of the trained '
        'weights')
    parser.add_argument(
        '--perplexity',
        type=float,
        default=30.0,
        help='t-SNE perplexity (default 30; lowered to N - 1 for N samples)')
    parser.add_argument('--seed', type=int, default=0, help='sample draw and t-SNE seed')
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='device of the model (default: cuda when available, else cpu)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value pairs')
    args = parser.parse_args()
    for what, path in (('config', args.config), ('checkpoint', args.checkpoint)):
        if not osp.isfile(path):
            parser.error(f'{what} file not found: {path}')
    if args.classes < 1:
        parser.error(f'--classes must be >= 1, got {args.classes}')
    if args.max_samples < 2:
        parser.error(f'--max-samples must be >= 2, got {args.max_samples}')
    return args


def checkpoint_state(ckpt: dict, ema: bool) -> Dict[str, torch.Tensor]:
    """The model's state dict in an mmengine checkpoint: the trained weights, or with
    ``ema`` the EMAHook average (the rule of ``tools/convert_to_det.py``), without the
    ``module.`` prefix of mmengine's ``ema_state_dict``."""
    if not isinstance(ckpt, dict):
        raise CheckpointError(f'not a checkpoint: it holds a {type(ckpt).__name__}')
    if ema and 'ema_state_dict' not in ckpt:
        raise CheckpointError('--ema: the checkpoint has no ema_state_dict (it was not trained '
                              'with EMAHook)')
    trained = None if ema else trained_weights(ckpt)
    state = ckpt.get('state_dict', ckpt) if trained is None else trained
    if not isinstance(state, dict):
        raise CheckpointError(f'"state_dict" is a {type(state).__name__}, not a dict of tensors')
    unwrapped = {k[len('module.'):]: v for k, v in state.items() if k.startswith('module.')}
    return unwrapped or state


def load_model(cfg: Config, checkpoint: str, ema: bool, device: str) -> BaseModel:
    """Build ``cfg.model`` (with the config-level ``data_preprocessor``, as the Runner does)
    and load the checkpoint's weights.

    Every backbone and neck weight must be in the checkpoint, with its shape; other missing
    or extra entries (a head or queue the embedding does not use) are logged, as
    ``tools/test.py`` does.
    """
    model = MODELS.build(runner_model_config(cfg))
    ckpt = safe_torch_load(checkpoint, map_location='cpu')
    try:
        state = checkpoint_state(ckpt, ema)
    except CheckpointError as e:
        raise CheckpointError(f'{checkpoint}: {e}') from None
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as e:  # torch: a weight of another shape
        raise CheckpointError(f'{checkpoint}: does not fit {type(model).__name__}: '
                              f'{" ".join(str(e).split())[:300]}') from None
    needed = [k for k in missing if k.startswith(EMBEDDING_MODULES)]
    if needed:
        raise CheckpointError(f'{checkpoint}: {len(needed)} weight(s) of the embedding are '
                              f'missing, e.g. {key_listing(needed)}; a checkpoint of another '
                              'model?')
    if missing or unexpected:
        print_log(
            f'{checkpoint}: missing {key_listing(missing) or "nothing"}; unexpected '
            f'{key_listing(unexpected) or "nothing"} (not used by the embedding)',
            logger='current',
            level=logging.WARNING)
    return model.to(device).eval()


def select_indices(labels: np.ndarray, num_classes: int, max_samples: int, seed: int) -> np.ndarray:
    """Sorted indices of the samples of classes ``[0, num_classes)``; a random
    ``max_samples`` of them, drawn with ``seed``, when there are more.

    Args:
        labels: (N,) ground truth of the dataset.
    """
    idx = np.flatnonzero((labels >= 0) & (labels < num_classes))
    if len(idx) > max_samples:
        idx = np.sort(np.random.default_rng(seed).choice(idx, max_samples, replace=False))
    return idx


def feature_fn(model: BaseModel, feature: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """Normalised images (N, 3, H, W) -> features (N, C) of the ``feature`` kind."""
    if feature == 'backbone':
        return model.extract_feat
    if getattr(model, 'neck', None) is None or not hasattr(model, 'embed'):
        raise ConfigError(f'--feature neck: {type(model).__name__} has no neck embedding; '
                          'use --feature backbone')
    return lambda inputs: model.embed(inputs)[0]


def extract(model: BaseModel, embed: Callable[[torch.Tensor], torch.Tensor], loader: DataLoader,
            size: int) -> Tuple[np.ndarray, np.ndarray]:
    """Features (N, C) from ``embed`` and labels (N,) of the ``size`` samples of
    ``loader``, by sample index."""
    rows = embed_dataset(
        model.data_preprocessor, loader, lambda data: dict(
            feat=embed(data['inputs']).float(), gt_label=data['data_samples']['gt_label']),
        size)
    return rows['feat'].cpu().numpy(), rows['gt_label'].cpu().numpy()


def class_colors(num_classes: int) -> List[tuple]:
    """One RGBA colour per class: tab10/tab20 up to 20 classes, then samples of turbo."""
    if num_classes <= 20:
        return list(colormaps['tab10' if num_classes <= 10 else 'tab20'].colors[:num_classes])
    return [tuple(c) for c in colormaps['turbo'](np.linspace(0, 1, num_classes))]


def plot_embedding(points: np.ndarray, labels: np.ndarray, class_names: Sequence[str], title: str,
                   out: str) -> None:
    """Scatter a 2-D map, one colour and legend entry per class present, into a PNG.

    Args:
        points: (N, 2) t-SNE coordinates.
        labels: (N,) class indices into ``class_names``.
    """
    fig = Figure(figsize=(8, 6.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for c, (name, color) in enumerate(zip(class_names, class_colors(len(class_names)))):
        mask = labels == c
        if mask.any():
            ax.scatter(points[mask, 0], points[mask, 1], s=8, color=color, label=name)
    ax.set_xlabel('t-SNE 1')
    ax.set_ylabel('t-SNE 2')
    ax.set_title(title)
    ax.legend(
        title='class',
        loc='center left',
        bbox_to_anchor=(1.01, 0.5),
        markerscale=2,
        fontsize='small')
    if osp.dirname(out):
        os.makedirs(osp.dirname(out), exist_ok=True)
    fig.savefig(out, format='png', dpi=150, bbox_inches='tight')


def tsne(args: argparse.Namespace) -> str:
    """Embed, map and plot as ``args`` asks; returns a one-line summary."""
    cfg = load_config(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    model = load_model(cfg, args.checkpoint, args.ema, args.device)
    embed = feature_fn(model, args.feature)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    labels = dataset.get_gt_labels()
    indices = select_indices(labels, args.classes, args.max_samples, args.seed)
    if len(indices) < 2:
        raise DataError(f'the test set has {len(indices)} sample(s) of the first '
                        f'{args.classes} classes; t-SNE needs at least 2')
    dataset.get_subset_(indices.tolist())
    loader = Runner.build_dataloader(dict(cfg.test_dataloader, dataset=dataset))
    feats, labels = extract(model, embed, loader, len(dataset))
    perplexity = min(args.perplexity, len(feats) - 1)
    points = TSNE(perplexity=perplexity, init='pca', random_state=args.seed).fit_transform(feats)
    classes = dataset.metainfo.get('classes')
    names = list(classes[:args.classes]) if classes else [str(c) for c in range(args.classes)]
    title = (f't-SNE of {args.feature} features, {"EMA" if args.ema else "trained"} weights '
             f'({len(feats)} samples)\n{osp.basename(args.config)}')
    plot_embedding(points, labels, names, title, args.out)
    return (f'{args.out}: t-SNE of {len(feats)} {args.feature} features ({feats.shape[1]}-d) '
            f'of {len(np.unique(labels))} classes, perplexity {perplexity:g}')


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=True)
    with exit_on_user_error('tsne.py'):
        print(tsne(args))


if __name__ == '__main__':
    main()
