"""Every training config (semi-supervised, baselines, ImageNet recipes) builds its
dataloaders, pipelines, optimizer and hooks and trains 2 iterations on synthetic data in its
own on-disk format: digits PNG folders, CIFAR-10 pickles, ImageNet JPEG folders with a
subset list. Linear evaluation and fine-tuning: test_downstream_configs; detection:
test_det_transfer."""
import glob
import math
import os.path as osp
import uuid

import pytest
from mmengine.config import Config
from mmengine.runner import Runner
from synthetic_data import cifar10_like, digits_like, imagenet_like

from sscl.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    f for folder in ('sscl', 'fixmatch', 'mocov2', 'supervised')
    for f in glob.glob(osp.join(ROOT, 'configs', folder, '*.py')))


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('formats')
    digits_like(str(tmp / 'digits'), per_class=1, test_per_class=1)
    cifar10_like(str(tmp / 'cifar10'))
    subset = imagenet_like(str(tmp / 'imagenet'))
    return dict(digits=str(tmp / 'digits'), cifar=str(tmp / 'cifar10'),
                imagenet=str(tmp / 'imagenet'), subset=subset)


def datasets(cfg):
    """Every dataset config of the train/val/test loaders."""
    out = []
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = cfg[name].dataset
        out += [ds.labeled, ds.unlabeled] if ds.type == 'SemiDataset' else [ds]
    return out


def data_format(ds):
    """Which synthetic set a dataset config reads: 'cifar', 'imagenet' or 'digits'."""
    if ds.type.startswith('CIFAR'):
        return 'cifar'
    return 'imagenet' if 'imagenet' in ds.data_root else 'digits'


def shrink(cfg, roots, work_dir):
    """Point the datasets at the synthetic data, one labeled image per class, and size the
    batches so that one epoch is 2 iterations; no workers."""
    train_set = cfg.train_dataloader.dataset
    kind = data_format(train_set.get('unlabeled', train_set))
    for ds in datasets(cfg):
        fmt = data_format(ds)
        ds.data_root = roots[fmt]
        if fmt == 'imagenet' and ds.get('labeled_list'):
            ds.labeled_list = roots['subset']
        if ds.get('num_per_class'):
            ds.num_per_class = 1
    loader = cfg.train_dataloader
    sizes = dict(digits=10, cifar=10, imagenet=6)  # training images of each synthetic set
    if loader.sampler.type == 'SemiSupervisedSampler':
        unlabeled = sizes[kind] // 2  # every training image is also unlabeled
        loader.sampler.update(labeled_batch_size=1, unlabeled_batch_size=unlabeled)
        loader.batch_size = 1 + unlabeled
    else:
        loader.batch_size = sizes[kind] // 2
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].update(num_workers=0, persistent_workers=False, pin_memory=False)
        cfg[name].pop('prefetch_factor', None)
    for hook in cfg.get('custom_hooks', []):
        if hook.type == 'CoCalibrationHook':
            hook.update(num_workers=0, batch_size=4)
    if 'queue_len' in cfg.model:
        cfg.model.queue_len = 16
    if 'max_iters' in cfg.train_cfg:  # an iteration-based protocol
        cfg.train_cfg.update(max_iters=2, val_interval=2)
    else:
        cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'config_{uuid.uuid4().hex}'


@pytest.mark.slow
@pytest.mark.parametrize('path', CONFIGS, ids=[osp.relpath(f, ROOT) for f in CONFIGS])
def test_training_config_runs_two_iterations(path, roots, tmp_path):
    register_all_modules()
    cfg = Config.fromfile(path)
    shrink(cfg, roots, tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert math.isfinite(loss) and loss > 0
