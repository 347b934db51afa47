"""BN running statistics averaged over 2 gloo ranks: the buffers, and a sharded
co-calibration refresh that then equals a one-process refresh of the averaged model."""
import os
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
from mmengine.config import Config
from mmengine.hooks import CheckpointHook
from mmengine.logging import MessageHub, MMLogger
from mmengine.runner import BaseLoop
from mmengine.runner.priority import get_priority
from torchvision.io import write_png

from sscl.datasets import SemiDataset
from sscl.engine.hooks import SyncBNStatisticsHook
from sscl.engine.hooks import sync_bn_statistics_hook as hook_module
from sscl.models.utils import bn_statistics, sync_bn_statistics
from sscl.registry import HOOKS, MODELS
from sscl.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PIPE = [dict(type='LoadImage'), dict(type='PackInputs')]


class _BuiltLoop(BaseLoop):

    def run(self):
        pass


def toy(rank):
    """Two BN layers with statistics 1 + rank and (1 + rank)^2, a counter and a queue."""
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.Flatten(), nn.BatchNorm1d(2))
    model.register_buffer('queue', torch.full((3, ), float(rank)))
    for bn in (model[1], model[3]):
        bn.running_mean.copy_(torch.arange(bn.num_features) * (1 + rank))
        bn.running_var.fill_((1 + rank)**2)
        bn.num_batches_tracked.fill_(10 * (1 + rank))
    return model


def make_folder(root):
    g = torch.Generator().manual_seed(0)
    for c in range(3):
        os.makedirs(os.path.join(root, 'train', str(c)), exist_ok=True)
        for i in range(7):  # 21 images: shards of 11 and 10 (one padded duplicate)
            img = (torch.rand(3, 8, 8, generator=g) * 60 + 90 * c).to(torch.uint8)
            write_png(img, os.path.join(root, 'train', str(c), f'{i}.png'))


def perturbed_stats(model, rank):
    """Rank-specific BN statistics: what each rank's shards would have tracked."""
    g = torch.Generator().manual_seed(100 + rank)
    return [
        s + torch.randn(s.shape, generator=g) * 0.5 if i % 2 == 0 else s *
        (0.5 + torch.rand(s.shape, generator=g) * 2) for i, s in enumerate(bn_statistics(model))
    ]


def build_sscl():
    """The WRN recipes' SsCL model, shrunk to WRN-10-1, 3 classes and 8-d embeddings."""
    register_all_modules()
    torch.manual_seed(0)
    cfg = Config.fromfile(osp.join(ROOT, 'configs', '_base_', 'models', 'sscl_wrn28-2.py'))
    cfg.merge_from_dict({
        'model.backbone.depth': 10, 'model.backbone.widen_factor': 1,
        'model.neck.in_channels': 64, 'model.neck.hid_channels': 16,
        'model.neck.out_channels': 8, 'model.head.in_channels': 64, 'model.head.num_classes': 3,
        'model.num_classes': 3, 'model.feat_dim': 8, 'model.queue_len': 8,
        'model.data_preprocessor': dict(type='SsclDataPreprocessor', mean=(128, ) * 3,
                                        std=(64, ) * 3)})
    return MODELS.build(cfg.model)


def refreshed(root, stats):
    """Prototypes and table of a refresh of the seeded SsCL model holding ``stats``
    (``'perturbed'``: this rank's)."""
    model = build_sscl()
    if stats == 'perturbed':
        stats = perturbed_stats(model, dist.get_rank())
    for s, value in zip(bn_statistics(model), stats):
        s.copy_(value)
    folder = dict(type='ImageFolder', data_root=root, data_prefix='train', pipeline=PIPE)
    runner = SimpleNamespace(
        model=model,
        train_dataloader=SimpleNamespace(dataset=SemiDataset(
            labeled=dict(folder, num_per_class=2), unlabeled=folder)),
        iter=0,
        _train_loop=_BuiltLoop.__new__(_BuiltLoop),
        logger=MMLogger.get_instance('test_sync_bn'),
        message_hub=MessageHub.get_instance('test_sync_bn'))
    hook = HOOKS.build(
        dict(type='CoCalibrationHook', pipeline=PIPE, batch_size=4, num_workers=0,
             mixture=False))
    hook.before_run(runner)
    hook.refresh(runner)  # averages the statistics over ranks before embedding
    co = model.co_calibration
    return dict(prototypes=co.prototypes.clone(), table=co.pseudo_labels.clone())


def _worker(rank, root, init_file, out_dir):
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank, world_size=2)
    model = toy(rank)
    sync_bn_statistics(model)
    torch.save(model.state_dict(), os.path.join(out_dir, f'toy{rank}.pth'))
    torch.save(refreshed(root, 'perturbed'), os.path.join(out_dir, f'refresh{rank}.pth'))
    dist.destroy_process_group()


@pytest.fixture(scope='module')
def two_ranks(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('sync_bn')
    make_folder(str(tmp / 'data'))
    mp.spawn(_worker, args=(str(tmp / 'data'), str(tmp / 'init'), str(tmp)), nprocs=2)
    return tmp


def test_bn_statistics_are_averaged_and_nothing_else(two_ranks):
    states = [torch.load(two_ranks / f'toy{r}.pth', weights_only=True) for r in range(2)]
    for state in states:
        for i, c in (('1', 4), ('3', 2)):
            # ranks hold arange * 1 and arange * 2, variances 1 and 4
            assert torch.equal(state[f'{i}.running_mean'], torch.arange(c) * 1.5)
            assert torch.equal(state[f'{i}.running_var'], torch.full((c, ), 2.5))
    for rank, state in enumerate(states):  # counters and other buffers stay the rank's own
        assert state['1.num_batches_tracked'] == 10 * (1 + rank)
        assert torch.equal(state['queue'], torch.full((3, ), float(rank)))


def test_sharded_refresh_equals_one_process_refresh_of_the_averaged_model(two_ranks):
    model = build_sscl()
    averaged = [(a + b) / 2 for a, b in zip(perturbed_stats(model, 0), perturbed_stats(model, 1))]
    single = refreshed(str(two_ranks / 'data'), averaged)
    for rank in range(2):
        state = torch.load(two_ranks / f'refresh{rank}.pth', weights_only=True)
        assert torch.allclose(state['prototypes'], single['prototypes'], atol=1e-5)
        assert torch.equal(state['table'], single['table'])
    # the check can fail: rank 0's own statistics give other prototypes
    own = refreshed(str(two_ranks / 'data'), perturbed_stats(model, 0))
    assert not torch.allclose(own['prototypes'], single['prototypes'], atol=1e-3)


def test_one_process_is_left_alone():
    model = toy(1)
    sync_bn_statistics(model)
    assert torch.equal(model[1].running_mean, torch.arange(4) * 2.0)


def test_hook_syncs_at_epoch_ends_iteration_checkpoints_and_validation(monkeypatch):
    calls = []
    monkeypatch.setattr(hook_module, 'sync_bn_statistics', lambda m: calls.append(m))
    model = nn.BatchNorm1d(2)
    runner = SimpleNamespace(
        model=model, train_dataloader=[None] * 5, iter=0, max_iters=12,
        hooks=[CheckpointHook(interval=3, by_epoch=False, save_last=True)])
    hook = SyncBNStatisticsHook()
    synced = []
    for it in range(12):  # 12 iterations, epochs of 5
        runner.iter = it
        hook.after_train_iter(runner, it % 5)
        synced += [it + 1] * len(calls)
        calls.clear()
    # after iterations 3, 6, 9, 12 (checkpoints; 12 also the last) and 5, 10 (epoch ends)
    assert synced == [3, 5, 6, 9, 10, 12]
    hook.before_val_epoch(runner)
    assert calls == [model]


def test_hook_runs_after_refresh_and_before_ema():
    """CoCalibrationHook and NonFiniteLossHook (HIGH) first, EMAHook (ABOVE_NORMAL in the
    recipes) copies the averaged buffers after."""
    assert get_priority('HIGH') < get_priority(SyncBNStatisticsHook.priority) < get_priority(
        'ABOVE_NORMAL')
