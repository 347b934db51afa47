"""tools/train.py's command-line options turned into config settings."""
import argparse
import importlib.util
import os.path as osp
from unittest import mock

import pytest
from mmengine.config import Config

from sscl.utils import ConfigError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
spec = importlib.util.spec_from_file_location('train_tool', osp.join(ROOT, 'tools', 'train.py'))
train_tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(train_tool)


def args(**kwargs):
    base = dict(config='configs/sscl/r50_imagenet_10pct.py', launcher='none', cfg_options=None,
                work_dir=None, amp=False, auto_scale_lr=False, resume=None, tensorboard=False)
    return argparse.Namespace(**dict(base, **kwargs))


def test_amp_selects_bf16_autocast_without_loss_scaling():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'sscl', 'r50_imagenet_10pct.py'))
    with mock.patch('torch.cuda.is_available', return_value=True):
        cfg = train_tool.merge_args(cfg, args(amp=True))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16' and 'loss_scale' not in cfg.optim_wrapper


def test_resume_and_work_dir():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'sscl', 'r50_imagenet_10pct.py'))
    cfg = train_tool.merge_args(cfg, args(resume='auto'))
    assert cfg.resume is True and cfg.load_from is None
    assert cfg.work_dir == './work_dirs/sscl/r50_imagenet_10pct'  # method folder included
    cfg = train_tool.merge_args(cfg, args(resume='x.pth', work_dir='w', auto_scale_lr=True))
    assert (cfg.resume, cfg.load_from, cfg.work_dir) == (True, 'x.pth', 'w')
    assert cfg.auto_scale_lr.enable is True


def test_tensorboard_adds_the_backend_once_and_writes_event_files(tmp_path):
    from mmengine.visualization import Visualizer
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'sscl', 'wrn28-2_digits16_20labels.py'))
    cfg = train_tool.merge_args(cfg, args(tensorboard=True))
    cfg = train_tool.merge_args(cfg, args(tensorboard=True))
    assert [b['type'] for b in cfg.visualizer.vis_backends] == [
        'LocalVisBackend', 'TensorboardVisBackend']
    visualizer = Visualizer(name='tb_test', save_dir=str(tmp_path),
                            vis_backends=cfg.visualizer.vis_backends)
    visualizer.add_scalars({'loss': 0.5}, step=1)
    visualizer.close()
    assert (tmp_path / 'vis_data' / 'scalars.json').is_file()
    assert list((tmp_path / 'vis_data').glob('events.out.tfevents.*'))


def test_a_vis_backends_override_is_refused_and_the_visualizers_is_not():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'sscl', 'wrn28-2_digits16_20labels.py'))
    with pytest.raises(ConfigError, match=r'"vis_backends" is a variable .* changes nothing.*'
                       r'visualizer\.vis_backends, or train\.py --tensorboard'):
        train_tool.merge_args(cfg, args(cfg_options={'vis_backends': []}))
    backends = [dict(type='TensorboardVisBackend')]
    cfg = train_tool.merge_args(cfg, args(cfg_options={'visualizer.vis_backends': backends}))
    assert cfg.visualizer.vis_backends == backends

def test_compile_key_becomes_the_compile_hook():
    """``--cfg-options compile=True`` (mmengine's key) compiles the encoders through
    CompileHook, not mmengine's compiled train_step; a dict passes torch.compile options."""
    path = osp.join(ROOT, 'configs', 'sscl', 'r50_imagenet_10pct.py')
    hooks = len(Config.fromfile(path).custom_hooks)
    cfg = train_tool.merge_args(Config.fromfile(path), args(cfg_options={'compile': True}))
    assert 'compile' not in cfg and cfg.custom_hooks[hooks:] == [dict(type='CompileHook')]
    cfg = train_tool.merge_args(
        Config.fromfile(path), args(cfg_options={'compile': dict(mode='max-autotune')}))
    assert cfg.custom_hooks[hooks:] == [dict(type='CompileHook', mode='max-autotune')]
    cfg = train_tool.merge_args(Config.fromfile(path), args(cfg_options={'compile': False}))
    assert 'compile' not in cfg and len(cfg.custom_hooks) == hooks
    with pytest.raises(ConfigError, match="compile must be True, False or a dict .* got 'yes'"):
        train_tool.merge_args(Config.fromfile(path), args(cfg_options={'compile': 'yes'}))
