"""CollapseGuardHook on a hand-fed message hub: window, warm-up, refreshes, warn mode, and
the last good checkpoint kept as the latest."""
import os
import os.path as osp
import uuid
from types import SimpleNamespace

import pytest
from mmengine.logging import MessageHub

from sscl.engine.hooks import CollapseGuardHook
from sscl.engine.hooks.weights_only_checkpoint_hook import from_plain, to_plain
from sscl.registry import HOOKS
from sscl.utils.errors import CollapseError, ConfigError

KEY, REFRESH = 'train/key_mean_cos', 'train/refresh_embed_mean_cos'


class Logger:

    def __init__(self):
        self.warnings = []

    def warning(self, msg):
        self.warnings.append(msg)


def make_runner(work_dir='.', hooks=None):
    refresh = HOOKS.build(dict(type='CoCalibrationHook', pipeline=[]))
    return SimpleNamespace(
        message_hub=MessageHub.get_instance(f'guard_{uuid.uuid4().hex}'),
        iter=0, epoch=0, work_dir=str(work_dir), logger=Logger(),
        hooks=[refresh] if hooks is None else hooks)


def step(hook, runner, value, iters_per_epoch=None):
    """One training iteration whose step logged key_mean_cos = value."""
    runner.message_hub.update_scalar(KEY, value)
    hook.after_train_iter(runner, runner.iter)
    runner.iter += 1
    if iters_per_epoch and runner.iter % iters_per_epoch == 0:
        hook.after_train_epoch(runner)
        runner.epoch += 1


def test_trips_only_after_window_consecutive_iterations():
    hook = CollapseGuardHook(key_threshold=0.99, window=3, warmup=0, by_epoch=False)
    runner = make_runner()
    for v in [0.5, 0.995, 0.99, 0.5, 0.995, 0.999]:  # the 0.5 breaks the first streak
        step(hook, runner, v)
    with pytest.raises(CollapseError) as e:
        step(hook, runner, 0.995)
    assert str(e.value) == ('CollapseGuardHook: the embedding collapsed: key_mean_cos stayed '
                            '>= 0.99 for 3 iterations, 0.9950 at iteration 7 (epoch 1); '
                            'training stopped, no checkpoint was saved')


def test_below_threshold_never_trips():
    hook = CollapseGuardHook(key_threshold=0.99, window=2, warmup=0, by_epoch=False)
    runner = make_runner()
    for _ in range(50):
        step(hook, runner, 0.989)


def test_warmup_in_iterations():
    hook = CollapseGuardHook(key_threshold=0.9, window=2, warmup=5, by_epoch=False)
    runner = make_runner()
    for _ in range(5):  # iterations 1-4 are the warm-up; 5 is the first judged
        step(hook, runner, 1.0)
    with pytest.raises(CollapseError, match='at iteration 6 '):
        step(hook, runner, 1.0)


def test_warmup_in_epochs():
    hook = CollapseGuardHook(key_threshold=0.9, window=2, warmup=2, by_epoch=True)
    runner = make_runner()
    for _ in range(8):  # two epochs of 4 iterations, not judged
        step(hook, runner, 1.0, iters_per_epoch=4)
    step(hook, runner, 1.0, iters_per_epoch=4)
    with pytest.raises(CollapseError, match=r'at iteration 10 \(epoch 3\)'):
        step(hook, runner, 1.0, iters_per_epoch=4)


def test_warn_mode_logs_and_trains_on():
    hook = CollapseGuardHook(key_threshold=0.9, window=2, warmup=0, by_epoch=False, mode='warn')
    runner = make_runner()
    for _ in range(5):
        step(hook, runner, 0.95)
    # a warning at each full window: iterations 2 and 4
    assert runner.logger.warnings == [
        f'CollapseGuardHook: the embedding collapsed: key_mean_cos stayed >= 0.9 for 2 '
        f'iterations, 0.9500 at iteration {i} (epoch 1); training goes on (mode="warn")'
        for i in (2, 4)
    ]


def test_refresh_before_iteration_0_is_judged_only_without_warmup():
    for warmup, trips in ((0, True), (1, False)):
        hook = CollapseGuardHook(key_threshold=None, refresh_threshold=0.99, warmup=warmup)
        runner = make_runner()
        runner.message_hub.update_scalar(REFRESH, 0.995)
        if trips:
            with pytest.raises(CollapseError,
                               match=r'refresh_embed_mean_cos reached 0.9950 \(>= 0.99\) at '
                               r'the refresh after iteration 0 \(epoch 1\)'):
                hook.before_train(runner)
        else:
            hook.before_train(runner)


def test_refresh_after_warmup_trips_once_logged_not_on_a_stale_value():
    hook = CollapseGuardHook(key_threshold=None, refresh_threshold=0.99, warmup=1)
    runner = make_runner()
    runner.message_hub.update_scalar(REFRESH, 0.999)  # the refresh before iteration 0
    hook.before_train(runner)
    for _ in range(4):  # epochs 1 and 2 without a refresh: the stale 0.999 is not judged
        step(hook, runner, 0.5, iters_per_epoch=2)

    def epoch_with_refresh(value):
        step(hook, runner, 0.5)
        step(hook, runner, 0.5)
        runner.message_hub.update_scalar(REFRESH, value)  # CoCalibrationHook, epoch end
        hook.after_train_epoch(runner)
        runner.epoch += 1

    epoch_with_refresh(0.5)
    with pytest.raises(CollapseError, match=r'reached 0.9960 .* after iteration 8 \(epoch 4'):
        epoch_with_refresh(0.996)


def test_refresh_by_iteration_is_judged_in_after_train_iter():
    hook = CollapseGuardHook(key_threshold=None, refresh_threshold=0.99, warmup=0)
    runner = make_runner()
    step(hook, runner, 0.5)
    runner.message_hub.update_scalar(REFRESH, 0.995)
    with pytest.raises(CollapseError, match='after iteration 2 '):
        step(hook, runner, 0.5)


@pytest.mark.parametrize('plain', [False, True])
def test_resumed_refreshes_are_not_judged_again(plain):
    """Also from a weights-only checkpoint, whose buffers WeightsOnlyCheckpointHook
    (VERY_LOW) rebuilds after this hook has read them."""
    old = MessageHub.get_instance(f'old_{uuid.uuid4().hex}')
    old.update_scalar(REFRESH, 0.999)  # logged during the previous run's warm-up
    hook = CollapseGuardHook(key_threshold=None, refresh_threshold=0.99, warmup=1)
    runner = make_runner()
    ckpt = dict(message_hub=to_plain(old.state_dict()) if plain else old.state_dict())
    hook.after_load_checkpoint(runner, ckpt)  # Runner.resume: hooks, then the hub
    runner.message_hub.load_state_dict(from_plain(ckpt['message_hub']))
    runner.epoch, runner.iter = 4, 40
    hook.before_train(runner)  # prototypes resumed: no refresh, nothing new to judge
    runner.message_hub.update_scalar(REFRESH, 0.999)
    with pytest.raises(CollapseError, match='after iteration 40'):
        hook.before_train(runner)


def checkpoint(runner, work_dir, name):
    """What CheckpointHook does after an iteration: write the file and last_checkpoint."""
    path = osp.join(work_dir, name)
    open(path, 'w').close()
    runner.message_hub.update_info('last_ckpt', path)
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(path)
    return path


def test_checkpoint_written_inside_the_window_stops_being_the_latest(tmp_path):
    hook = CollapseGuardHook(key_threshold=0.99, window=3, warmup=0, by_epoch=False)
    runner = make_runner(tmp_path)
    step(hook, runner, 0.5)
    step(hook, runner, 0.5)
    good = checkpoint(runner, tmp_path, 'iter_2.pth')  # after a spread iteration 2
    step(hook, runner, 0.995)
    step(hook, runner, 0.995)
    bad = checkpoint(runner, tmp_path, 'iter_4.pth')  # inside the window
    with pytest.raises(CollapseError) as e:
        step(hook, runner, 0.995)
    assert str(e.value).endswith(f'the last good checkpoint is {good} ({bad} was written '
                                 'during the collapse)')
    assert (tmp_path / 'last_checkpoint').read_text() == good
    assert runner.message_hub.get_info('last_ckpt') == good


def test_without_a_good_checkpoint_last_checkpoint_is_removed(tmp_path):
    hook = CollapseGuardHook(key_threshold=0.99, window=2, warmup=0, by_epoch=False)
    runner = make_runner(tmp_path)
    good = checkpoint(runner, tmp_path, 'iter_0.pth')
    step(hook, runner, 0.995)
    bad = checkpoint(runner, tmp_path, 'iter_1.pth')
    os.remove(good)  # max_keep_ckpts=1 deleted it
    with pytest.raises(CollapseError, match='no checkpoint from before the collapse is kept '
                       rf'\({bad} was written during it; last_checkpoint removed\)'):
        step(hook, runner, 0.995)
    assert not (tmp_path / 'last_checkpoint').exists()


def test_a_checkpoint_before_the_window_stays(tmp_path):
    hook = CollapseGuardHook(key_threshold=0.99, window=2, warmup=0, by_epoch=False)
    runner = make_runner(tmp_path)
    good = checkpoint(runner, tmp_path, 'iter_0.pth')
    step(hook, runner, 0.995)
    with pytest.raises(CollapseError, match=f'the last good checkpoint is {good}$'):
        step(hook, runner, 0.995)
    assert (tmp_path / 'last_checkpoint').read_text() == good


@pytest.mark.parametrize('kwargs, fragment', [
    (dict(key_threshold=1.5), 'key_threshold must be in (0, 1] or None, got 1.5'),
    (dict(key_threshold=None, refresh_threshold=None), 'nothing to guard'),
    (dict(window=0), 'window must be an int >= 1, got 0'),
    (dict(warmup=-1), 'warmup must be an int >= 0, got -1'),
    (dict(mode='log'), "mode must be one of ('stop', 'warn'), got 'log'"),
])
def test_bad_arguments(kwargs, fragment):
    with pytest.raises(ConfigError, match=fragment.replace('(', r'\(').replace(')', r'\)')):
        CollapseGuardHook(**kwargs)


def test_a_model_without_key_mean_cos_or_refresh_hook_is_a_config_error():
    hook = CollapseGuardHook(warmup=10, by_epoch=False)
    runner = make_runner()
    with pytest.raises(ConfigError, match='logs no key_mean_cos'):  # at the first step
        hook.after_train_iter(runner, 0)
    with pytest.raises(ConfigError, match='needs a CoCalibrationHook'):
        hook.before_train(make_runner(hooks=[]))
