"""tools/analysis/pilot.py: a recipe through its first refreshes on a subset, through
mmengine's Runner, and the figures it prints against what the run logged."""
import glob
import importlib.util
import json
import os.path as osp
import re
from types import SimpleNamespace

import pytest
from mmengine.config import Config
from mmengine.logging import MessageHub
from synthetic_data import digits_like, imagenet_like
from tool_runs import ROOT

spec = importlib.util.spec_from_file_location('pilot',
                                              osp.join(ROOT, 'tools', 'analysis', 'pilot.py'))
pilot = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pilot)

DIGITS = osp.join(ROOT, 'configs', 'sscl', 'wrn28-2_digits16_20labels.py')
NO_WORKERS = ['train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False']


def rows(text):
    """The table's rows as lists of cells."""
    return [[c.strip() for c in line.strip('|').split('|')] for line in text.splitlines()
            if re.match(r'\| (\d+|end) \|', line)]


def logged(work_dir):
    """The per-step scalars the LoggerHook wrote (logged every step, window 1)."""
    path, = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    return {d['step']: d for d in map(json.loads, open(path))}


def test_digits_pilot_through_three_refreshes(tmp_path):
    data = str(tmp_path / 'digits')
    digits_like(data, per_class=6, size=16)  # 60 training images
    work = str(tmp_path / 'work')
    text = pilot.main([
        DIGITS, '--subset', '40', '--refreshes', '3', '--work-dir', work, '--cfg-options',
        f'train_dataloader.dataset.labeled.data_root={data}',
        f'train_dataloader.dataset.unlabeled.data_root={data}',
        'train_dataloader.sampler.labeled_batch_size=4',
        'train_dataloader.sampler.unlabeled_batch_size=16', 'train_dataloader.batch_size=20',
        'custom_hooks.CoCalibrationHook.interval=2', 'train_cfg.max_epochs=21',
        'default_hooks.logger.interval=1', 'log_processor.window_size=1', *NO_WORKERS
    ])
    # 40 // 16 = 2 steps per epoch; refreshes before epoch 1 and after epochs 2 and 4
    assert '20 of 20 labeled and 40 of 60 unlabeled images, 3 refreshes, 10 iterations' in text
    table = rows(text)
    assert [r[:2] for r in table] == [['1', '0'], ['2', '4'], ['3', '8'], ['end', '10']]
    steps = logged(work)
    assert sorted(steps) == list(range(1, 11))
    assert table[0][7] == '-'  # no step before the first refresh
    for row, step in zip(table[1:], (4, 8, 10)):
        assert row[7] == f'{steps[step]["key_mean_cos"]:.4f}'
    # each refresh's figures are those the steps after it logged
    for row, step in zip(table, (1, 5, 9)):
        assert row[2] == f'{steps[step]["refresh_embed_mean_cos"]:.4f}'
        assert row[3:6] == [f'{steps[step][f"refresh_{k}"]:.1f}'
                            for k in ('pl_acc', 'proto_acc', 'overlap')]
    # the full recipe: 21 epochs of 60 // 16 steps, a refresh before training and after
    # epochs 2, 4, ..., 20
    assert 'full run on 1 process(es): 21 epochs x 3 iterations = 63 iterations, 11 refreshes' \
        in text
    assert not glob.glob(osp.join(work, '*.pth'))  # no checkpoints, and no validation
    assert 'Epoch(val)' not in open(glob.glob(osp.join(work, '*', '*.log'))[0]).read()


def test_rows_read_each_refresh_and_the_steps_before_it():
    hub = MessageHub.get_instance('pilot_rows')
    for step in range(6):
        hub.update_scalar('train/key_mean_cos', step / 10)
        hub.update_scalar('train/pl_mask_rate', step)
    for i in range(3):  # refreshes before step 0 and after steps 2 and 4 (interval 1 x 2)
        for k in ('embed_mean_cos', 'pl_acc', 'proto_acc', 'overlap', 'time'):
            hub.update_scalar(f'train/refresh_{k}', i + 0.5)
    runner = SimpleNamespace(message_hub=hub)
    assert pilot.refresh_rows(runner, dict(interval=1), per_epoch=2, iters=6) == [
        dict(after=0, key_mean_cos=None, mask_rate=None, embed_mean_cos=0.5, pl_acc=0.5,
             proto_acc=0.5, overlap=0.5, time=0.5),
        dict(after=2, key_mean_cos=0.1, mask_rate=0.5, embed_mean_cos=1.5, pl_acc=1.5,
             proto_acc=1.5, overlap=1.5, time=1.5),
        dict(after=4, key_mean_cos=0.3, mask_rate=2.5, embed_mean_cos=2.5, pl_acc=2.5,
             proto_acc=2.5, overlap=2.5, time=2.5),
        dict(after=6, key_mean_cos=0.5, mask_rate=4.5),
    ]


def test_estimate_scales_steps_and_refreshes():
    full = dict(iters=1000, refreshes=4)
    sizes, subset = dict(labeled=100, unlabeled=900), dict(labeled=10, unlabeled=90)
    offline = dict(mixture=True)
    # 1000 x 0.5 s + (first 2 s + 3 x mean(4, 6) s) x (100 + 900 + 100) / (10 + 90 + 10)
    assert pilot.estimate(full, 0.5, [2.0, 4.0, 6.0], offline, sizes, subset, 1) == \
        pytest.approx(500 + (2 + 3 * 5) * 10)
    # 'steps': after the first, a refresh embeds only the mixture (labeled x 10); 2 ranks
    steps = dict(mixture=True, source='steps')
    assert pilot.estimate(full, 0.5, [2.0, 4.0, 6.0], steps, sizes, subset, 2) == \
        pytest.approx(500 + (2 * 10 + 3 * 5 * 10) / 2)


@pytest.mark.slow
def test_imagenet_recipe_pilot_on_synthetic_data(tmp_path):
    root = str(tmp_path / 'imagenet')
    subset_list = imagenet_like(root)  # 6 training images, one labeled per class
    size = 64
    text = pilot.main([
        osp.join(ROOT, 'configs', 'sscl', 'r50_imagenet_10pct.py'), '--subset', '4',
        '--refreshes', '2', '--world-size', '3', '--work-dir', str(tmp_path / 'work'),
        '--cfg-options', f'train_dataloader.dataset.labeled.data_root={root}',
        f'train_dataloader.dataset.unlabeled.data_root={root}',
        f'train_dataloader.dataset.labeled.labeled_list={subset_list}',
        'train_dataloader.batch_size=3', 'train_dataloader.sampler.labeled_batch_size=1',
        'train_dataloader.sampler.unlabeled_batch_size=2', 'train_dataloader.prefetch_factor=None',
        f'train_dataloader.dataset.labeled.pipeline.1.size={size}',
        f'train_dataloader.dataset.unlabeled.pipeline.1.views.weak.0.size={size}',
        f'train_dataloader.dataset.unlabeled.pipeline.1.views.strong.0.size={size}',
        'custom_hooks.CoCalibrationHook.num_workers=0',
        f'custom_hooks.CoCalibrationHook.pipeline.1.size={size}',
        f'custom_hooks.CoCalibrationHook.pipeline.2.size={size}',
        'custom_hooks.CoCalibrationHook.interval=1', 'model.queue_len=16',
        'model.head.num_classes=2', 'model.num_classes=2', *NO_WORKERS
    ])
    assert '2 of 2 labeled and 4 of 6 unlabeled images, 2 refreshes, 4 iterations' in text
    assert [r[:2] for r in rows(text)] == [['1', '0'], ['2', '2'], ['end', '4']]
    assert all(re.fullmatch(r'[01]\.\d{4}', r[7]) for r in rows(text)[1:])  # key_mean_cos
    # 800 epochs of 6 // (3 x 2) steps on 3 processes; refreshes after every epoch
    assert 'full run on 3 process(es): 800 epochs x 1 iterations = 800 iterations, ' \
        '800 refreshes' in text


def test_a_recipe_without_refresh_is_a_one_line_error(capsys):
    config = osp.join(ROOT, 'configs', 'fixmatch', 'wrn28-2_digits16_20labels.py')
    with pytest.raises(SystemExit):
        pilot.main([config])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (f'pilot.py: error: {config}: a pilot needs a recipe with one '
                   'CoCalibrationHook in custom_hooks (SsCL), found 0')


def test_the_pilot_warns_of_a_collapse_instead_of_stopping():
    """A recipe's collapse guard only logs in the pilot, whose table shows the figures."""
    cfg = Config.fromfile(DIGITS)
    args = SimpleNamespace(seed=0, subset=128, refreshes=2, work_dir='w', config=DIGITS)
    pilot.pilot_config(cfg, args, pilot.refresh_hook(cfg), dict(labeled=20, unlabeled=1437))
    (guard, ) = [h for h in cfg.custom_hooks if h.type == 'CollapseGuardHook']
    assert guard.mode == 'warn'
