"""tools/analysis/benchmark.py runs on the CPU and prints every figure it promises."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def run(*args, config='configs/sscl/wrn28-2_digits_40labels.py', env=None, check=True):
    result = subprocess.run(
        [sys.executable, 'tools/analysis/benchmark.py', *([config] if config else []),
         '--device', 'cpu', *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    if not check:
        return result
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
    # the plain PyTorch step: query forward/backward on labeled + strong (20 x 3), the weak
    # view without gradient (16) and the key encoder on labeled + weak (20): 96 units
    plain = number(r'plain PyTorch SsCL step\s+([\d.]+) samples/s', out)
    measured = number(r'sscl / plain step\s+([\d.]+) as measured', out)
    assert measured == pytest.approx(sscl / plain, rel=0.02)
    plain_flops = number(r'sscl / plain, FLOP-adj\.\s+[\d.]+ \(x ([\d.]+)', out)
    assert plain_flops == pytest.approx(128 / 96, rel=0.05)
    adjusted = number(r'sscl / plain, FLOP-adj\.\s+([\d.]+)', out)
    assert adjusted == pytest.approx(measured * plain_flops, rel=0.02)
    plain_sup = number(r'plain supervised step\s+([\d.]+) img/s', out)
    assert number(r'supervised / plain\s+([\d.]+)', out) == pytest.approx(sup / plain_sup,
                                                                          rel=0.02)
    # the sscl step reads nothing back from the device (tests/test_models/test_sscl.py)
    assert re.search(r'sscl step:\s+\d{3,} operators,\s+0 host syncs per step', out)
    assert re.search(r'plain step:\s+\d{3,} operators,\s+0 host syncs per step', out)
    # a whole Runner iteration (hooks, EMA, logging) adds one host sync: the log values'
    # copy (BatchedRuntimeInfoHook); the EMA (FusedExponentialMovingAverage) adds none
    assert re.search(r'sscl Runner:\s+\d{3,} operators,\s+1 host syncs per iteration '
                     r'\(sscl/engine/hooks/batched_runtime_info_hook.py:\d+ \(copy_\) x1\)', out)
    step_ops = number(r'sscl step:\s+(\d+) operators', out)
    assert step_ops < number(r'sscl Runner:\s+(\d+) operators', out) < 1.1 * step_ops
    offline = number(r"refresh, source='offline': .*= ([\d.]+) % of an epoch", out)
    steps = number(r"refresh, source='steps' \(config\): .*= ([\d.]+) % of an epoch", out)
    # the same embedding rate: 40 mixed images against 40 x 2 + 1000
    assert steps / offline == pytest.approx(40 / 1080, rel=0.05)


@pytest.mark.slow
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


@pytest.mark.slow
def test_pipeline_figures():
    out = run('--only', 'pipeline', '--jpegs', '4')
    assert number(r'plain torchvision \(decode \+ weak \+ strong\): ([\d.]+) pairs/s', out) > 0
    assert number(r'config pipeline: ([\d.]+) pairs/s', out) > 0


@pytest.mark.slow
def test_end_to_end_figures():
    out = run('--only', 'e2e', '--iters', '2', '--warmup', '1', '--e2e-images', '8',
              '--cfg-options', 'train_dataloader.sampler.labeled_batch_size=2',
              'train_dataloader.sampler.unlabeled_batch_size=8', 'train_dataloader.num_workers=1')
    synthetic = number(r'synthetic tensors: ([\d.]+) samples/s', out)
    rate = number(r'JPEG files through the dataloader \(1 workers\): ([\d.]+) samples/s', out)
    share = number(r'= ([\d.]+) % of the synthetic rate', out)
    assert rate > 0 and share == pytest.approx(100 * rate / synthetic, rel=0.01)


@pytest.mark.slow
def test_end_to_end_stall_fails_with_one_line_naming_the_step(tmp_path):
    """A dataloader that never delivers: the bounded wait names the step it waited on."""
    config = tmp_path / 'stall.py'
    config.write_text(
        f"_base_ = '{ROOT}/configs/sscl/wrn28-2_digits_40labels.py'\n"
        "custom_imports = dict(imports=['kill_hooks'], allow_failed_imports=False)\n"
        "train_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(\n"
        "    unlabeled=dict(pipeline=[dict(type='SleepTransform', seconds=60)])))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [osp.join(ROOT, 'tests', 'test_tools'), os.environ.get('PYTHONPATH', '')]))
    result = run('--only', 'e2e', '--iters', '1', '--warmup', '1', '--e2e-images', '4',
                 '--stall-timeout', '3', '--cfg-options',
                 'train_dataloader.sampler.labeled_batch_size=1',
                 'train_dataloader.sampler.unlabeled_batch_size=2',
                 config=str(config), env=env, check=False)
    assert result.returncode == 1
    assert 'e2e: 0 workers started' in result.stderr  # the progress before the stall
    assert result.stderr.strip().splitlines()[-1] == (
        'benchmark.py: error: end-to-end run stalled: no progress for 3 s waiting for '
        'step 1/2: its batch from the dataloader')


@pytest.mark.slow
def test_suite_small_shapes_prints_every_figure():
    """``--suite --small``: the GPU suite's code end to end on small shapes (~1 min)."""
    out = run('--suite', '--small', config=None)
    for recipe in ('r50_imagenet_10pct', 'r50_imagenet_10pct_4xb64-256',
                   'r50_imagenet_10pct_gpu-aug', 'r50_imagenet_10pct_gpu-aug_4xb64-256'):
        assert f'== configs/sscl/{recipe}.py' in out
    steps = out.split('\n== ')
    assert 'step: 2 labeled + 8 unlabeled images of 32px' in steps[1]
    assert 'step: 16 labeled + 64 unlabeled images of 32px' in steps[2]
    for step in steps[1:5]:
        for figure in (r'SsCL train step\s+([\d.]+) samples/s',
                       r'plain PyTorch SsCL step\s+([\d.]+)', r'sscl / plain step\s+([\d.]+)',
                       r'sscl / plain, FLOP-adj\.\s+([\d.]+)', r'supervised / plain\s+([\d.]+)',
                       r'FLOPs per SsCL sample\s+([\d.]+)', r'sscl step:\s+(\d+) operators',
                       r'SsCL train step, NCHW\s+([\d.]+)', r"source='offline'.*= ([\d.]+) %"):
            assert number(figure, step) > 0, figure
    assert 'BatchStrongAugment, batches of 64' in out  # the 4xb64-256 layout's 256 / 4
    assert out.count('% of the synthetic rate') == 2
    assert number(r'suite: (\d+) s', out) > 0
