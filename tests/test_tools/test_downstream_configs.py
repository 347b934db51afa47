"""Linear-evaluation and fine-tuning configs: each trains a few iterations from an SsCL
checkpoint on synthetic images, freezing or not as its protocol says."""
import glob
import os.path as osp
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from synthetic_data import digits_like

from sscl.registry import MODELS
from sscl.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOWNSTREAM = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'linear_eval', '*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'finetune', '*.py')))


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('images')
    digits_like(str(root), per_class=1, size=40, test_per_class=1)
    return str(root)


def sscl_checkpoint(cfg, path):
    """A checkpoint shaped like an SsCL one: the backbone under ``backbone.``, its BatchNorm
    statistics measured on noise (as a trained model's would be), plus keys the classifier
    must ignore (neck, queue)."""
    backbone = MODELS.build(cfg.model.backbone)
    for m in backbone.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # cumulative average
    with torch.no_grad():
        backbone.train()(torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(0)))
    state = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    state.update({'neck.mlp.0.weight': torch.zeros(2, 2), 'queue.queue': torch.zeros(4, 2)})
    torch.save({'state_dict': state, 'meta': {}}, path)
    return state


def shrink(cfg, data, work_dir):
    """Synthetic ImageFolder at 32-40 px, 1 epoch of 2 iterations, no workers."""
    small = {'RandomResizedCrop': dict(size=32), 'Resize': dict(size=36),
             'CenterCrop': dict(size=32)}
    for name, split in (('train_dataloader', 'train'), ('val_dataloader', 'test'),
                        ('test_dataloader', 'test')):
        loader = cfg[name]
        pipeline = [dict(t, **small.get(t['type'], {})) for t in loader.dataset.pipeline]
        loader.dataset = dict(type='ImageFolder', data_root=data, data_prefix=split,
                              pipeline=pipeline)
        loader.update(batch_size=5, num_workers=0, persistent_workers=False, pin_memory=False)
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'downstream_{uuid.uuid4().hex}'
    cfg.default_hooks.logger.interval = 1


@pytest.mark.parametrize('path', DOWNSTREAM, ids=[osp.relpath(f, ROOT) for f in DOWNSTREAM])
def test_downstream_config_trains_from_an_sscl_checkpoint(path, data, tmp_path):
    register_all_modules()
    cfg = Config.fromfile(path)
    saved = sscl_checkpoint(cfg, tmp_path / 'sscl.pth')
    cfg.model.backbone.init_cfg.checkpoint = str(tmp_path / 'sscl.pth')
    shrink(cfg, data, tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    model = runner.model
    frozen = 'linear_eval' in path
    assert model.frozen_backbone is frozen
    changed = [k for k, v in model.backbone.state_dict().items()
               if not torch.equal(v, saved[f'backbone.{k}'])]
    if frozen:  # weights and BN statistics exactly the checkpoint's
        assert changed == []
        assert cfg.optim_wrapper.optimizer.lr in (30.0, 7.5)  # 30 at batch 256, 7.5 at 64
    else:  # the whole network trained, the backbone 1000x slower than the head
        assert changed
        lrs = {}
        for group in runner.optim_wrapper.param_groups:
            for p in group['params']:
                lrs[id(p)] = group['lr']
        assert lrs[id(model.head.fc.weight)] == pytest.approx(1.0)
        assert all(lrs[id(p)] == pytest.approx(1e-3) for p in model.backbone.parameters())
        assert [s.milestones for s in runner.param_schedulers] == [{50: 1, 70: 1, 90: 1}]
    metrics = runner.test()
    model.eval()
    with torch.no_grad():
        preds = [p for batch in runner.test_dataloader for p in model.test_step(batch)]
    assert len(preds) == len(runner.test_dataloader.dataset)
    right = sum(int(p['pred_label']) == int(p['gt_label']) for p in preds)
    assert metrics['accuracy/top1'] == pytest.approx(100 * right / len(preds))


def test_linear_protocol_numbers():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'linear_eval', 'r50_imagenet_linear.py'))
    opt = cfg.optim_wrapper.optimizer
    assert (opt.lr, opt.momentum, opt.weight_decay) == (30.0, 0.9, 0.0)
    assert cfg.train_cfg.max_epochs == 100 and cfg.param_scheduler[0].milestones == [60, 80]
    assert cfg.train_dataloader.batch_size * 8 == cfg.auto_scale_lr.base_batch_size == 256
