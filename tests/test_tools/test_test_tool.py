"""tools/test.py and dist_test.sh: EMA or trained weights, extra metrics, 1 or 2 processes."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from synthetic_data import digits_like
from tool_runs import cpu_env, free_port

from sscl.registry import MODELS
from sscl.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'supervised', 'wrn28-2_digits.py')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """Test images: 3 of class 0, 1 of each other class. A checkpoint whose EMA head always
    answers 0 (3/12 right) and whose trained head always answers 1 (1/12 right)."""
    tmp = tmp_path_factory.mktemp('test_tool')
    data = str(tmp / 'digits')
    digits_like(data, per_class=1, test_per_class=1)
    for i in (1, 2):
        os.link(osp.join(data, 'test', '0', '0.png'), osp.join(data, 'test', '0', f'{i}.png'))
    register_all_modules()
    model = MODELS.build(Config.fromfile(CONFIG).model)

    def always(label):
        state = {k: v.clone() for k, v in model.state_dict().items()}
        state['head.fc.weight'].zero_()
        state['head.fc.bias'].zero_()
        state['head.fc.bias'][label] = 10.0
        return state

    trained = {f'module.{k}': v for k, v in always(1).items()}
    trained['steps'] = torch.tensor(10)
    torch.save({'state_dict': always(0), 'ema_state_dict': trained, 'meta': {}},
               tmp / 'ckpt.pth')
    config = tmp / 'with_metrics.py'
    config.write_text(
        f"_base_ = '{CONFIG}'\n"
        "test_evaluator = [dict(type='Accuracy', topk=(1, 5)),\n"
        "                  dict(type='IntraClassSimilarity')]\n")
    return tmp, data, str(config)


def evaluate(tmp, data, config, *args, procs=1):
    out = tmp / f'metrics_{procs}_{"_".join(args) or "ema"}.json'
    opts = ['--cfg-options', f'test_dataloader.dataset.data_root={data}',
            'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
            'test_dataloader.batch_size=5']
    env = cpu_env(PORT=str(free_port()))
    if procs == 1:
        cmd = [sys.executable, 'tools/test.py']
    else:
        cmd = ['bash', 'tools/dist_test.sh']
    cmd += [config, str(tmp / 'ckpt.pth')] + ([str(procs)] if procs > 1 else [])
    cmd += ['--work-dir', str(tmp / 'work'), '--out', str(out), *args, *opts]
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(out.read_text())


def test_ema_and_trained_weights(setup):
    tmp, data, config = setup
    ema = evaluate(tmp, data, config)
    trained = evaluate(tmp, data, config, '--weights', 'trained')
    assert ema['accuracy/top1'] == pytest.approx(100 * 3 / 12)
    assert trained['accuracy/top1'] == pytest.approx(100 * 1 / 12)
    # both heads read the same backbone: the features, hence their similarity, agree
    assert -1 <= ema['intra_class/similarity'] <= 1
    assert ema['intra_class/similarity'] == pytest.approx(trained['intra_class/similarity'])


def test_two_processes_give_the_same_metrics(setup):
    tmp, data, config = setup
    one = evaluate(tmp, data, config, '--weights', 'trained')
    two = evaluate(tmp, data, config, '--weights', 'trained', procs=2)
    assert two == pytest.approx(one)
