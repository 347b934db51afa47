"""Golden figures of SsCL, compared exactly: a co-calibration refresh (prototypes, table,
step records), the losses of a few training steps, and the state-dict layout of the digits
model (the checkpoint's golden is tests/test_tools/test_golden_checkpoint.py).

They pin behaviour across refactors: code that only moves keeps them bit for bit. A change
meant to alter them rewrites them (``SSCL_WRITE_GOLDENS=1 python -m pytest
tests/test_engine/test_goldens.py tests/test_tools/test_golden_checkpoint.py``) in a commit
of its own that says why.
"""
import json
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from test_co_calibration_hook import PIPE, make_folder, tiny_sscl, training_runner

from sscl.engine.hooks import CoCalibrationHook
from sscl.registry import MODELS
from sscl.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GOLDENS = osp.join(ROOT, 'tests', 'data', 'goldens')
WRITE = os.environ.get('SSCL_WRITE_GOLDENS') == '1'


@pytest.fixture(autouse=True)
def one_thread():
    """CPU kernels reduce in a fixed order on one thread: the figures repeat bit for bit."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def check_or_write(name: str, value: dict) -> None:
    """Compare ``value`` (a dict of tensors) exactly with the stored golden, or store it."""
    path = osp.join(GOLDENS, name)
    if WRITE:
        os.makedirs(GOLDENS, exist_ok=True)
        torch.save(value, path)
        return
    golden = torch.load(path, weights_only=True)
    assert value.keys() == golden.keys()
    for key, tensor in golden.items():
        assert torch.equal(value[key], tensor), key


def build_tiny(**kwargs):
    """:func:`tiny_sscl` with a queue of 16 and a pseudo-label loss that every label passes."""
    return tiny_sscl(
        queue_len=16,
        loss_pl=dict(type='PseudoLabelCrossEntropyLoss', threshold=0.0, loss_weight=1.0),
        **kwargs)


def refreshed(root, model, **hook_args):
    """The model after the hook's first refresh (at iteration 10) on the folder of 21."""
    runner = training_runner(model, root)
    hook = CoCalibrationHook(pipeline=PIPE, batch_size=4, num_workers=0, **hook_args)
    hook.before_run(runner)
    hook.before_train(runner)
    return runner, hook


def co_calibration_state(model) -> dict:
    return {k: v.clone() for k, v in model.co_calibration.state_dict().items()}


def test_refresh_goldens(tmp_path):
    """An offline refresh with the mixture, then one from the step records it filled."""
    make_folder(str(tmp_path))
    model = build_tiny()
    runner, hook = refreshed(str(tmp_path), model, source='steps')
    offline = co_calibration_state(model)
    runner.iter = 14
    hook.refresh(runner)  # the records are complete: reads them, embeds only the mixture
    from_steps = co_calibration_state(model)
    assert not torch.equal(offline['prototypes'], from_steps['prototypes'])
    check_or_write(
        'refresh.pth', {
            **{
                f'offline.{k}': v
                for k, v in offline.items()
            },
            **{
                f'steps.{k}': v
                for k, v in from_steps.items()
            }
        })


def train_steps(model, steps: int = 3) -> dict:
    """``steps`` SGD steps on fixed random batches of 6 labeled and 12 unlabeled images;
    every output of each step, by ``'<step>.<name>'``."""
    g = torch.Generator().manual_seed(1)
    optim = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    out = {}
    for step in range(steps):
        inputs = dict(
            labeled=torch.randn(6, 3, 8, 8, generator=g),
            weak=torch.randn(12, 3, 8, 8, generator=g),
            strong=torch.randn(12, 3, 8, 8, generator=g))
        data_samples = dict(
            labeled=dict(gt_label=torch.tensor([0, 0, 1, 1, 2, 2]), sample_idx=torch.arange(6)),
            unlabeled=dict(
                gt_label=torch.randint(-1, 3, (12, ), generator=g),
                sample_idx=torch.randperm(21, generator=g)[:12]))
        losses = model.loss(inputs, data_samples)
        optim.zero_grad()
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        optim.step()
        out.update({f'{step}.{k}': v.detach().clone() for k, v in losses.items()})
    # the weights of the last step by their float64 sum (full tensors would weigh 0.7 MB)
    out.update({f'sum.{k}': v.double().sum() for k, v in model.state_dict().items()})
    return out


@pytest.mark.parametrize(
    'variant', [
        dict(name='table', model=dict(), hook=dict(source='steps')),
        dict(
            name='confident',
            model=dict(
                joint_forward=False,
                unlabeled_positives='confident',
                positive_threshold=0.3,
                calibration=dict(mode='global', temperature=0.1, window=4)),
            hook=dict(mixture=False)),
    ],
    ids=lambda v: v['name'])
def test_step_goldens(tmp_path, variant):
    """Three steps after a refresh: calibration, class positives, self-paced weights and
    (``'table'``) the step records all act."""
    make_folder(str(tmp_path))
    model = build_tiny(**variant['model'])
    refreshed(str(tmp_path), model, **variant['hook'])
    check_or_write(f"steps_{variant['name']}.pth", train_steps(model))


def test_state_dict_manifest():
    """Keys, shapes and dtypes of the digits SsCL model's state dict (checkpoints load by
    these names)."""
    register_all_modules()
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'sscl', 'wrn28-2_digits_40labels.py'))
    model = MODELS.build(cfg.model)
    manifest = {
        k: [list(v.shape), str(v.dtype)] if isinstance(v, torch.Tensor) else type(v).__name__
        for k, v in model.state_dict().items()
    }
    path = osp.join(GOLDENS, 'state_dict_manifest.json')
    if WRITE:
        with open(path, 'w') as f:
            json.dump(manifest, f, indent=1)
        return
    with open(path) as f:
        assert manifest == json.load(f)
