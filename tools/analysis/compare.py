"""Train configs (or variants of one) over several seeds and compare their final accuracy.

    python tools/analysis/compare.py CONFIG[:key=value,...] ... --seeds 0 1 2 3 4 \\
        --work-dir DIR [--cfg-options key=value ...] [--repeats 1] [--jobs 2] [--threads 1]

Every entry is trained with every seed by ``tools/train.py`` on the same budget. A seed is
both the run's seed (``randomness.seed``) and the labeled fold
(``train_dataloader.dataset.labeled.split_seed``), so seeds are folds as in the paper's
5-fold tables; the tool checks in each run's log that the dataset drew that fold. The
figure compared is the top-1 of the **final** checkpoint's EMA weights on the test set (no
selection of the best epoch), evaluated by ``tools/test.py`` with the config's own
test evaluator; where the model has a neck this adds the embedding's mean pairwise cosine
and intra-class similarity. The pseudo-label accuracy and mask rate are the means over the
last logged training window.

``--repeats R`` trains every (entry, fold) R times with other run seeds (fold + 1000 r for
repeat r; repeat 0 is the plain run), because on the CPU the same fold moves by several points
between runs that differ only in rounding. A fold's figure is then the mean of its R runs, the
paired statistics are over folds, and a third table gives each run's top-1 with the spread
within a fold.

``--jobs N`` trains N runs at a time; where GPUs are visible, each running job has its own,
handed out round-robin (``CUDA_VISIBLE_DEVICES`` of its train.py and test.py), so N above the
GPU count shares them.

Runs finished in DIR are read back, not trained again, and an unfinished run resumes from
its last checkpoint, so an interrupted comparison continues where it stopped; a failed run
is reported and the table still prints.
``DIR/summary.json`` holds every per-seed figure by entry, ``DIR/summary.png`` plots them.
"""
import argparse
import json
import math
import os
import os.path as osp
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from queue import Queue
from glob import glob
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import stats

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FOLD_KEY = 'train_dataloader.dataset.labeled.split_seed'
# figure name -> key in tools/test.py's metrics
TEST_METRICS = {
    'top1': 'accuracy/top1',
    'mean_cos': 'intra_class/mean_cosine',
    'intra_class': 'intra_class/similarity',
}
# figure name -> key of the last training record holding it in vis_data/scalars.json:
# the confident pseudo labels' accuracy and the mask rate of the last logged window, and
# the accuracy of the offline pseudo-label table at the last co-calibration refresh.
TRAIN_METRICS = {
    'pl_acc': 'pl_acc',
    'pl_mask_rate': 'pl_mask_rate',
    'table_acc': 'refresh_pl_acc'
}


def parse_entry(entry: str) -> Tuple[str, List[str]]:
    """``CONFIG[:key=value,...]`` -> (config, ['key=value', ...])."""
    config, _, overrides = entry.partition(':')
    options = [o for o in overrides.split(',') if o] if overrides else []
    for option in options:
        if '=' not in option:
            raise SystemExit(f'compare.py: error: override "{option}" of entry "{entry}" '
                             'is not key=value')
    if not osp.isfile(osp.join(ROOT, config)) and not osp.isfile(config):
        raise SystemExit(f'compare.py: error: config "{config}" of entry "{entry}" not found')
    return config, options


def entry_slug(entry: str) -> str:
    """A folder name for an entry: the config's stem plus its overrides."""
    config, options = parse_entry(entry)
    stem = osp.splitext(osp.basename(config))[0]
    method = osp.basename(osp.dirname(config))
    slug = '_'.join([method, stem] + options)
    return re.sub(r'[^A-Za-z0-9._=-]+', '-', slug)


def last_logged(work_dir: str) -> Dict[str, float]:
    """The last logged value of every :data:`TRAIN_METRICS` key the run wrote."""
    # one timestamped folder per attempt of the run, oldest first
    files = sorted(glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    last: Dict[str, float] = {}
    for file in files:
        for line in open(file):
            record = json.loads(line)
            last.update({n: record[k] for n, k in TRAIN_METRICS.items() if k in record})
    return last


def has_labeled_split(config: str) -> bool:
    """Whether the config's training set has a labeled split whose fold a seed selects."""
    from mmengine import Config
    cfg = Config.fromfile(osp.join(ROOT, config) if not osp.isfile(config) else config)
    dataset = cfg.train_dataloader.dataset
    return 'labeled' in dataset and 'num_per_class' in dataset.labeled


def check_fold(log_file: str, seed: int) -> None:
    """The run's log must show the labeled draw of fold ``seed`` (and no other)."""
    with open(log_file) as f:
        text = f.read()
    drawn = re.findall(r'labeled split \(\d+ per class, seed (\d+)\)', text)
    if not drawn:
        raise RuntimeError(f'the log shows no labeled draw, so fold {seed} is unchecked '
                           f'({log_file})')
    if any(int(s) != seed for s in drawn):
        raise RuntimeError(f'the dataset drew fold {drawn}, not {seed} ({log_file})')


def run_seed(seed: int, repeat: int) -> int:
    """The run seed of repeat ``repeat`` of fold ``seed`` (repeat 0: the fold itself)."""
    return seed + 1000 * repeat


def run_name(seed: int, repeat: int) -> str:
    """The run's folder: ``seed_S`` for repeat 0, ``seed_S_repeat_R`` after it."""
    return f'seed_{seed}' if repeat == 0 else f'seed_{seed}_repeat_{repeat}'


def visible_gpus() -> List[str]:
    """The GPUs this process may use, as ``CUDA_VISIBLE_DEVICES`` entries for its children."""
    visible = os.environ.get('CUDA_VISIBLE_DEVICES')
    if visible is not None:
        return [d.strip() for d in visible.split(',') if d.strip()]
    import torch
    return [str(i) for i in range(torch.cuda.device_count())]


def run_one(config: str, options: Sequence[str], seed: int, run_dir: str,
            cfg_options: Sequence[str], threads: int, repeat: int = 0,
            device: Optional[str] = None) -> dict:
    """Train and test repeat ``repeat`` of one (entry, fold ``seed``), on GPU ``device``
    where given; returns its figures (read back if done)."""
    result_file = osp.join(run_dir, 'result.json')
    if osp.isfile(result_file):
        with open(result_file) as f:
            return json.load(f)
    os.makedirs(run_dir, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    if device is not None:
        env['CUDA_VISIBLE_DEVICES'] = device
    fold = [f'{FOLD_KEY}={seed}'] if has_labeled_split(config) else []
    options = [f'randomness.seed={run_seed(seed, repeat)}', *fold, *cfg_options, *options]
    train_log = osp.join(run_dir, 'train.log')
    # an interrupted run continues from its last checkpoint (resume is exact)
    resumed_from = None
    if osp.isfile(osp.join(run_dir, 'last_checkpoint')):
        with open(osp.join(run_dir, 'last_checkpoint')) as f:
            resumed_from = f.read().strip()
    start = time.time()
    with open(train_log, 'a' if resumed_from else 'w') as log:
        cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config,
               '--work-dir', run_dir, *(['--resume'] if resumed_from else []),
               '--cfg-options', *options]
        log.write(' '.join(cmd) + '\n')
        log.flush()
        done = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    minutes = (time.time() - start) / 60
    if done.returncode != 0:
        return dict(error=f'training failed (exit {done.returncode}); see {train_log}')
    if fold:
        check_fold(train_log, seed)
    with open(osp.join(run_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    metrics_file = osp.join(run_dir, 'test_metrics.json')
    with open(osp.join(run_dir, 'test.log'), 'w') as log:
        cmd = [sys.executable, osp.join(ROOT, 'tools', 'test.py'), config, checkpoint,
               '--weights', 'ema', '--work-dir', osp.join(run_dir, 'test'),
               '--out', metrics_file, '--cfg-options', *options]
        done = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    if done.returncode != 0:
        return dict(error=f'testing failed (exit {done.returncode}); see {run_dir}/test.log')
    with open(metrics_file) as f:
        metrics = json.load(f)
    result = {name: metrics[key] for name, key in TEST_METRICS.items() if key in metrics}
    result.update(last_logged(run_dir))
    result.update(minutes=minutes, checkpoint=checkpoint)
    if resumed_from:
        result.update(resumed_from=resumed_from)
    with open(result_file, 'w') as f:
        json.dump(result, f, indent=1)
    return result


def fold_means(runs: Dict[Tuple[int, int], dict]) -> Dict[int, dict]:
    """Per fold, the mean of every figure over its finished repeats (``runs`` keyed by
    (seed, repeat)); a fold with one run is that run, a fold without a finished run its
    first error."""
    folds: Dict[int, dict] = {}
    for seed in sorted({s for s, _ in runs}):
        mine = [r for (s, _), r in sorted(runs.items()) if s == seed]
        ok = [r for r in mine if 'error' not in r]
        if len(mine) == 1 or not ok:  # the run itself, or the first error
            folds[seed] = mine[0]
            continue
        fold = {}
        for name in [*TEST_METRICS, *TRAIN_METRICS]:
            values = [r[name] for r in ok if name in r]
            if values:
                fold[name] = float(np.mean(values))
        fresh = [r['minutes'] for r in ok if 'resumed_from' not in r]
        fold.update(minutes=float(np.mean(fresh)) if fresh else ok[0]['minutes'],
                    top1_runs=[r['top1'] for r in ok if 'top1' in r], runs=len(mine))
        if not fresh:
            fold.update(resumed_from=ok[0]['resumed_from'])
        folds[seed] = fold
    return folds


def describe(values: Sequence[float]) -> str:
    """``mean ± std [min, max]`` (sample std; blank without values)."""
    if not values:
        return '—'
    v = np.asarray(values, dtype=float)
    std = v.std(ddof=1) if len(v) > 1 else 0.0
    return f'{v.mean():.2f} ± {std:.2f} [{v.min():.2f}, {v.max():.2f}]'


def paired(base: Dict[int, dict], other: Dict[int, dict]) -> Optional[dict]:
    """Per-seed top-1 difference other − base over the seeds both finished."""
    seeds = sorted(s for s in base if s in other and 'top1' in base[s] and 'top1' in other[s])
    if not seeds:
        return None
    diff = np.array([other[s]['top1'] - base[s]['top1'] for s in seeds])
    p = None
    if len(seeds) > 1:
        p = float(stats.ttest_rel([other[s]['top1'] for s in seeds],
                                  [base[s]['top1'] for s in seeds]).pvalue)
    return dict(seeds=seeds, diff=diff.tolist(), mean=float(diff.mean()),
                std=float(diff.std(ddof=1)) if len(seeds) > 1 else 0.0,
                p=None if p is None or math.isnan(p) else p, ahead=int((diff > 0).sum()))


def table(entries: List[str], results: Dict[str, Dict[int, dict]]) -> str:
    """The markdown tables of the comparison (``results``: per entry, per fold)."""
    repeats = max((r.get('runs', 1) for e in entries for r in results[e].values()),
                  default=1)
    over = (f'seeds (a seed\'s figure is the mean of its {repeats} runs)' if repeats > 1 else
            'seeds')
    lines = ['Final checkpoint, EMA weights, test set (no best-epoch selection); '
             f'mean ± std [min, max] over {over}. mean cos / intra-class: the test embeddings\' '
             'mean cosine over all pairs / over same-class pairs; conf. PL acc and mask rate: '
             'the confident pseudo labels of the last logged window; table PL acc: the '
             'offline pseudo-label table at the last co-calibration refresh; min/run: runs '
             'not resumed.', '',
             '| entry | seeds | top-1 (%) | mean cos | intra-class | conf. PL acc (%) '
             '| mask rate (%) | table PL acc (%) | min/run |',
             '|---|---|---|---|---|---|---|---|---|']
    for entry in entries:
        ok = {s: r for s, r in results[entry].items() if 'error' not in r}

        def col(name: str, scale: float = 1.0) -> str:
            return describe([r[name] * scale for r in ok.values() if name in r])

        # a resumed run's minutes cover only its last attempt
        minutes = describe([r['minutes'] for r in ok.values() if 'resumed_from' not in r])

        lines.append(f'| {entry} | {len(ok)}/{len(results[entry])} | {col("top1")} | '
                     f'{col("mean_cos")} | {col("intra_class")} | {col("pl_acc", 100)} | '
                     f'{col("pl_mask_rate", 100)} | {col("table_acc")} | {minutes} |')
    if len(entries) == 1:
        return '\n'.join(lines)
    base = entries[0]
    lines += ['', f'Paired top-1 difference against `{base}`, per seed:', '',
              '| entry | per-seed difference | mean ± std | paired t-test p | ahead |',
              '|---|---|---|---|---|']
    for entry in entries[1:]:
        pair = paired(results[base], results[entry])
        if pair is None:
            lines.append(f'| {entry} | — | — | — | — |')
            continue
        per_seed = ', '.join(f'{s}: {d:+.2f}' for s, d in zip(pair['seeds'], pair['diff']))
        p = f'{pair["p"]:.3g}' if pair['p'] is not None else '—'
        lines.append(f'| {entry} | {per_seed} | {pair["mean"]:+.2f} ± {pair["std"]:.2f} | '
                     f'{p} | {pair["ahead"]}/{len(pair["seeds"])} |')
    if repeats > 1:
        lines += ['', 'Top-1 of every run, per seed; within-seed std: the std of a seed\'s runs, '
                  'mean over seeds:', '', '| entry | runs per seed | within-seed std |',
                  '|---|---|---|']
        for entry in entries:
            folds = {s: r['top1_runs'] for s, r in results[entry].items() if 'top1_runs' in r}
            per_seed = '; '.join(f'{s}: ' + ', '.join(f'{v:.2f}' for v in runs)
                                 for s, runs in sorted(folds.items()))
            spread = [np.std(v, ddof=1) for v in folds.values() if len(v) > 1]
            lines.append(f'| {entry} | {per_seed or "—"} | '
                         f'{f"{np.mean(spread):.2f}" if spread else "—"} |')
    return '\n'.join(lines)


def plot(entries: List[str], results: Dict[str, Dict[int, dict]], out: str) -> None:
    """Per-seed top-1 points and the mean per entry."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(entries)), 4))
    labelled = False
    for i, entry in enumerate(entries):
        points = [(s, r['top1']) for s, r in sorted(results[entry].items()) if 'top1' in r]
        if not points:
            continue
        ys = np.array([y for _, y in points])
        xs = i + np.linspace(-0.15, 0.15, len(ys)) if len(ys) > 1 else np.array([i])
        ax.scatter(xs, ys, s=18, zorder=3, label=None if labelled else 'per seed')
        for (s, _), x, y in zip(points, xs, ys):
            ax.annotate(str(s), (x, y), fontsize=6, xytext=(3, 0), textcoords='offset points')
        ax.hlines(ys.mean(), i - 0.3, i + 0.3, colors='k', zorder=4,
                  label=None if labelled else 'mean')
        labelled = True
    ax.set_xticks(range(len(entries)))
    labels = [e.replace('configs/', '').replace('/', '/\n').replace(':', '\n').replace(',', '\n')
              for e in entries]
    ax.set_xticklabels(labels, fontsize=6)
    ax.set_ylabel('final top-1 of the EMA weights (%)')
    ax.set_title('per-seed final test accuracy')
    ax.grid(axis='y', alpha=0.3)
    if labelled:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=150)
    plt.close(fig)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train entries over seeds (= folds) and compare final EMA top-1')
    parser.add_argument('entries', nargs='+', help='CONFIG[:key=value,...]; the first is '
                        'the reference of the paired differences')
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--cfg-options', nargs='+', default=[], help='key=value for every run')
    parser.add_argument('--repeats', type=int, default=1,
                        help='runs per (entry, seed), with run seeds seed + 1000 r')
    parser.add_argument('--jobs', type=int, default=2,
                        help='runs at a time, each on its own GPU (round-robin) where GPUs '
                        'are visible')
    parser.add_argument('--threads', type=int, default=1, help='torch threads per run')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if args.repeats < 1:
        raise SystemExit(f'compare.py: error: --repeats {args.repeats} must be at least 1')
    entries = list(dict.fromkeys(args.entries))
    specs = {e: parse_entry(e) for e in entries}
    os.makedirs(args.work_dir, exist_ok=True)
    # every seed's first run before any repeat, so an interrupted comparison has whole folds
    jobs = [(e, s, r) for r in range(args.repeats) for s in args.seeds for e in entries]
    runs: Dict[str, Dict[Tuple[int, int], dict]] = {e: {} for e in entries}
    start = time.time()
    # one device slot per job that runs at a time; a job holds its slot while it runs
    gpus = visible_gpus()
    slots: Queue = Queue()
    for i in range(args.jobs):
        slots.put(gpus[i % len(gpus)] if gpus else None)

    def work(job: Tuple[str, int, int]) -> None:
        entry, seed, repeat = job
        run_dir = osp.join(args.work_dir, entry_slug(entry), run_name(seed, repeat))
        device = slots.get()
        try:
            result = run_one(*specs[entry], seed, run_dir, args.cfg_options, args.threads,
                             repeat, device=device)
        except Exception as e:  # one failed run must not lose the others' table
            result = dict(error=f'{type(e).__name__}: {e}')
        finally:
            slots.put(device)
        runs[entry][seed, repeat] = result
        done = sum(len(r) for r in runs.values())
        status = result.get('error') or f'top-1 {result.get("top1", float("nan")):.2f}'
        which = f'seed {seed}' + (f' repeat {repeat}' if repeat else '')
        print(f'[{done}/{len(jobs)}, {(time.time() - start) / 60:.1f} min] {entry} '
              f'{which}: {status}', flush=True)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(work, jobs))

    for entry in entries:
        for (seed, repeat), r in sorted(runs[entry].items()):
            if 'error' in r:
                print(f'FAILED {entry} {run_name(seed, repeat)}: {r["error"]}')
    results = {e: fold_means(runs[e]) for e in entries}
    summary = dict(
        command=' '.join([osp.relpath(__file__, ROOT)] + (argv or sys.argv[1:])),
        seeds=args.seeds,
        repeats=args.repeats,
        entries={e: {str(s): r for s, r in sorted(results[e].items())} for e in entries},
        runs={e: {run_name(s, r): v for (s, r), v in sorted(runs[e].items())}
              for e in entries},
        paired={e: paired(results[entries[0]], results[e]) for e in entries[1:]})
    with open(osp.join(args.work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    plot(entries, results, osp.join(args.work_dir, 'summary.png'))
    print(table(entries, results))
    print(f'\nwrote {args.work_dir}/summary.json and summary.png '
          f'({(time.time() - start) / 60:.1f} min)')


if __name__ == '__main__':
    main()
