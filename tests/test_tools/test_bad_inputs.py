"""Bad data, configs and checkpoints stop tools/train.py with one clear line, no traceback."""
import os
import os.path as osp
import pickle

import pytest
import torch
from synthetic_data import digits_like
from tool_runs import assert_one_line_error, run_train

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SUPERVISED = 'configs/supervised/wrn28-2_digits.py'
SSCL = 'configs/sscl/wrn28-2_digits_40labels.py'


def loaders(data, workers=0):
    """Options pointing every dataloader of the supervised config at ``data``."""
    opts = []
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{name}.dataset.data_root={data}', f'{name}.num_workers={workers}',
                 f'{name}.persistent_workers={workers > 0}']
    return opts + ['train_dataloader.batch_size=10', 'train_cfg.max_epochs=1']


def train(work_dir, config, *cfg_options, args=()):
    return run_train(config, work_dir, *args,
                     *(['--cfg-options', *cfg_options] if cfg_options else []))


def assert_clean_error(result, *fragments):
    """Exit status 1, the last stderr line is the one-line message holding ``fragments``."""
    assert_one_line_error(result, 'train.py', *fragments)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('digits')
    digits_like(str(root), per_class=2, test_per_class=1)
    return str(root)


@pytest.mark.parametrize('lines,message', [
    ('0/0.png 0\n7/9.png 7\n', 'list.txt:2: image not found: '),
    ('0/0.png 0 extra\n', 'list.txt:1: malformed line "0/0.png 0 extra"'),
    ('0/0.png 12\n', 'list.txt:1: label 12 is outside [0, 10)'),
])
def test_bad_list_file(data, tmp_path, lines, message):
    (tmp_path / 'list.txt').write_text(lines)
    result = train(tmp_path / 'work', SUPERVISED, *loaders(data),
                   'train_dataloader.dataset.type=ListFileDataset',
                   f'train_dataloader.dataset.ann_file={tmp_path / "list.txt"}')
    assert_clean_error(result, message)


def test_labeled_split_missing_a_class(data, tmp_path):
    (tmp_path / 'labels.txt').write_text(''.join(f'{c}/0.png\n' for c in range(9)))
    result = train(tmp_path / 'work', SSCL,
                   f'train_dataloader.dataset.labeled.data_root={data}',
                   f'train_dataloader.dataset.unlabeled.data_root={data}',
                   'train_dataloader.dataset.labeled.num_per_class=None',
                   f'train_dataloader.dataset.labeled.labeled_list={tmp_path / "labels.txt"}')
    assert_clean_error(result, "has no sample of class(es) ['9']")


def test_corrupt_image_fails_or_is_skipped(data, tmp_path):
    bad = tmp_path / 'digits'
    digits_like(str(bad), per_class=2, test_per_class=1)
    (bad / 'train' / '3' / '1.png').write_bytes(b'not a png')
    result = train(tmp_path / 'a', SUPERVISED, *loaders(str(bad), workers=2))
    assert_clean_error(result, 'cannot decode image ', '/train/3/1.png')
    assert not (tmp_path / 'a' / 'epoch_1.pth').exists()

    result = train(tmp_path / 'b', SUPERVISED, *loaders(str(bad)),
                   'train_dataloader.dataset.skip_bad_images=True')
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'skipped: cannot decode image' in result.stdout + result.stderr
    assert '(1 skipped by this process)' in result.stdout + result.stderr
    assert (tmp_path / 'b' / 'epoch_1.pth').exists()


@pytest.mark.parametrize('option,fragments', [
    ('model.backbone.widen=3', ('WideResNet', "unexpected keyword argument 'widen'")),
    ('model.backbone.type=WideResNett',
     ('WideResNett is not in the', 'did you mean "WideResNet"?')),
    ('train_dataloder.batch_size=4', ('unknown top-level key "train_dataloder"',
                                      'did you mean "train_dataloader"?')),
    ('train_dataloader.batchsize=4', ("unexpected keyword argument 'batchsize'", )),
])
def test_config_errors(data, tmp_path, option, fragments):
    assert_clean_error(train(tmp_path / 'work', SUPERVISED, *loaders(data), option), *fragments)


def test_missing_config(tmp_path):
    assert_clean_error(train(tmp_path / 'work', 'configs/nope.py'), 'config file not found')


def test_checkpoint_of_another_architecture(data, tmp_path):
    from sscl.registry import MODELS
    from sscl.utils import register_all_modules
    register_all_modules()
    model = MODELS.build(
        dict(type='ImageClassifier', backbone=dict(type='WideResNet', depth=28, widen_factor=2),
             head=dict(type='LinearClsHead', num_classes=5, in_channels=128)))
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, tmp_path / 'five.pth')
    for how in (['--resume', str(tmp_path / 'five.pth')], []):
        options = [] if how else [f'load_from={tmp_path / "five.pth"}']
        result = train(tmp_path / 'work', SUPERVISED, *loaders(data), *options, args=how)
        assert_clean_error(result, 'five.pth: 2 weight(s) have another shape',
                           'head.fc.weight (5, 128) vs (10, 128)')


def test_load_from_a_checkpoint_of_another_depth(data, tmp_path):
    """WRN-16-2 shares its first blocks with WRN-28-2: load_from would leave the rest of
    the backbone random."""
    from sscl.registry import MODELS
    from sscl.utils import register_all_modules
    register_all_modules()
    model = MODELS.build(
        dict(type='ImageClassifier', backbone=dict(type='WideResNet', depth=16, widen_factor=2),
             head=dict(type='LinearClsHead', num_classes=10, in_channels=128)))
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, tmp_path / 'wrn16.pth')
    result = train(tmp_path / 'work', SUPERVISED, *loaders(data),
                   f'load_from={tmp_path / "wrn16.pth"}')
    assert_clean_error(result, 'wrn16.pth: matched ', 'backbone keys of ImageClassifier',
                       'missing backbone.', 'the rest would stay random')


class Exploit:
    def __reduce__(self):
        return (os.system, (f'touch {MARKER}', ))


MARKER = '/tmp/sscl_test_exploit_ran'


def test_resume_refuses_a_pickle_that_runs_code(data, tmp_path):
    if osp.exists(MARKER):
        os.remove(MARKER)
    (tmp_path / 'evil.pth').write_bytes(pickle.dumps({'state_dict': Exploit()}))
    torch.save({'state_dict': {}, 'x': Exploit()}, tmp_path / 'evil2.pth')
    for evil in ('evil.pth', 'evil2.pth'):
        result = train(tmp_path / 'work', SUPERVISED, *loaders(data),
                       args=['--resume', str(tmp_path / evil)])
        assert_clean_error(result, f'{evil}: refusing to unpickle', '--allow-pickle')
    assert not osp.exists(MARKER)


@pytest.mark.parametrize('value', ['nan', 'inf'])
def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(data, tmp_path, value):
    work, config = tmp_path / 'work', tmp_path / 'poisoned.py'
    config.write_text(f"_base_ = '{osp.join(ROOT, SUPERVISED)}'\n"
                      "custom_imports = dict(imports=['kill_hooks'])\n"
                      f"custom_hooks = [dict(type='PoisonWeightsHook', iteration=4, "
                      f"value='{value}')]\n")
    result = train(work, str(config), *loaders(data), 'train_cfg.max_epochs=3',
                   'default_hooks.checkpoint.by_epoch=False',
                   'default_hooks.checkpoint.interval=2', 'default_hooks.checkpoint.save_best=None')
    assert_clean_error(result, f'loss became {value} at iteration 4', 'last good checkpoint is ',
                       'iter_2.pth')
    assert (work / 'last_checkpoint').read_text().endswith('iter_2.pth')
    assert not (work / 'iter_4.pth').exists()
    ckpt = torch.load(work / 'iter_2.pth', map_location='cpu', weights_only=True)
    assert all(v.isfinite().all() for v in ckpt['state_dict'].values() if v.is_floating_point())


LINEAR = 'configs/linear_eval/wrn28-2_digits_linear.py'


def test_pretrained_backbone_that_does_not_fit_is_refused(data, tmp_path):
    """Linear evaluation from a checkpoint of another depth, under a wrong prefix, or one
    that would run pickled code: one line each, before any training."""
    from sscl.registry import MODELS
    from sscl.utils import register_all_modules
    register_all_modules()
    wrn16 = MODELS.build(
        dict(type='ImageClassifier', backbone=dict(type='WideResNet', depth=16, widen_factor=2),
             head=dict(type='LinearClsHead', num_classes=10, in_channels=128)))
    ckpt = tmp_path / 'wrn16.pth'
    torch.save({'state_dict': wrn16.state_dict(), 'meta': {}}, ckpt)
    result = train(tmp_path / 'work', LINEAR, *loaders(data),
                   f'model.backbone.init_cfg.checkpoint={ckpt}')
    assert_clean_error(result, f"{ckpt} (prefix 'backbone.'): matched ",
                       'keys of WideResNet (missing ')
    result = train(tmp_path / 'work', LINEAR, *loaders(data),
                   f'model.backbone.init_cfg.checkpoint={ckpt}',
                   'model.backbone.init_cfg.prefix=encoder.')
    assert_clean_error(result, "(prefix 'encoder.'): no key starts with the prefix",
                       'keys start backbone.')
    if osp.exists(MARKER):
        os.remove(MARKER)
    torch.save({'state_dict': {}, 'x': Exploit()}, tmp_path / 'evil.pth')
    for config, option in ((LINEAR, f'model.backbone.init_cfg.checkpoint={tmp_path}/evil.pth'),
                           (SUPERVISED, f'load_from={tmp_path}/evil.pth')):
        result = train(tmp_path / 'work', config, *loaders(data), option)
        assert_clean_error(result, 'evil.pth: refusing to unpickle', '--allow-pickle')
    assert not osp.exists(MARKER)


def test_amp_without_a_gpu(tmp_path):
    if torch.cuda.is_available():
        pytest.skip('this machine has a GPU: --amp is valid here')
    assert_clean_error(train(tmp_path / 'work', SUPERVISED, args=['--amp']),
                       '--amp needs a CUDA device')


def test_semi_batch_size_must_match_the_sampler(data, tmp_path):
    # the sampler's two sizes overridden, the loader's batch_size left at 16 + 64
    result = train(tmp_path / 'work', SSCL, 'train_dataloader.sampler.labeled_batch_size=8',
                   'train_dataloader.sampler.unlabeled_batch_size=32')
    assert_clean_error(result, 'train_dataloader.batch_size=80 must equal',
                       'labeled_batch_size + unlabeled_batch_size = 8 + 32 = 40')


def test_default_work_dirs_of_same_named_configs_differ():
    from sscl.utils.cli import default_work_dir
    a = default_work_dir('configs/sscl/wrn28-2_digits_40labels.py')
    b = default_work_dir('configs/fixmatch/wrn28-2_digits_40labels.py')
    assert a == osp.join('./work_dirs', 'sscl', 'wrn28-2_digits_40labels') and a != b


def test_overriding_a_config_variable_is_refused(data, tmp_path):
    # split_seed is read when the file is parsed: the override would reach no dataset
    result = train(tmp_path / 'work', SSCL, 'split_seed=3')
    assert_clean_error(result, '--cfg-options split_seed: "split_seed" is a variable',
                       'changes nothing', 'train_dataloader.dataset.labeled.split_seed')
    assert not (tmp_path / 'work').exists()


def test_hooks_are_addressed_by_type_and_a_wrong_index_is_refused():
    from mmengine import Config
    from sscl.utils.cli import merge_overrides
    from sscl.utils.errors import ConfigError
    cfg = Config.fromfile(osp.join(ROOT, SSCL))
    merge_overrides(cfg, {'custom_hooks.CoCalibrationHook.mixture': False}, SSCL)
    hook = [h for h in cfg.custom_hooks if h.type == 'CoCalibrationHook'][0]
    assert hook.mixture is False and 'mixture' not in cfg.custom_hooks[0]
    with pytest.raises(ConfigError, match='custom_hooks has 3 hooks'):
        merge_overrides(cfg, {'custom_hooks.5.mixture': False}, SSCL)
    with pytest.raises(ConfigError, match='0 hooks of type NoHook'):
        merge_overrides(cfg, {'custom_hooks.NoHook.mixture': False}, SSCL)
