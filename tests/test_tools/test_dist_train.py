"""tools/dist_train.sh with 2 gloo processes on the CPU, on small synthetic data."""
import os
import os.path as osp
import subprocess

import pytest
import torch
from mmengine.config import Config
from synthetic_data import digits_like
from tool_runs import cpu_env, free_port, run_train
from torchvision.io import write_jpeg

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
NO_WORKERS = ['train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
              'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False']


def run_dist(config, work_dir, *cfg_options, extra=()):
    # tests/test_tools importable for the probe hooks of kill_hooks.py
    env = cpu_env(PORT=str(free_port()), PYTHONPATH=os.pathsep.join([HERE, ROOT]))
    cmd = ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), config, '2', '--work-dir',
           str(work_dir), *extra, '--cfg-options', *cfg_options]
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def initial_lr(checkpoint):
    ckpt = torch.load(checkpoint, map_location='cpu', weights_only=True)
    return ckpt['optimizer']['param_groups'][0]['initial_lr']


def test_supervised_digits_two_processes_then_resume(tmp_path):
    """2 processes of 8 images with --auto-scale-lr: lr 0.03 x 16 / 64 reaches the
    optimizer (one process of 8 images: 0.03 x 8 / 64); then a resume."""
    data = str(tmp_path / 'digits')
    digits_like(data)
    opts = [f'train_dataloader.dataset.data_root={data}',
            f'val_dataloader.dataset.data_root={data}',
            'train_dataloader.batch_size=8', 'default_hooks.checkpoint.interval=1',
            'default_hooks.checkpoint.save_best=None', *NO_WORKERS]
    work = tmp_path / 'work'
    run_dist('configs/supervised/wrn28-2_digits.py', work, 'train_cfg.max_epochs=1',
             *opts, extra=['--auto-scale-lr'])
    assert (work / 'epoch_1.pth').exists()
    ckpt = torch.load(work / 'epoch_1.pth', map_location='cpu', weights_only=True)
    assert ckpt['meta']['epoch'] == 1
    assert initial_lr(work / 'epoch_1.pth') == pytest.approx(0.03 * 16 / 64)
    log = run_dist('configs/supervised/wrn28-2_digits.py', work,
                   'train_cfg.max_epochs=2', *opts, extra=['--resume'])
    assert 'resumed epoch: 1' in log
    assert (work / 'epoch_2.pth').exists()

    one = tmp_path / 'one'
    result = run_train('configs/supervised/wrn28-2_digits.py', one, '--auto-scale-lr',
                       '--cfg-options', 'train_cfg.max_epochs=1', *opts)
    assert result.returncode == 0, result.stderr[-3000:]
    assert initial_lr(one / 'epoch_1.pth') == pytest.approx(0.03 * 8 / 64)


@pytest.mark.slow
def test_sscl_imagenet_recipe_runs_on_two_processes(tmp_path):
    """The 10 % recipe with the step-record refresh: an offline refresh before training,
    one from the records (gathered over both ranks) after iteration 2 of 4. Both ranks end
    with the same state: queue, prototypes, table, window, records and key encoder."""
    root = tmp_path / 'imagenet'
    g = torch.Generator().manual_seed(0)
    for split, n in (('train', 8), ('val', 2)):
        for c, wnid in enumerate(['n01440764', 'n01443537']):
            os.makedirs(root / split / wnid, exist_ok=True)
            for i in range(n):
                img = (torch.rand(3, 48, 40, generator=g) * 100 + 100 * c).to(torch.uint8)
                write_jpeg(img, str(root / split / wnid / f'{wnid}_{i}.JPEG'))
    # a SimCLR-style subset list: file names only, the class is the wnid prefix
    subset = tmp_path / 'subset.txt'
    subset.write_text('n01440764_0.JPEG\nn01440764_3.JPEG\nn01443537_1.JPEG\nn01443537_5.JPEG\n')
    size = 64
    opts = [
        f'train_dataloader.dataset.labeled.data_root={root}',
        f'train_dataloader.dataset.unlabeled.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'train_dataloader.dataset.labeled.labeled_list={subset}',
        'train_dataloader.batch_size=3', 'train_dataloader.sampler.labeled_batch_size=1',
        'train_dataloader.sampler.unlabeled_batch_size=2', 'train_dataloader.prefetch_factor=None',
        f'train_dataloader.dataset.labeled.pipeline.1.size={size}',
        f'train_dataloader.dataset.unlabeled.pipeline.1.views.weak.0.size={size}',
        f'train_dataloader.dataset.unlabeled.pipeline.1.views.strong.0.size={size}',
        f'val_dataloader.dataset.pipeline.1.size={size}',
        f'val_dataloader.dataset.pipeline.2.size={size}',
        'custom_hooks.1.num_workers=0', f'custom_hooks.1.pipeline.1.size={size}',
        f'custom_hooks.1.pipeline.2.size={size}', 'model.queue_len=64', 'model.head.num_classes=2',
        'model.num_classes=2', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'val_dataloader.batch_size=2', 'custom_hooks.1.by_epoch=False',
        'custom_hooks.1.interval=2', *NO_WORKERS
    ]
    work = tmp_path / 'work'
    config = Config.fromfile(osp.join(ROOT, 'configs/sscl/r50_imagenet_10pct_step-refresh.py'))
    config.custom_hooks.append(dict(type='DumpRankStateHook'))
    config.custom_imports = dict(imports=['kill_hooks'], allow_failed_imports=False)
    config.dump(str(tmp_path / 'recipe.py'))
    log = run_dist(str(tmp_path / 'recipe.py'), work, *opts)
    assert 'CoCalibrationHook: refresh from embedding both sets took' in log
    assert "CoCalibrationHook: refresh from the training steps' records took" in log
    assert 'loss_ctr' in log and 'accuracy/top1' in log
    ckpt = torch.load(work / 'epoch_1.pth', map_location='cpu', weights_only=True)
    state = ckpt['state_dict']
    assert 'backbone.layer4.2.bn3.running_var' in state and 'queue.queue' in state
    assert state['co_calibration.pseudo_labels'].shape == (16, )
    assert bool(state['co_calibration.prototypes_ready'])
    assert state['co_calibration.step_records.labeled_embed'].shape == (4, 128)
    assert (state['co_calibration.step_records.assigned'] >= 0).all()
    assert 'ema_state_dict' in ckpt
    ranks = [torch.load(work / f'rank{r}_state.pth', weights_only=True) for r in range(2)]
    assert ranks[0].keys() == ranks[1].keys()
    for key in ('queue.queue', 'queue.queue_labels', 'queue.queue_ptr',
                'co_calibration.prototypes', 'co_calibration.pseudo_labels',
                'co_calibration.calib_window', 'co_calibration.calib_count',
                'co_calibration.step_records.labeled_embed', 'co_calibration.step_records.assigned',
                'momentum_encoder.backbone.layer4.2.bn3.running_var',
                'momentum_encoder.neck.mlp.0.weight'):
        assert key in ranks[0], key
    assert (ranks[0]['queue.queue_labels'] >= 0).sum() > 0  # labeled keys of both ranks queued
    # BN running statistics are each rank's own between DDP's broadcasts of rank 0's buffers
    # at every forward (the checkpoint holds rank 0's); everything else must be identical
    bn_stats = ('running_mean', 'running_var', 'num_batches_tracked')
    compared = [k for k in ranks[0] if not k.endswith(bn_stats)]
    assert len(compared) > 300  # every parameter, the queue and co-calibration state
    for key in compared:
        assert torch.equal(ranks[0][key], ranks[1][key]), f'{key} differs between the ranks'
