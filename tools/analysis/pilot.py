"""Pilot run of an SsCL recipe before its full run.

    python tools/analysis/pilot.py CONFIG [--subset N] [--refreshes K] [--world-size W] \\
        [--work-dir DIR] [--cfg-options key=value ...]

Trains CONFIG with mmengine's Runner in one process (the GPU when one is visible, else the
CPU) on at most N randomly drawn images of each training set (labeled, unlabeled), through
the first K co-calibration refreshes (the first one runs before iteration 0, the next ones
at the recipe's interval, counted on the subset), without validation or checkpoints, and
prints what decides whether the full run is worth starting: at each refresh the mean
pairwise cosine of the labeled embeddings (``refresh_embed_mean_cos``), the offline
table's, the nearest prototype's and the overlap of their correct sets' accuracies on the
unlabeled images, and, over the steps before it, ``key_mean_cos`` (1 = collapsed) and the
pseudo-label mask rate; then the step time and the estimated time of the full run on W
processes like this one: the full run's iterations x the median step time, plus its
refreshes, each the pilot's refresh time scaled by the number of images embedded.
Validation and checkpoints are not in the estimate.
"""
import argparse
import math
import os.path as osp
import platform
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from sscl.registry import DATASETS
from sscl.utils import ConfigError, register_all_modules
from sscl.utils.cli import (check_semi_batch, check_top_level_keys, exit_on_user_error, load_config,
                            merge_overrides)

REFRESH_FIGURES = ('embed_mean_cos', 'pl_acc', 'proto_acc', 'overlap')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Pilot run of an SsCL recipe')
    parser.add_argument('config', help='training config of an SsCL recipe')
    parser.add_argument('--subset', type=int, default=2048,
                        help='at most this many images of each training set (default 2048)')
    parser.add_argument('--refreshes', type=int, default=3,
                        help='co-calibration refreshes to run through, the first before '
                        'iteration 0 (default 3)')
    parser.add_argument('--world-size', type=int, default=1,
                        help='processes of the full run the estimate is for (default 1)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the subset draw')
    parser.add_argument('--work-dir', help='default: work_dirs/pilot/<config name>')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value pairs')
    args = parser.parse_args(argv)
    for name in ('subset', 'refreshes', 'world_size'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    return args


def refresh_hook(cfg: Config) -> dict:
    """The recipe's ``CoCalibrationHook`` config."""
    hooks = [h for h in cfg.get('custom_hooks') or [] if h.get('type') == 'CoCalibrationHook']
    if len(hooks) != 1:
        raise ConfigError(f'{cfg.filename}: a pilot needs a recipe with one CoCalibrationHook '
                          f'in custom_hooks (SsCL), found {len(hooks)}')
    return hooks[0]


def embedded_images(labeled: int, unlabeled: int, hook: dict, first: bool) -> int:
    """Images one refresh embeds: both sets (or neither when it reuses the steps' records,
    ``source='steps'``, after the first) and the mixture's one pair per labeled image."""
    full = first or hook.get('source', 'offline') == 'offline'
    return (labeled + unlabeled if full else 0) + (labeled if hook.get('mixture', True) else 0)


def full_run(cfg: Config, hook: dict, sizes: Dict[str, int], world_size: int) -> dict:
    """Iterations and refreshes of the full run on ``world_size`` processes
    (``SemiSupervisedSampler``: an epoch is ``N_u // (W x μB)`` steps)."""
    mu_b = cfg.train_dataloader.sampler.unlabeled_batch_size
    per_epoch = sizes['unlabeled'] // (world_size * mu_b)
    epochs = cfg.train_cfg.max_epochs
    iters = epochs * per_epoch
    span = epochs if hook.get('by_epoch', True) else iters
    return dict(epochs=epochs, per_epoch=per_epoch, iters=iters,
                refreshes=1 + (span - 1) // hook.get('interval', 5))


def pilot_config(cfg: Config, args: argparse.Namespace, hook: dict,
                 sizes: Dict[str, int]) -> dict:
    """Shrink ``cfg`` in place to the pilot: subsets, epochs, no validation nor checkpoints.
    Returns the subset's sizes, its iterations per epoch and the pilot's epochs."""
    rng = np.random.default_rng(args.seed)
    semi = cfg.train_dataloader.dataset
    subset = {}
    for name, size in sizes.items():
        subset[name] = min(size, args.subset)
        if size > args.subset:
            semi[name].indices = sorted(rng.choice(size, args.subset, replace=False).tolist())
    mu_b = cfg.train_dataloader.sampler.unlabeled_batch_size
    per_epoch = subset['unlabeled'] // mu_b
    if per_epoch == 0:
        raise ConfigError(f'--subset {args.subset}: fewer unlabeled images than one batch '
                          f'(train_dataloader.sampler.unlabeled_batch_size={mu_b})')
    interval = hook.get('interval', 5)
    if hook.get('by_epoch', True):
        epochs = (args.refreshes - 1) * interval + 1
    else:
        epochs = math.ceil(((args.refreshes - 1) * interval + 1) / per_epoch)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = None
    for h in cfg.get('custom_hooks') or []:  # the pilot shows a collapse in its table
        if h.get('type') == 'CollapseGuardHook':
            h['mode'] = 'warn'
    cfg.work_dir = args.work_dir or osp.join(
        'work_dirs', 'pilot', osp.splitext(osp.basename(args.config))[0])
    return dict(subset=subset, per_epoch=per_epoch, epochs=epochs)


def history(runner: Runner, name: str) -> np.ndarray:
    """Every value the run logged as ``train/<name>`` (empty if none)."""
    buffer = runner.message_hub.log_scalars.get(f'train/{name}')
    return np.zeros(0) if buffer is None else buffer.data[0]


def refresh_rows(runner: Runner, hook: dict, per_epoch: int, iters: int) -> List[dict]:
    """One row per refresh and one for the end of the pilot: the refresh's figures, and
    ``key_mean_cos`` at the last step before the row and the mean mask rate of the steps
    since the previous row."""
    interval = hook.get('interval', 5) * (per_epoch if hook.get('by_epoch', True) else 1)
    refresh = {k: history(runner, f'refresh_{k}') for k in REFRESH_FIGURES + ('time', )}
    key, mask = history(runner, 'key_mean_cos'), history(runner, 'pl_mask_rate')
    afters = [i * interval for i in range(len(refresh['time']))] + [iters]
    rows = []
    for i, after in enumerate(afters):
        before = afters[i - 1] if i else 0
        row = {k: float(v[i]) for k, v in refresh.items() if i < len(v)}
        row.update(
            after=after,
            key_mean_cos=float(key[after - 1]) if 0 < after <= len(key) else None,
            mask_rate=float(mask[before:after].mean()) if after > before and len(mask) else None)
        rows.append(row)
    return rows


def estimate(full: dict, step: float, refresh_times: Sequence[float], hook: dict,
             sizes: Dict[str, int], subset: Dict[str, int], world_size: int) -> float:
    """Seconds of the full run: its steps at ``step`` s each, its first refresh at the
    pilot's first and the others at the mean of the pilot's later ones, each scaled by
    full / pilot embedded images and shared by ``world_size`` processes."""
    ratios = [
        embedded_images(sizes['labeled'], sizes['unlabeled'], hook, first) /
        max(1, embedded_images(subset['labeled'], subset['unlabeled'], hook, first))
        for first in (True, False)
    ]
    later = np.mean(refresh_times[1:]) if len(refresh_times) > 1 else refresh_times[0]
    refreshes = refresh_times[0] * ratios[0] + (full['refreshes'] - 1) * later * ratios[1]
    return full['iters'] * step + refreshes / world_size


def fmt(value: Optional[float], digits: int = 4) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def report(args, rows: List[dict], step: float, steps: int, full: dict, seconds: float,
           sizes: Dict[str, int], subset: Dict[str, int]) -> str:
    threads = torch.get_num_threads()
    device = (torch.cuda.get_device_name() if torch.cuda.is_available() else
              f'CPU ({platform.processor() or platform.machine()}, {threads} '
              f'thread{"s" * (threads > 1)})')
    lines = [
        f'Pilot of {args.config} on {device}, torch {torch.__version__}: '
        f'{subset["labeled"]} of {sizes["labeled"]} labeled and {subset["unlabeled"]} of '
        f'{sizes["unlabeled"]} unlabeled images, {len(rows) - 1} refreshes, '
        f'{rows[-1]["after"]} iterations', '',
        '| refresh | after iteration | refresh_embed_mean_cos | table acc | prototype acc '
        '| overlap | refresh s | key_mean_cos | mask rate |', '|' + '---|' * 9
    ]
    for i, r in enumerate(rows):
        name = str(i + 1) if i < len(rows) - 1 else 'end'
        lines.append(
            f'| {name} | {r["after"]} | {fmt(r.get("embed_mean_cos"))} | '
            f'{fmt(r.get("pl_acc"), 1)} | {fmt(r.get("proto_acc"), 1)} | '
            f'{fmt(r.get("overlap"), 1)} | {fmt(r.get("time"), 2)} | '
            f'{fmt(r["key_mean_cos"])} | {fmt(r["mask_rate"], 3)} |')
    lines += [
        '', '(accuracies in % of the unlabeled images; key_mean_cos at the last step before '
        'the row, mask rate over the steps since the previous row)',
        f'step time: {step:.3f} s/iter (median of {steps} steps)',
        f'full run on {args.world_size} process(es): {full["epochs"]} epochs x '
        f'{full["per_epoch"]} iterations = {full["iters"]} iterations, '
        f'{full["refreshes"]} refreshes',
        f'estimated time of the full run: {seconds / 3600:.2f} h ({seconds:.0f} s; '
        'validation and checkpoints not included)'
    ]
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> str:
    args = parse_args(argv)
    register_all_modules()
    with exit_on_user_error('pilot.py'):
        cfg = load_config(args.config)
        merge_overrides(cfg, args.cfg_options, args.config)
        check_top_level_keys(cfg, args.config)
        check_semi_batch(cfg)
        hook = refresh_hook(cfg)
        semi = DATASETS.build(cfg.train_dataloader.dataset)
        sizes = dict(labeled=len(semi.labeled), unlabeled=len(semi.unlabeled))
        full = full_run(cfg, hook, sizes, args.world_size)
        pilot = pilot_config(cfg, args, hook, sizes)
        runner = Runner.from_cfg(cfg)
        runner.train()
    iters = pilot['epochs'] * pilot['per_epoch']
    rows = refresh_rows(runner, hook, pilot['per_epoch'], iters)
    times = history(runner, 'time')[1:]  # the first step also warms up
    step = float(np.median(times))
    seconds = estimate(full, step, list(history(runner, 'refresh_time')), hook, sizes,
                       pilot['subset'], args.world_size)
    text = report(args, rows, step, len(times), full, seconds, sizes, pilot['subset'])
    print(text, flush=True)
    return text


if __name__ == '__main__':
    main()
