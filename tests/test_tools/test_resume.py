"""Pre-emption: an interrupted and resumed SsCL run equals the uninterrupted one, and a kill
while a checkpoint is written leaves a loadable latest checkpoint."""
import glob
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from synthetic_data import digits_like
from tool_runs import assert_one_line_error, run_train

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'sscl', 'wrn28-2_digits_40labels.py')
LOGGED = ('loss', 'loss_sup', 'loss_pl', 'loss_ctr', 'pl_mask_rate', 'lr')


def write_config(path, data, *, max_epochs, ckpt_interval, workers=0, extra_hooks=(),
                 source='offline', refresh_by_epoch=False):
    """The digits SsCL recipe shrunk to 40 images: 4 iterations of 2 + 10 images per epoch,
    a co-calibration refresh every 4 iterations, a checkpoint every ``ckpt_interval``."""
    cfg = Config.fromfile(CONFIG)
    loader = cfg.train_dataloader
    for split in (loader.dataset.labeled, loader.dataset.unlabeled, cfg.val_dataloader.dataset,
                  cfg.test_dataloader.dataset):
        split.data_root = data
    loader.update(batch_size=12, num_workers=workers, persistent_workers=workers > 0)
    loader.sampler.update(labeled_batch_size=2, unlabeled_batch_size=10)
    for name in ('val_dataloader', 'test_dataloader'):
        cfg[name].update(num_workers=0, persistent_workers=False)
    cfg.model.queue_len = 32
    # every pseudo label passes: the pseudo-label branch (and its class positives) is active
    cfg.model.loss_pl.threshold = 0.0
    cfg.train_cfg.update(max_epochs=max_epochs, val_interval=max_epochs)
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.update(by_epoch=False, interval=ckpt_interval, max_keep_ckpts=1)
    cfg.log_processor.window_size = 1
    cfg.randomness = dict(seed=0, deterministic=True)
    calibration = cfg.custom_hooks[1]
    assert calibration.type == 'CoCalibrationHook'
    calibration.update(by_epoch=refresh_by_epoch, interval=1 if refresh_by_epoch else 4,
                       batch_size=16, source=source)
    cfg.custom_hooks = [*cfg.custom_hooks, *extra_hooks]
    cfg.custom_imports = dict(imports=['kill_hooks'], allow_failed_imports=False)
    cfg.dump(str(path))
    return str(path)


def write_supervised_config(path, data, *, workers=0, extra_hooks=()):
    """The supervised digits config on 40 images: 3 epochs of 4 iterations of 10 images
    (KeyedSampler), a checkpoint every 6 iterations."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'supervised', 'wrn28-2_digits.py'))
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = data
        loader.update(num_workers=0, persistent_workers=False)
    cfg.train_dataloader.update(batch_size=10, num_workers=workers, persistent_workers=workers > 0)
    cfg.train_cfg.update(max_epochs=3, val_interval=3)
    cfg.param_scheduler[0].update(T_max=3, end=3)
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=6,
                                        max_keep_ckpts=1)
    cfg.log_processor.window_size = 1
    cfg.randomness = dict(seed=0, deterministic=True)
    cfg.custom_hooks = list(extra_hooks)
    cfg.custom_imports = dict(imports=['kill_hooks'], allow_failed_imports=False)
    cfg.dump(str(path))
    return str(path)


def logged_iters(work_dir):
    """``{iteration: {key: value}}`` from every run's scalars.json in ``work_dir``."""
    rows = {}
    for path in sorted(glob.glob(osp.join(str(work_dir), '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if 'loss' in row:
                    rows[row['iter']] = {k: row[k] for k in LOGGED if k in row}
    return rows


def state(path):
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    return {**ckpt['state_dict'], **{f'ema.{k}': v for k, v in ckpt['ema_state_dict'].items()}}


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('digits')
    digits_like(str(root), per_class=4)
    return str(root)


# the default recipe's 'offline' table in the default run; 'steps' behind the slow mark
@pytest.mark.parametrize('source', ['offline', pytest.param('steps', marks=pytest.mark.slow)])
def test_interrupted_and_resumed_run_matches_the_straight_run(data, tmp_path, source):
    """With ``source='steps'`` the refresh at iteration 8 reads the step records, which the
    resumed run only has from the checkpoint of iteration 6."""
    n = 12  # 3 epochs of 4 iterations; the kill falls in the middle of epoch 2
    straight = write_config(tmp_path / 'straight.py', data, max_epochs=3, ckpt_interval=n // 2,
                            source=source)
    result = run_train(straight, tmp_path / 'a')
    assert result.returncode == 0, result.stderr[-3000:]
    from_records = result.stdout.count("refresh from the training steps' records")
    assert from_records == (2 if source == 'steps' else 0), result.stdout[-3000:]

    killed = write_config(tmp_path / 'killed.py', data, max_epochs=3, ckpt_interval=n // 2,
                          extra_hooks=[dict(type='KillAfterIterHook', iteration=n // 2)],
                          source=source)
    result = run_train(killed, tmp_path / 'b')
    assert result.returncode == -9, result.stderr[-3000:]
    assert not (tmp_path / 'b' / f'iter_{n}.pth').exists()
    # resumed from the work dir's latest checkpoint, with 2 dataloader workers this time:
    # the augmentations are keyed by sample position, not by process
    resumed = write_config(tmp_path / 'resumed.py', data, max_epochs=3, ckpt_interval=n // 2,
                           workers=2, source=source)
    result = run_train(resumed, tmp_path / 'b', '--resume')
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'resuming epoch 2 at batch 3 of 4' in result.stdout + result.stderr
    if source == 'steps':
        assert "refresh from the training steps' records" in result.stdout

    a, b = logged_iters(tmp_path / 'a'), logged_iters(tmp_path / 'b')
    assert sorted(a) == sorted(b) == list(range(1, n + 1))
    assert a[n]['pl_mask_rate'] == 1 and a[n]['loss_pl'] > 0
    for it in range(1, n + 1):
        for key, value in a[it].items():
            assert b[it][key] == pytest.approx(value, abs=1e-6), (it, key)

    final_a = state(tmp_path / 'a' / f'iter_{n}.pth')
    final_b = state(tmp_path / 'b' / f'iter_{n}.pth')
    assert final_a.keys() == final_b.keys()
    assert any(k.endswith('prototypes') for k in final_a)  # refreshed at iterations 4 and 8
    for key, value in final_a.items():
        if value.is_floating_point():
            torch.testing.assert_close(final_b[key], value, rtol=0, atol=1e-6, msg=key)
        else:
            assert torch.equal(final_b[key], value), key


@pytest.mark.slow
def test_supervised_run_resumes_exactly_too(data, tmp_path):
    """KeyedSampler gives the supervised (linear-eval, fine-tune) configs the same
    guarantee: same batches, same augmentations, whatever the workers."""
    result = run_train(write_supervised_config(tmp_path / 'straight.py', data), tmp_path / 'a')
    assert result.returncode == 0, result.stderr[-3000:]
    killed = write_supervised_config(tmp_path / 'killed.py', data,
                                     extra_hooks=[dict(type='KillAfterIterHook', iteration=6)])
    assert run_train(killed, tmp_path / 'b').returncode == -9
    resumed = write_supervised_config(tmp_path / 'resumed.py', data, workers=2)
    result = run_train(resumed, tmp_path / 'b', '--resume')
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'resuming epoch 2 at batch 3 of 4' in result.stdout + result.stderr

    a, b = logged_iters(tmp_path / 'a'), logged_iters(tmp_path / 'b')
    assert sorted(a) == sorted(b) == list(range(1, 13))
    for it in range(1, 13):
        for key, value in a[it].items():
            assert b[it][key] == pytest.approx(value, abs=1e-6), (it, key)
    final_a, final_b = (torch.load(d / 'iter_12.pth', map_location='cpu', weights_only=True)
                        for d in (tmp_path / 'a', tmp_path / 'b'))
    for key, value in final_a['state_dict'].items():
        torch.testing.assert_close(final_b['state_dict'][key], value, rtol=0, atol=1e-6,
                                   msg=key)


def test_kill_while_writing_a_checkpoint_keeps_the_previous_one(data, tmp_path):
    config = write_config(tmp_path / 'cfg.py', data, max_epochs=1, ckpt_interval=2,
                          extra_hooks=[dict(type='KillWhileSavingHook', save_index=2)])
    work = tmp_path / 'work'
    result = run_train(config, work)
    assert result.returncode == -9, result.stderr[-3000:]
    assert (work / 'iter_4.pth.tmp').exists() and not (work / 'iter_4.pth').exists()
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_2.pth')
    torch.load(work / 'iter_2.pth', map_location='cpu', weights_only=True)  # intact

    config = write_config(tmp_path / 'cfg_resume.py', data, max_epochs=1, ckpt_interval=2)
    result = run_train(config, work, '--resume')
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'resuming epoch 1 at batch 3 of 4' in result.stdout + result.stderr
    assert not (work / 'iter_4.pth.tmp').exists()
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_4.pth')
    assert not (work / 'iter_2.pth').exists()  # max_keep_ckpts=1, deleted after the save
    assert torch.load(work / 'iter_4.pth', map_location='cpu',
                      weights_only=True)['meta']['iter'] == 4


def test_a_checkpoint_of_the_old_co_calibration_layout_is_refused(data, tmp_path):
    """A checkpoint written before co-calibration's state moved into
    ``SsCL.co_calibration`` stops the resume with one line naming the move."""
    from sscl.registry import MODELS
    from sscl.utils import register_all_modules
    register_all_modules()
    config = write_config(tmp_path / 'cfg.py', data, max_epochs=1, ckpt_interval=4)
    model = MODELS.build(Config.fromfile(config).model)
    old = {k.replace('co_calibration.', '', 1): v for k, v in model.state_dict().items()}
    assert 'prototypes' in old and 'step_records.assigned' in old
    torch.save({'state_dict': old, 'meta': {}}, tmp_path / 'old.pth')
    result = run_train(config, tmp_path / 'work', '--resume', str(tmp_path / 'old.pth'))
    assert_one_line_error(result, 'train.py', 'old.pth: cannot resume SsCL from it',
                          "older version, whose keys now live under 'co_calibration.'",
                          'missing co_calibration.')


def test_the_epoch_based_refresh_runs_after_every_epoch_but_the_last(data, tmp_path):
    """The recipes' schedule (``by_epoch=True``), here every epoch of 3: a refresh before
    training and after epochs 1 and 2, none after the last."""
    config = write_config(tmp_path / 'cfg.py', data, max_epochs=3, ckpt_interval=12,
                          refresh_by_epoch=True)
    result = run_train(config, tmp_path / 'work')
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    lines = [line for line in log.splitlines() if 'CoCalibrationHook: refresh from' in line]
    assert len(lines) == 3, lines
    epochs = [line for line in log.splitlines() if 'Epoch(train)' in line and '[4/4]' in line]
    assert len(epochs) == 3
    # the refreshes fall before epoch 1, then between epochs: none follows the last one
    last_epoch_end = log.rindex('Epoch(train) [3][4/4]')
    assert log.rindex('CoCalibrationHook: refresh from') < last_epoch_end
