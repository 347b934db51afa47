"""tools/test.py and dist_test.sh: EMA or trained weights, extra metrics, 1 or 2 processes."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from synthetic_data import digits_like
from tool_runs import assert_one_line_error, cpu_env, free_port

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


def evaluate(tmp, data, config, *args, procs=1, tag=''):
    out = tmp / f'metrics{tag}_{procs}_{"_".join(args) or "ema"}.json'
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
    # both heads read the same backbone: the features, hence their similarity, agree (the
    # values themselves are checked against in-process evaluations in test_ema_end_to_end)
    assert ema['intra_class/similarity'] == pytest.approx(trained['intra_class/similarity'])


def test_two_processes_give_the_same_metrics(setup):
    tmp, data, config = setup
    one = evaluate(tmp, data, config, '--weights', 'trained')
    two = evaluate(tmp, data, config, '--weights', 'trained', procs=2)
    assert two == pytest.approx(one)


def test_two_processes_drop_the_padding_of_an_odd_test_set(setup):
    """13 images on 2 ranks of 5: DefaultSampler pads rank 1 with image 0 (class 0, which
    the EMA head gets right), so counting the padding would give 4/14, not 3/13."""
    tmp, data, config = setup
    odd = tmp / 'digits13'
    shutil.copytree(data, odd)
    os.link(osp.join(data, 'test', '5', '0.png'), odd / 'test' / '5' / '1.png')
    for weights, right in (('ema', 3), ('trained', 1)):
        args = ('--weights', weights)
        one = evaluate(tmp, str(odd), config, *args, tag='13')
        two = evaluate(tmp, str(odd), config, *args, procs=2, tag='13')
        assert one['accuracy/top1'] == pytest.approx(100 * right / 13)
        assert two['accuracy/top1'] == one['accuracy/top1']


def run_test_tool(tmp, data, config, checkpoint, *cfg_options, flags=()):
    """``tools/test.py CONFIG CHECKPOINT FLAGS --cfg-options ...`` on the test images."""
    cmd = [sys.executable, 'tools/test.py', config, str(checkpoint), '--work-dir',
           str(tmp / 'work_bad'), *flags, '--cfg-options',
           f'test_dataloader.dataset.data_root={data}', 'test_dataloader.num_workers=0',
           'test_dataloader.persistent_workers=False', *cfg_options]
    return subprocess.run(cmd, cwd=ROOT, env=cpu_env(), capture_output=True, text=True,
                          timeout=600)


class Exploit:

    def __reduce__(self):
        return (os.system, (f'touch {MARKER}', ))


MARKER = '/tmp/sscl_test_tool_exploit_ran'


def test_bad_checkpoints_and_keys_are_one_line_errors(setup):
    tmp, data, config = setup
    result = run_test_tool(tmp, data, config, tmp / 'missing.pth')
    assert_one_line_error(result, 'test.py', 'checkpoint not found: ', 'missing.pth')

    five = MODELS.build(
        dict(type='ImageClassifier', backbone=dict(type='WideResNet', depth=28, widen_factor=2),
             head=dict(type='LinearClsHead', num_classes=5, in_channels=128)))
    torch.save({'state_dict': five.state_dict(), 'meta': {}}, tmp / 'five.pth')
    result = run_test_tool(tmp, data, config, tmp / 'five.pth')
    assert_one_line_error(result, 'test.py', 'five.pth: 2 weight(s) have another shape',
                          'head.fc.weight (5, 128) vs (10, 128)')

    if osp.exists(MARKER):
        os.remove(MARKER)
    torch.save({'state_dict': {}, 'meta': {'x': Exploit()}}, tmp / 'evil.pth')
    result = run_test_tool(tmp, data, config, tmp / 'evil.pth')
    assert_one_line_error(result, 'test.py', 'evil.pth: refusing to unpickle', '--allow-pickle')
    assert not osp.exists(MARKER)

    result = run_test_tool(tmp, data, config, tmp / 'ckpt.pth', 'test_dataloader.batch_sizee=5')
    assert_one_line_error(result, 'test.py', "unexpected keyword argument 'batch_sizee'")


def test_allow_pickle_loads_a_trusted_pickled_checkpoint(setup):
    """A checkpoint holding a numpy array (mmengine 0.10.7's own message hub pickles them)
    is refused by default and evaluated with --allow-pickle."""
    import numpy as np
    tmp, data, config = setup
    ckpt = torch.load(tmp / 'ckpt.pth', weights_only=True)
    ckpt['meta'] = {'history': np.arange(3)}
    torch.save(ckpt, tmp / 'numpy.pth')
    result = run_test_tool(tmp, data, config, tmp / 'numpy.pth')
    assert_one_line_error(result, 'test.py', 'numpy.pth: refusing to unpickle')
    out = tmp / 'numpy_metrics.json'
    result = run_test_tool(tmp, data, config, tmp / 'numpy.pth',
                           flags=['--allow-pickle', '--out', str(out)])
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(out.read_text())['accuracy/top1'] == pytest.approx(100 * 3 / 12)


def test_per_class_accuracy_confusion_matrix_and_predictions(setup):
    """The EMA head answers 0: class 0 (3 images) 100 %, classes 1-9 (1 image each) 0 %."""
    from PIL import Image
    tmp, data, config = setup
    preds, out, work = tmp / 'preds.json', tmp / 'per_class.json', tmp / 'work_per_class'
    cmd = [sys.executable, 'tools/test.py', config, str(tmp / 'ckpt.pth'), '--work-dir',
           str(work), '--out', str(out), '--dump-preds', str(preds), '--cfg-options',
           f'test_dataloader.dataset.data_root={data}', 'test_dataloader.num_workers=0',
           'test_dataloader.persistent_workers=False', 'test_dataloader.batch_size=5']
    result = subprocess.run(cmd, cwd=ROOT, env=cpu_env(), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert 'class  samples  correct  accuracy (%)' in log
    assert '0            3        3        100.00' in log
    assert '7            1        0          0.00' in log
    metrics = json.loads(out.read_text())
    assert metrics['per_class/mean_accuracy'] == pytest.approx(10.0)  # (100 + 9 * 0) / 10
    assert metrics['accuracy/top1'] == pytest.approx(100 * 3 / 12)  # the config's metrics kept
    dumped = json.loads(preds.read_text())
    assert [d['sample_idx'] for d in dumped] == list(range(12))
    assert sorted(d['gt_label'] for d in dumped) == [0, 0, 0] + list(range(1, 10))
    assert all(d['pred_label'] == 0 and len(d['pred_score']) == 10 for d in dumped)
    with Image.open(work / 'confusion_matrix.png') as png:
        assert png.size[0] > 300 and png.size[1] > 300


def test_confusion_matrix_counts_by_hand():
    from sscl.evaluation.metrics import confusion_matrix
    labels, preds = torch.tensor([0, 0, 1, 2, 2, 2]), torch.tensor([0, 1, 1, 0, 2, 2])
    assert confusion_matrix(labels, preds, 3).tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
