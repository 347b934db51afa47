import copy
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from synthetic_data import digits_like

from sscl.registry import HOOKS, MODELS
from sscl.utils import register_all_modules
from sscl.utils.cli import runner_model_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    f for f in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in f and osp.sep + 'det' + osp.sep not in f)


def test_every_method_folder_has_configs():
    folders = {osp.basename(osp.dirname(f)) for f in CONFIGS}
    assert {'sscl', 'fixmatch', 'mocov2', 'supervised'} <= folders
    assert osp.join(ROOT, 'configs', 'sscl', 'r50_imagenet_10pct.py') in CONFIGS


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.relpath(f, ROOT) for f in CONFIGS])
def test_config_loads_and_builds_its_model(path):
    register_all_modules()
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'sscl'
    model = MODELS.build(runner_model_config(cfg))
    assert hasattr(model, 'backbone') and hasattr(model, 'head')
    assert cfg.train_dataloader.batch_size > 0
    for hook in cfg.get('custom_hooks', []):  # a misspelt argument fails here
        HOOKS.build(copy.deepcopy(hook))


def test_imagenet_recipe_carries_table8_numbers():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'sscl', 'r50_imagenet_10pct.py'))
    m = cfg.model
    assert (m.queue_len, m.feat_dim, m.momentum, m.num_positives) == (65536, 128, 0.999, 3)
    assert (m.loss_ctr.gamma, m.loss_ctr.margin, m.loss_ctr.loss_weight) == (10.0, -0.25, 5.0)
    assert (m.loss_pl.threshold, m.loss_pl.loss_weight) == (0.6, 10.0)
    assert cfg.optim_wrapper.optimizer.lr == 0.4 and cfg.train_cfg.max_epochs == 800
    assert cfg.auto_scale_lr.base_batch_size == 32 * (8 + 32)
    one = Config.fromfile(osp.join(ROOT, 'configs', 'sscl', 'r50_imagenet_1pct.py')).model
    assert (one.loss_ctr.loss_weight, one.loss_pl.loss_weight) == (10.0, 5.0)


@pytest.mark.parametrize('name', ['digits16_20labels', 'digits_40labels'])
def test_supervised_baseline_reads_the_labeled_batches_of_sscl(name, tmp_path):
    """The supervised digits configs skip the augmentation of the unlabeled images, which
    their model never reads: their labeled batches stay SsCL's, image for image."""
    register_all_modules()
    data = str(tmp_path / 'digits')
    digits_like(data, per_class=7)  # 70 unlabeled images: one batch of 64 per epoch
    batches = {}
    for method in ('sscl', 'supervised'):
        cfg = Config.fromfile(osp.join(ROOT, 'configs', method, f'wrn28-2_{name}.py'))
        loader = cfg.train_dataloader
        loader.update(num_workers=0, persistent_workers=False)
        for part in ('labeled', 'unlabeled'):
            loader.dataset[part].data_root = data
        with DefaultScope.overwrite_default_scope('sscl'):
            batches[method] = next(iter(Runner.build_dataloader(loader, seed=0)))
    sscl, sup = batches['sscl'], batches['supervised']
    assert torch.equal(sscl['inputs']['labeled'], sup['inputs']['labeled'])
    for key in ('gt_label', 'sample_idx'):
        assert torch.equal(sscl['data_samples']['labeled'][key],
                           sup['data_samples']['labeled'][key])
        assert torch.equal(sscl['data_samples']['unlabeled'][key],
                           sup['data_samples']['unlabeled'][key])
    assert torch.equal(sup['inputs']['weak'], sup['inputs']['strong'])  # not augmented
    assert not torch.equal(sscl['inputs']['weak'], sscl['inputs']['strong'])


LAYOUTS = [f for f in CONFIGS if re.search(r'_\d+xb\d+-\d+\.py$', f)]


@pytest.mark.parametrize('path', LAYOUTS, ids=[osp.relpath(f, ROOT) for f in LAYOUTS])
def test_batch_layout_keeps_the_recipe_but_its_per_gpu_batch(path):
    """<recipe>_<gpus>xb<labeled>-<unlabeled>.py: the recipe's total batch on fewer GPUs."""
    gpus, b, ub = map(int, re.search(r'_(\d+)xb(\d+)-(\d+)\.py$', path).groups())
    recipe = Config.fromfile(re.sub(r'_\d+xb\d+-\d+\.py$', '.py', path)).to_dict()
    layout = Config.fromfile(path).to_dict()
    sampler = layout['train_dataloader']['sampler']
    assert (sampler['labeled_batch_size'], sampler['unlabeled_batch_size']) == (b, ub)
    assert layout['train_dataloader']['batch_size'] == b + ub
    assert gpus * (b + ub) == recipe['auto_scale_lr']['base_batch_size']  # the same lr
    base = recipe['train_dataloader']['sampler']
    assert ub * base['labeled_batch_size'] == b * base['unlabeled_batch_size']  # the same mu
    for cfg in (recipe, layout):
        del cfg['train_dataloader']['batch_size']
        del cfg['train_dataloader']['sampler']['labeled_batch_size']
        del cfg['train_dataloader']['sampler']['unlabeled_batch_size']
    assert layout == recipe


GPU_RECIPES = [f for f in CONFIGS if osp.basename(f).startswith('r50_') or 'cifar' in f]


@pytest.mark.parametrize('path', GPU_RECIPES, ids=[osp.relpath(f, ROOT) for f in GPU_RECIPES])
def test_gpu_recipes_run_channels_last(path):
    """NHWC is the layout of the GPU's convolution kernels: 1.6x on the R50 step."""
    cfg = Config.fromfile(path)
    assert runner_model_config(cfg).data_preprocessor.channels_last


@pytest.mark.parametrize('method', ['sscl', 'fixmatch', 'supervised'])
def test_digits16_benchmark_runs_its_convolutions_channels_last(method):
    """The benchmark's layout reaches every convolution, the key encoder's included."""
    register_all_modules()
    cfg = Config.fromfile(osp.join(ROOT, 'configs', method, 'wrn28-2_digits16_20labels.py'))
    model = MODELS.build(runner_model_config(cfg))
    assert model.data_preprocessor.channels_last
    weights = [p for p in model.parameters() if p.dim() == 4]
    assert len(weights) >= 25  # WRN-28-2: 25 convolutions, doubled by SsCL's key encoder
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)
    batch = dict(inputs=torch.zeros(2, 3, 16, 16, dtype=torch.uint8),
                 data_samples=dict(gt_label=torch.zeros(2, dtype=torch.long)))
    inputs = model.data_preprocessor(batch)['inputs']
    assert inputs.is_contiguous(memory_format=torch.channels_last)
