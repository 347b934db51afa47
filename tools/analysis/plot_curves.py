"""Plot the training curves of a run from mmengine's ``vis_data/scalars.json``.

    python tools/analysis/plot_curves.py WORK_DIR --out curves.png [--keys loss loss_sup ...]

WORK_DIR is a work dir (the ``<timestamp>/vis_data/scalars.json`` of all its runs, joined:
a resumed run continues the curves), a ``<timestamp>`` dir, or a ``scalars.json`` itself.
One PNG holds up to three panels: the losses (or ``--keys``) per iteration; the pseudo-label
accuracy and mask rate per iteration; the validation metrics. Validation lines of
epoch-based runs carry the epoch as ``step``: they are placed at the epoch's last iteration
when the training lines pin down the epoch length, else the panel is drawn against epochs.
"""
import argparse
import json
import os
import os.path as osp
import sys
from glob import escape, glob
from typing import Dict, List, Optional, Sequence, Tuple

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

PL_KEYS = ('pl_acc', 'pl_mask_rate')
# Keys of a validation line that are not metrics.
VAL_SKIP = ('step', 'time', 'data_time')


class LogError(Exception):
    """A missing or unreadable log, reported as one line."""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Plot losses, pseudo-label statistics and validation accuracy of a run')
    parser.add_argument(
        'work_dir', help='work dir (newest run), <timestamp> dir or a scalars.json file')
    parser.add_argument('--out', required=True, help='output PNG file')
    parser.add_argument(
        '--keys', nargs='+', help='training scalars of the first panel (default: every loss*)')
    return parser.parse_args()


def find_scalars(path: str) -> List[str]:
    """``[path]`` if it is a file or a run dir, else the ``vis_data/scalars.json`` of every run
    in the work dir, oldest first (mmengine names run dirs by their start time): a resumed
    training is the sequence of its runs."""
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise LogError(f'no such file or directory: {path}')
    own = osp.join(path, 'vis_data', 'scalars.json')
    if osp.isfile(own):
        return [own]
    runs = sorted(glob(osp.join(escape(path), '*', 'vis_data', 'scalars.json')))
    if not runs:
        raise LogError(f'no <timestamp>/vis_data/scalars.json in {path}')
    return runs


def read_runs(paths: Sequence[str]) -> Tuple[List[dict], List[dict]]:
    """Training and validation lines of consecutive runs; where a resumed run logs an
    iteration (or validation step) again, its line replaces the earlier one."""
    train: Dict[int, dict] = {}
    val: Dict[object, dict] = {}
    for path in paths:
        run_train, run_val = read_scalars(path)
        train.update((r['iter'], r) for r in run_train)
        val.update((r.get('step', len(val)), r) for r in run_val)
    return [train[k] for k in sorted(train)], list(val.values())


def read_scalars(path: str) -> Tuple[List[dict], List[dict]]:
    """Training lines (those with ``iter``) and the other lines (validation) of a
    scalars.json, in file order."""
    train, val = [], []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise LogError(f'{path}:{lineno}: not a JSON line ({e.msg})') from None
            if not isinstance(record, dict):
                raise LogError(f'{path}:{lineno}: a {type(record).__name__}, not a JSON object')
            (train if 'iter' in record else val).append(record)
    return train, val


def series(records: Sequence[dict], key: str, x: str) -> Tuple[List[float], List[float]]:
    """``(xs, ys)`` of the records that hold both ``x`` and ``key``."""
    points = [(r[x], r[key]) for r in records if key in r and x in r]
    return [p[0] for p in points], [p[1] for p in points]


def ordered_keys(records: Sequence[dict]) -> List[str]:
    """Every key of ``records``, in order of first appearance."""
    return list(dict.fromkeys(k for r in records for k in r))


def iters_per_epoch(train: Sequence[dict]) -> Optional[int]:
    """The smallest epoch length L with ``(epoch - 1) * L < iter <= epoch * L`` for every
    training line, or None when the lines have no epoch or no L fits them all."""
    pairs = [(r['iter'], r['epoch']) for r in train if 'epoch' in r]
    if not pairs:
        return None
    low = max(-(-it // ep) for it, ep in pairs)
    high = min(((it - 1) // (ep - 1) for it, ep in pairs if ep > 1), default=low)
    return low if low <= high else None


def val_axis(train: Sequence[dict]) -> Tuple[int, str]:
    """``(factor, label)``: a validation line's x is ``step * factor`` on a ``label`` axis.

    Epoch-based runs log the epoch as ``step`` (converted to its last iteration when the
    epoch length is known); iteration-based runs (no ``epoch`` in their lines) the
    iteration.
    """
    if not train:
        return 1, 'step'
    if not any('epoch' in r for r in train):
        return 1, 'iteration'
    length = iters_per_epoch(train)
    return (length, 'iteration') if length else (1, 'epoch')


def panels(train: Sequence[dict], val: Sequence[dict], keys: Optional[Sequence[str]]) -> List[Dict]:
    """The panels to draw: ``dict(title, xlabel, ylabel, lines=[(label, xs, ys)])``."""
    train_keys = ordered_keys(train)
    if keys:
        unknown = [k for k in keys if k not in train_keys]
        if unknown:
            raise LogError(f'--keys {unknown} not in the training lines (they hold '
                           f'{", ".join(train_keys)})')
    else:
        keys = [k for k in train_keys if k.startswith('loss')]
    out = []
    if keys:
        only_losses = all(k.startswith('loss') for k in keys)
        out.append(
            dict(
                title='training losses' if only_losses else 'training scalars',
                xlabel='iteration',
                ylabel='value',
                lines=[(k, *series(train, k, 'iter')) for k in keys]))
    pl_keys = [k for k in PL_KEYS if k in train_keys]
    if pl_keys:
        out.append(
            dict(
                title='pseudo labels (unlabeled batch)',
                xlabel='iteration',
                ylabel='fraction',
                lines=[(k, *series(train, k, 'iter')) for k in pl_keys]))
    metrics = [k for k in ordered_keys(val) if k not in VAL_SKIP]
    if metrics:
        factor, xlabel = val_axis(train)
        lines = []
        for k in metrics:
            steps, ys = series(val, k, 'step')
            lines.append((k, [s * factor for s in steps], ys))
        ylabel = 'accuracy (%)' if all(k.startswith('accuracy') for k in metrics) else 'metric'
        out.append(dict(title='validation', xlabel=xlabel, ylabel=ylabel, lines=lines))
    return out


def plot(panel_list: Sequence[Dict], title: str, out: str) -> None:
    """One subplot per panel, stacked, saved as a PNG."""
    fig = Figure(figsize=(8, 3.2 * len(panel_list)))
    FigureCanvasAgg(fig)
    for ax, panel in zip(fig.subplots(len(panel_list), 1, squeeze=False)[:, 0], panel_list):
        for label, xs, ys in panel['lines']:
            ax.plot(xs, ys, label=label, marker='.' if len(xs) < 50 else None)
        ax.set_title(panel['title'])
        ax.set_xlabel(panel['xlabel'])
        ax.set_ylabel(panel['ylabel'])
        ax.grid(alpha=0.3)
        ax.legend(fontsize='small')
    fig.suptitle(title)
    fig.tight_layout()
    if osp.dirname(out):
        os.makedirs(osp.dirname(out), exist_ok=True)
    fig.savefig(out, format='png', dpi=120)


def plot_curves(work_dir: str, out: str, keys: Optional[Sequence[str]] = None) -> str:
    """Plot the curves of a run (all its resumed parts) into ``out``; returns a one-line
    summary."""
    paths = find_scalars(work_dir)
    train, val = read_runs(paths)
    source = paths[-1] if len(paths) == 1 else f'{len(paths)} runs in {work_dir}'
    panel_list = panels(train, val, keys)
    if not panel_list:
        raise LogError(f'{source}: no loss, pseudo-label or validation scalars to plot')
    plot(panel_list, source, out)
    names = ', '.join(p['title'] for p in panel_list)
    return f'{out}: {names} from {source} ({len(train)} training, {len(val)} validation lines)'


def main() -> None:
    args = parse_args()
    try:
        print(plot_curves(args.work_dir, args.out, args.keys))
    except LogError as e:
        sys.exit(f'plot_curves.py: error: {e}')


if __name__ == '__main__':
    main()
