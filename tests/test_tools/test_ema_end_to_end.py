"""EMA end to end: a short SsCL run with EMAHook, then tools/test.py with ``--weights ema``
and ``trained``. Each equals an in-process evaluation of the matching state dict."""
import json
import os
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from synthetic_data import digits_like
from test_resume import write_config
from tool_runs import HERE, ROOT, cpu_env, run_train

from sscl.registry import MODELS
from sscl.utils import register_all_modules
from sscl.utils.checkpoint_loading import trained_weights


def evaluate_in_process(config, state_dict):
    """The config's test evaluators on its test set, for a model holding ``state_dict``."""
    register_all_modules()
    cfg = Config.fromfile(config)
    # as mmengine's Runner does: the config's top-level data_preprocessor reaches the model
    cfg.model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    with DefaultScope.overwrite_default_scope('sscl'):
        model = MODELS.build(cfg.model)
        model.load_state_dict(state_dict)
        model.eval()
        loader = Runner.build_dataloader(cfg.test_dataloader)
        evaluator = Evaluator(cfg.test_evaluator)
        with torch.no_grad():
            for batch in loader:
                evaluator.process(model.test_step(batch), batch)
        return evaluator.evaluate(len(loader.dataset))


@pytest.fixture(scope='module')
def trained_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('ema')
    data = str(tmp / 'digits')
    digits_like(data, per_class=4)
    config = write_config(tmp / 'cfg.py', data, max_epochs=1, ckpt_interval=4)
    result = run_train(config, tmp / 'work')
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp, config, tmp / 'work' / 'iter_4.pth'


@pytest.mark.parametrize('weights', ['ema', 'trained'])
def test_test_tool_evaluates_the_chosen_weights(trained_run, weights):
    tmp, config, ckpt_file = trained_run
    out = tmp / f'{weights}.json'
    result = subprocess.run(
        [sys.executable, 'tools/test.py', config, str(ckpt_file), '--weights', weights, '--out',
         str(out), '--work-dir', str(tmp / f'test_{weights}')],
        cwd=ROOT, env=cpu_env(PYTHONPATH=os.pathsep.join([HERE, ROOT])), capture_output=True,
        text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads(out.read_text())
    ckpt = torch.load(ckpt_file, map_location='cpu', weights_only=True)
    state = ckpt['state_dict'] if weights == 'ema' else trained_weights(ckpt)
    expected = evaluate_in_process(config, state)
    # test.py appends its per-class report to the config's metrics
    assert set(metrics) - set(expected) == {'per_class/mean_accuracy'}
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, abs=1e-6), key


def test_ema_and_trained_weights_differ(trained_run):
    tmp, config, ckpt_file = trained_run
    ckpt = torch.load(ckpt_file, map_location='cpu', weights_only=True)
    ema, trained = ckpt['state_dict'], trained_weights(ckpt)
    assert not torch.equal(ema['backbone.conv1.weight'], trained['backbone.conv1.weight'])
    a, b = (evaluate_in_process(config, s) for s in (ema, trained))
    assert a['intra_class/similarity'] != pytest.approx(b['intra_class/similarity'], abs=1e-6)
