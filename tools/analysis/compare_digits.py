"""Train SsCL and its baselines on the digits demo and print their accuracies.

    python tools/analysis/compare_digits.py [--work-dir work_dirs/compare_digits]

Each config is trained with ``tools/train.py`` in its own process on the same 40 labels and
budget; the table is read from the final validation scalars mmengine wrote (EMA weights).
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from glob import glob

CONFIGS = {
    'SsCL': 'configs/sscl/wrn28-2_digits_40labels.py',
    'FixMatch': 'configs/fixmatch/wrn28-2_digits_40labels.py',
    'MoCo v2 + CE': 'configs/mocov2/wrn28-2_digits_40labels.py',
    'Supervised (40 labels)': 'configs/supervised/wrn28-2_digits_40labels.py',
}
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Compare SsCL with baselines on digits')
    parser.add_argument('--work-dir', default='work_dirs/compare_digits')
    parser.add_argument('--methods', nargs='+', default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument(
        '--cfg-options', nargs='+', default=[], help='passed to every tools/train.py run')
    return parser.parse_args()


def last_val(work_dir: str) -> dict:
    """The last validation record in the newest ``vis_data/scalars.json``."""
    files = sorted(glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no scalars.json under {work_dir}')
    records = [json.loads(line) for line in open(files[-1])]
    vals = [r for r in records if 'accuracy/top1' in r]
    if not vals:
        raise RuntimeError(f'{files[-1]} holds no validation result')
    return vals[-1]


def main() -> None:
    args = parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    rows = []
    for name in args.methods:
        work_dir = osp.join(args.work_dir, name.split()[0].lower())
        cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), CONFIGS[name],
               '--work-dir', work_dir]
        if args.cfg_options:
            cmd += ['--cfg-options', *args.cfg_options]
        print(f'[{name}] {" ".join(cmd)}', flush=True)
        start = time.time()
        with open(f'{work_dir}.log', 'w') as log:
            result = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        if result.returncode != 0:
            sys.exit(f'[{name}] training failed; see {work_dir}.log')
        minutes = (time.time() - start) / 60
        rows.append((name, last_val(work_dir), minutes))

    print('\n| method | top-1 (%) | top-5 (%) | train minutes |')
    print('|---|---|---|---|')
    for name, val, minutes in rows:
        print(f'| {name} | {val["accuracy/top1"]:.2f} | {val["accuracy/top5"]:.2f} | '
              f'{minutes:.1f} |')


if __name__ == '__main__':
    main()
