import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.runner.checkpoint import save_checkpoint

from sscl.registry import MODELS
from sscl.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'convert_to_det.py')


def convert(src, dst, *args):
    return subprocess.run([sys.executable, TOOL, str(src), str(dst), *args],
                          capture_output=True, text=True)


@pytest.fixture(scope='module')
def sscl_checkpoint(tmp_path_factory):
    """An SsCL model built from the ImageNet 10% recipe, saved with mmengine."""
    register_all_modules()
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'sscl', 'r50_imagenet_10pct.py'))
    cfg.model.queue_len = 256
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    with torch.no_grad():  # make the key encoder differ from the query encoder
        for p in model.momentum_encoder.parameters():
            p.add_(1.0)
    state = model.state_dict()
    ema = {'module.' + k: v + 2.0 if v.is_floating_point() else v for k, v in state.items()}
    path = tmp_path_factory.mktemp('ckpt') / 'sscl.pth'
    save_checkpoint(dict(state_dict=state, ema_state_dict=ema, meta=dict(epoch=7, iter=700)),
                    str(path))
    return path, state, ema


def test_torchvision_output_loads_into_resnet50(sscl_checkpoint, tmp_path):
    path, state, _ = sscl_checkpoint
    result = convert(path, tmp_path / 'tv.pth', '--format', 'torchvision')
    assert result.returncode == 0, result.stderr
    assert 'torchvision: 318 tensors' in result.stdout and 'epoch 7' in result.stdout
    weights = torch.load(tmp_path / 'tv.pth', weights_only=True)
    missing, unexpected = torchvision.models.resnet50().load_state_dict(weights, strict=False)
    assert sorted(missing) == ['fc.bias', 'fc.weight'] and not unexpected
    assert torch.equal(weights['layer3.1.conv2.weight'], state['backbone.layer3.1.conv2.weight'])


@pytest.mark.parametrize('which,prefix', [('key', 'momentum_encoder.backbone.'),
                                          ('ema', 'module.backbone.')])
def test_key_and_ema_weights(sscl_checkpoint, tmp_path, which, prefix):
    path, state, ema = sscl_checkpoint
    assert convert(path, tmp_path / 'w.pth', '--weights', which).returncode == 0
    weights = torch.load(tmp_path / 'w.pth', weights_only=True)['state_dict']
    source = ema if which == 'ema' else state
    assert torch.equal(weights['conv1.weight'], source[prefix + 'conv1.weight'])


def test_detectron2_and_torchvision_round_trip(sscl_checkpoint, tmp_path):
    path, state, _ = sscl_checkpoint
    assert convert(path, tmp_path / 'd2.pkl', '--format', 'detectron2').returncode == 0
    with open(tmp_path / 'd2.pkl', 'rb') as f:
        d2 = pickle.load(f, encoding='latin1')  # as detectron2 reads it
    assert d2['matching_heuristics'] and 'res5.2.conv3.norm.running_var' in d2['model']
    assert 'stem.conv1.weight' in d2['model'] and 'res2.0.shortcut.norm.weight' in d2['model']
    back = convert(tmp_path / 'd2.pkl', tmp_path / 'back.pth', '--format', 'torchvision')
    assert back.returncode == 0, back.stderr
    weights = torch.load(tmp_path / 'back.pth', weights_only=True)
    for k, v in weights.items():
        assert torch.equal(v, state['backbone.' + k]), k
    again = convert(tmp_path / 'back.pth', tmp_path / 'again.pth', '--format', 'torchvision')
    assert again.returncode == 0
    for k, v in torch.load(tmp_path / 'again.pth', weights_only=True).items():
        assert torch.equal(v, weights[k])


class Exploit:

    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').write('x')", ))


def test_bad_inputs_fail_cleanly_and_create_nothing(tmp_path):
    text = tmp_path / 'notes.txt'
    text.write_text('hello')
    other = tmp_path / 'r18.pth'
    torch.save({'state_dict': {'backbone.' + k: v for k, v in
                               torchvision.models.resnet18().state_dict().items()}}, other)
    evil_pkl = tmp_path / 'evil.pkl'
    evil_pkl.write_bytes(pickle.dumps({'model': Exploit()}))
    evil_pth = tmp_path / 'evil.pth'
    torch.save({'state_dict': Exploit()}, evil_pth)
    for src, message in ((text, 'not a loadable checkpoint'), (other, 'not a ResNet-50'),
                         (evil_pkl, 'refusing to load builtins.exec'),
                         (evil_pth, 'not a loadable checkpoint'),
                         (tmp_path / 'nope.pth', 'no such file')):
        dst = tmp_path / 'out' / 'x.pth'
        result = convert(src, dst)
        assert result.returncode == 1
        assert message in result.stderr and 'Traceback' not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert not (tmp_path / 'out').exists()
    assert not (tmp_path / 'PWNED').exists() and not osp.exists(osp.join(ROOT, 'PWNED'))
