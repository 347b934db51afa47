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


DEFAULT, LITERAL = ('infonce', 'confident'), ('circle', 'table')
# Every SsCL recipe with its contrastive loss setting (form, unlabeled_positives): one
# setting, or the paper's literal reading in a *_literal.py variant (docs/method.md).
LOSS_SETTINGS = {
    'r50_imagenet_10pct.py': DEFAULT,
    'r50_imagenet_10pct_4xb64-256.py': DEFAULT,
    'r50_imagenet_10pct_200e.py': DEFAULT,
    'r50_imagenet_10pct_gpu-aug.py': DEFAULT,
    'r50_imagenet_10pct_gpu-aug_4xb64-256.py': DEFAULT,
    'r50_imagenet_10pct_literal.py': LITERAL,
    'r50_imagenet_10pct_step-refresh.py': DEFAULT,
    'r50_imagenet_1pct.py': DEFAULT,
    'r50_imagenet_1pct_4xb64-256.py': DEFAULT,
    'r50_imagenet_1pct_200e.py': DEFAULT,
    'wrn28-2_cifar10_250labels.py': DEFAULT,
    'wrn28-2_cifar10_4000labels.py': DEFAULT,
    'wrn28-2_cifar10_40labels.py': DEFAULT,
    'wrn28-2_cifar10_40labels_literal.py': LITERAL,
    'wrn28-2_digits16_20labels.py': DEFAULT,
    'wrn28-2_digits16_20labels_literal.py': LITERAL,
    'wrn28-2_digits_40labels.py': DEFAULT,
}


def test_every_sscl_recipe_has_one_loss_setting_or_is_a_literal_variant():
    paths = glob.glob(osp.join(ROOT, 'configs', 'sscl', '*.py'))
    assert sorted(osp.basename(p) for p in paths) == sorted(LOSS_SETTINGS)
    for path in paths:
        name, model = osp.basename(path), Config.fromfile(path).model
        assert (model.loss_ctr.form, model.unlabeled_positives) == LOSS_SETTINGS[name], name
        assert (LOSS_SETTINGS[name] == LITERAL) == name.endswith('_literal.py'), name
    # a literal variant in each recipe family: R50 ImageNet, WRN CIFAR-10, digits
    families = {n.split('_')[0] + '_' + n.split('_')[1] for n in LOSS_SETTINGS
                if n.endswith('_literal.py')}
    assert families == {'r50_imagenet', 'wrn28-2_cifar10', 'wrn28-2_digits16'}


@pytest.mark.parametrize('name', sorted(LOSS_SETTINGS))
def test_every_sscl_recipe_guards_against_collapse_and_syncs_bn(name):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'sscl', name))
    guards = [h for h in cfg.custom_hooks if h.type == 'CollapseGuardHook']
    assert len(guards) == 1 and guards[0].warmup >= 1 and guards[0].by_epoch
    assert guards[0].key_threshold == guards[0].refresh_threshold == 0.99
    assert cfg.default_hooks.sync_bn_statistics.type == 'SyncBNStatisticsHook'


def test_cifar_protocols():
    """SsCL: the paper's 200 epochs of the unlabeled set at μB = 256 with cosine decay to 0;
    FixMatch: its own 2^20 iterations at μ = 7 with lr_0 cos(7πk/16K)."""
    sscl = Config.fromfile(osp.join(ROOT, 'configs', 'sscl', 'wrn28-2_cifar10_40labels.py'))
    assert sscl.train_cfg.max_epochs == 200 and sscl.train_dataloader.batch_size == 64 + 256
    assert [s.type for s in sscl.param_scheduler] == ['CosineAnnealingLR']
    fm = Config.fromfile(osp.join(ROOT, 'configs', 'fixmatch', 'wrn28-2_cifar10_40labels.py'))
    assert (fm.train_cfg.type, fm.train_cfg.max_iters) == ('IterBasedTrainLoop', 2**20)
    (schedule, ) = fm.param_scheduler
    assert (schedule.type, schedule.phase, schedule.by_epoch, schedule.end) == (
        'FixMatchCosineLR', 7 / 16, False, 2**20)
    assert fm.train_dataloader.sampler.unlabeled_batch_size == 7 * 64
    assert fm.train_dataloader.batch_size == 8 * 64
    assert fm.optim_wrapper.optimizer.lr == 0.03


def test_moco_baselines_use_the_moco_loss():
    register_all_modules()
    for path in glob.glob(osp.join(ROOT, 'configs', 'mocov2', '*.py')):
        model = MODELS.build(Config.fromfile(path).model)
        assert (model.num_positives, model.negatives) == (0, 'all'), path


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
