"""tools/analysis/benchmark.py runs on the CPU and prints every figure it promises."""
import os.path as osp
import re
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def run(*args, config='configs/sscl/wrn28-2_digits_40labels.py'):
    result = subprocess.run(
        [sys.executable, 'tools/analysis/benchmark.py', config, '--device', 'cpu', *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def number(pattern, text):
    return float(re.search(pattern, text).group(1))


def test_step_figures():
    out = run('--only', 'step', '--iters', '1', '--warmup', '1', '--num-unlabeled', '1000',
              '--num-labeled', '40', '--cfg-options',
              'train_dataloader.sampler.labeled_batch_size=4',
              'train_dataloader.sampler.unlabeled_batch_size=16', 'custom_hooks.1.source=steps')
    assert 'step: 4 labeled + 16 unlabeled images of 32px' in out
    sscl = number(r'SsCL train step\s+([\d.]+) samples/s', out)
    step_ms = number(r'samples/s \(([\d.]+) ms/step\)', out)
    assert sscl * step_ms / 1e3 == pytest.approx(4 + 16, rel=0.02)  # one step's samples
    sup = number(r'supervised train step\s+([\d.]+) img/s', out)
    flops = number(r'FLOPs per SsCL sample\s+([\d.]+)', out)
    ratio = number(r'FLOP-normalised ratio\s+([\d.]+)', out)
    assert sup > 0 and ratio == pytest.approx(sscl * flops / sup, rel=0.02)
    # one forward/backward of labeled + weak + strong (the joint forward) and the key
    # encoder's forward of labeled + weak: (4 + 32) x 3 + 20 units over 20 x 3 = 2.13
    assert number(r'FLOPs per SsCL sample\s+([\d.]+)', out) == pytest.approx(128 / 60, rel=0.05)
    offline = number(r"refresh, source='offline': .*= ([\d.]+) % of an epoch", out)
    steps = number(r"refresh, source='steps' \(config\): .*= ([\d.]+) % of an epoch", out)
    # the same embedding rate: 40 mixed images against 40 x 2 + 1000
    assert steps / offline == pytest.approx(40 / 1080, rel=0.05)


def test_step_figures_without_neck():
    """FixMatch (no neck): the step is measured and there is no refresh to cost."""
    out = run('--only', 'step', '--iters', '1', '--warmup', '1', '--num-unlabeled', '1000',
              '--num-labeled', '40', '--cfg-options',
              'train_dataloader.sampler.labeled_batch_size=4',
              'train_dataloader.sampler.unlabeled_batch_size=16',
              config='configs/fixmatch/wrn28-2_digits_40labels.py')
    # labeled + weak + strong in one forward/backward, no key encoder: 36 x 3 / (20 x 3)
    assert number(r'FLOPs per SsCL sample\s+([\d.]+)', out) == pytest.approx(108 / 60, rel=0.05)
    assert 'refresh: none (the model has no contrastive neck)' in out
    assert 'source=' not in out


def test_pipeline_figures():
    out = run('--only', 'pipeline', '--jpegs', '4')
    assert number(r'plain torchvision \(decode \+ weak \+ strong\): ([\d.]+) pairs/s', out) > 0
    assert number(r'config pipeline: ([\d.]+) pairs/s', out) > 0


def test_end_to_end_figures():
    out = run('--only', 'e2e', '--iters', '2', '--warmup', '1', '--e2e-images', '8',
              '--cfg-options', 'train_dataloader.sampler.labeled_batch_size=2',
              'train_dataloader.sampler.unlabeled_batch_size=8', 'train_dataloader.num_workers=1')
    synthetic = number(r'synthetic tensors: ([\d.]+) samples/s', out)
    rate = number(r'JPEG files through the dataloader \(1 workers\): ([\d.]+) samples/s', out)
    share = number(r'= ([\d.]+) % of the synthetic rate', out)
    assert rate > 0 and share == pytest.approx(100 * rate / synthetic, rel=0.01)
