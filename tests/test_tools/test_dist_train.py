"""tools/dist_train.sh with 2 gloo processes on the CPU, on small synthetic data."""
import os
import os.path as osp
import subprocess

import torch
from synthetic_data import digits_like
from tool_runs import cpu_env, free_port
from torchvision.io import write_jpeg

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NO_WORKERS = ['train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
              'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False']


def run_dist(config, work_dir, *cfg_options, extra=()):
    env = cpu_env(PORT=str(free_port()))
    cmd = ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), config, '2', '--work-dir',
           str(work_dir), *extra, '--cfg-options', *cfg_options]
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def test_supervised_digits_two_processes_then_resume(tmp_path):
    data = str(tmp_path / 'digits')
    digits_like(data)
    opts = [f'train_dataloader.dataset.data_root={data}',
            f'val_dataloader.dataset.data_root={data}',
            'train_dataloader.batch_size=8', 'default_hooks.checkpoint.interval=1',
            'default_hooks.checkpoint.save_best=None', *NO_WORKERS]
    work = tmp_path / 'work'
    run_dist('configs/supervised/wrn28-2_digits.py', work, 'train_cfg.max_epochs=1',
             *opts)
    assert (work / 'epoch_1.pth').exists()
    ckpt = torch.load(work / 'epoch_1.pth', map_location='cpu', weights_only=True)
    assert ckpt['meta']['epoch'] == 1
    log = run_dist('configs/supervised/wrn28-2_digits.py', work,
                   'train_cfg.max_epochs=2', *opts, extra=['--resume'])
    assert 'resumed epoch: 1' in log
    assert (work / 'epoch_2.pth').exists()


def test_sscl_imagenet_recipe_runs_on_two_processes(tmp_path):
    """The 10 % recipe with the step-record refresh: an offline refresh before training,
    one from the records (gathered over both ranks) after iteration 2 of 4."""
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
    log = run_dist('configs/sscl/r50_imagenet_10pct_step-refresh.py', work, *opts)
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
