import glob
import importlib.util
import inspect
import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.runner.checkpoint import save_checkpoint

from sscl.models.utils.checked_pretrained_init import CheckedPretrainedInit
from sscl.registry import MODELS
from sscl.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'convert_to_det.py')
_spec = importlib.util.spec_from_file_location('convert_to_det', TOOL)
tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tool)


def run_main(monkeypatch, *argv):
    """Run the CLI in-process; returns the error line, or None on success."""
    monkeypatch.setattr(sys, 'argv', ['convert_to_det.py', *map(str, argv)])
    try:
        tool.main()
    except SystemExit as e:
        return e.code
    return None


def resnet50_state(prefix='', seed=0):
    torch.manual_seed(seed)
    return {prefix + k: v for k, v in torchvision.models.resnet50().state_dict().items()}


@pytest.fixture(scope='module')
def sscl_checkpoint(tmp_path_factory):
    """An SsCL model from the ImageNet 10% recipe, saved by mmengine as EMAHook leaves it."""
    register_all_modules()
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'sscl', 'r50_imagenet_10pct.py'))
    cfg.model.queue_len = 256
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    with torch.no_grad():  # make the key encoder differ from the query encoder
        for p in model.momentum_encoder.parameters():
            p.add_(1.0)
    trained = model.state_dict()
    # EMAHook swaps on saving: state_dict = averaged weights, ema_state_dict = trained ones
    averaged = {k: v + 2.0 if v.is_floating_point() else v for k, v in trained.items()}
    ema_state = {'module.' + k: v for k, v in trained.items()}
    ema_state['steps'] = torch.tensor(700)
    path = tmp_path_factory.mktemp('ckpt') / 'sscl.pth'
    save_checkpoint(
        dict(state_dict=averaged, ema_state_dict=ema_state, meta=dict(epoch=7, iter=700)),
        str(path))
    return path, trained, averaged


def test_cli_writes_torchvision_keys_and_summary(sscl_checkpoint, tmp_path):
    path, trained, _ = sscl_checkpoint
    result = subprocess.run(
        [sys.executable, TOOL,
         str(path),
         str(tmp_path / 'tv.pth'), '--format', 'torchvision'],
        capture_output=True,
        text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('torchvision: 318 tensors, 23.51 M parameters')
    assert 'epoch 7, iteration 700' in result.stdout
    weights = torch.load(tmp_path / 'tv.pth', weights_only=True)
    missing, unexpected = torchvision.models.resnet50().load_state_dict(weights, strict=False)
    assert sorted(missing) == ['fc.bias', 'fc.weight'] and not unexpected
    for k, v in weights.items():
        assert torch.equal(v, trained['backbone.' + k]), k


@pytest.mark.parametrize('which,prefix,from_ema', [('query', 'backbone.', False),
                                                   ('key', 'momentum_encoder.backbone.', False),
                                                   ('ema', 'backbone.', True)])
def test_query_key_and_ema_weights(sscl_checkpoint, tmp_path, which, prefix, from_ema):
    path, trained, averaged = sscl_checkpoint
    tool.convert(str(path), str(tmp_path / 'w.pth'), 'mmdet', which)
    out = torch.load(tmp_path / 'w.pth', weights_only=True)
    assert out['meta'] == dict(source='sscl.pth', epoch=7, iter=700)
    source = averaged if from_ema else trained
    for k, v in out['state_dict'].items():
        assert torch.equal(v, source[prefix + k]), k


def test_mmdet_output_loads_into_mmdet_resnet50_strictly(sscl_checkpoint, tmp_path):
    from mmdet.models.backbones import ResNet
    path, trained, _ = sscl_checkpoint
    tool.convert(str(path), str(tmp_path / 'r50.pth'), 'mmdet', 'query')
    backbone = ResNet(depth=50)
    backbone.load_state_dict(torch.load(tmp_path / 'r50.pth', weights_only=True)['state_dict'])
    assert torch.equal(backbone.layer4[2].bn3.running_var,
                       trained['backbone.layer4.2.bn3.running_var'])


def test_detectron2_round_trip(sscl_checkpoint, tmp_path):
    path, trained, _ = sscl_checkpoint
    tool.convert(str(path), str(tmp_path / 'd2.pkl'), 'detectron2', 'query')
    with open(tmp_path / 'd2.pkl', 'rb') as f:
        d2 = pickle.load(f, encoding='latin1')  # as detectron2's DetectionCheckpointer reads it
    assert d2['__author__'] == 'sscl' and d2['matching_heuristics'] is True
    assert {
        'stem.conv1.weight', 'stem.conv1.norm.running_mean', 'res2.0.shortcut.weight',
        'res2.0.shortcut.norm.bias', 'res5.2.conv3.norm.running_var'
    } <= set(d2['model'])
    assert len(d2['model']) == 318
    tool.convert(str(tmp_path / 'd2.pkl'), str(tmp_path / 'back.pth'), 'torchvision', 'query')
    back = torch.load(tmp_path / 'back.pth', weights_only=True)
    for k, v in back.items():
        assert torch.equal(v, trained['backbone.' + k]), k
    tool.convert(str(tmp_path / 'back.pth'), str(tmp_path / 'again.pkl'), 'detectron2', 'query')
    with open(tmp_path / 'again.pkl', 'rb') as f:
        again = pickle.load(f)
    assert all((again['model'][k] == v).all() for k, v in d2['model'].items())


# a bare torchvision state dict with fc, a DDP-wrapped model, a model.-prefixed one
@pytest.mark.parametrize('prefix', ['', 'module.backbone.', 'model.backbone.'])
def test_other_layouts(tmp_path, prefix):
    src = {'state_dict': resnet50_state(prefix)} if prefix else resnet50_state()
    reference = resnet50_state()
    for legacy in (False, True):  # the zip format and the pre-1.6 torch format
        path = tmp_path / f'src{legacy}.pth'
        torch.save(src, path, _use_new_zipfile_serialization=not legacy)
        tool.convert(str(path), str(tmp_path / 'out.pth'), 'torchvision', 'query')
        out = torch.load(tmp_path / 'out.pth', weights_only=True)
        assert len(out) == 318
        assert all(torch.equal(v, reference[k]) for k, v in out.items())


class Exploit:

    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').write('x')", ))


def test_bad_inputs_fail_cleanly_and_create_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an executed exploit would write PWNED here
    (tmp_path / 'notes.txt').write_text('hello')
    torch.save(
        {
            'state_dict': {
                'backbone.' + k: v
                for k, v in torchvision.models.resnet18().state_dict().items()
            }
        }, 'r18.pth')
    (tmp_path / 'evil.pkl').write_bytes(pickle.dumps({'model': Exploit()}))
    torch.save({'state_dict': Exploit()}, 'evil.pth')
    torch.save({'state_dict': resnet50_state('backbone.')}, 'no_ema.pth')
    (tmp_path / 'cut.pth').write_bytes((tmp_path / 'no_ema.pth').read_bytes()[:100_000])
    torch.save({'state_dict': [1, 2]}, 'list.pth')
    d2 = {tool.to_detectron2(k): v.numpy() for k, v in resnet50_state().items()}
    d2['stem.conv1.weight'] = [0.0]
    (tmp_path / 'list.pkl').write_bytes(
        pickle.dumps({
            'model': d2,
            '__author__': 'x',
            'matching_heuristics': True
        }))
    cases = [
        (['notes.txt'], 'not a checkpoint (neither a torch.save archive nor a pickle)'),
        (['cut.pth'], 'not a loadable checkpoint'),
        (['r18.pth'], 'not a ResNet-50 checkpoint: 198 of 318 backbone tensors missing'),
        (['evil.pkl'], 'refusing to load builtins.exec'),
        (['evil.pth'], 'refusing to load anything but tensors and plain Python '
         '(Unsupported global: GLOBAL exec was not an allowed global'),
        (['nope.pth'], 'no such file'),
        (['no_ema.pth', '--weights', 'ema'], 'the checkpoint has no ema_state_dict'),
        (['no_ema.pth', '--weights', 'key'], 'prefix "momentum_encoder.backbone."'),
        (['list.pth'], '"state_dict" is a list'),
        (['list.pkl'], 'conv1.weight is a list, not a tensor'),
    ]
    for args, message in cases:
        error = run_main(monkeypatch, args[0], 'out/x.pth', *args[1:])
        assert isinstance(error, str) and message in error, (args, error)
        assert error.startswith('convert_to_det.py: error: ') and '\n' not in error
        assert not (tmp_path / 'out').exists()
    assert 'ending in .pkl' in run_main(monkeypatch, 'no_ema.pth', 'x.pth', '--format',
                                        'detectron2')
    assert 'is the source file' in run_main(monkeypatch, 'no_ema.pth', 'no_ema.pth')
    assert not (tmp_path / 'x.pth').exists() and not (tmp_path / 'PWNED').exists()

    result = subprocess.run([sys.executable, TOOL, 'evil.pkl', 'out/x.pth'],
                            capture_output=True,
                            text=True)
    assert result.returncode == 1 and result.stdout == ''
    assert result.stderr.count('\n') == 1 and 'refusing to load builtins.exec' in result.stderr
    assert not (tmp_path / 'out').exists() and not (tmp_path / 'PWNED').exists()


def test_the_converter_and_the_downstream_configs_transfer_the_same_weights(monkeypatch):
    """One transfer choice, the trained query encoder: the converter's default, sscl's
    Pretrained default, and named in every linear-evaluation, fine-tuning and detection
    config."""
    monkeypatch.setattr(sys, 'argv', ['convert_to_det.py', 'src.pth', 'dst.pth'])
    assert tool.parse_args().weights == 'query'
    assert inspect.signature(CheckedPretrainedInit).parameters['weights'].default == 'query'
    paths = glob.glob(osp.join(ROOT, 'configs', 'linear_eval', '*.py')) + glob.glob(
        osp.join(ROOT, 'configs', 'finetune', '*.py'))
    assert len(paths) == 8
    for path in paths:
        assert Config.fromfile(path).model.backbone.init_cfg.weights == 'query', path
    det = Config.fromfile(osp.join(ROOT, 'configs', '_base_', 'det', 'sscl_transfer.py'))
    assert det.sscl_backbone.init_cfg.weights == 'query'
