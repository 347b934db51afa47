"""tools/misc/print_config.py prints the merged config, overrides applied, as a config file."""
import os.path as osp
import subprocess
import sys

from mmengine.config import Config

from tool_runs import ROOT, assert_one_line_error, cpu_env

CONFIG = osp.join(ROOT, 'configs', 'sscl', 'wrn28-2_digits16_20labels.py')


def print_config(*args):
    return subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'misc', 'print_config.py'),
                           *args], cwd=ROOT, env=cpu_env(PYTHONPATH=ROOT), capture_output=True,
                          text=True, timeout=120)


def test_prints_the_merged_config_with_overrides(tmp_path):
    done = print_config(CONFIG, '--cfg-options', 'model.num_positives=0',
                        'train_dataloader.num_workers=0')
    assert done.returncode == 0, done.stderr
    printed = Config.fromstring(done.stdout, '.py')
    expected = Config.fromfile(CONFIG)
    expected.merge_from_dict({'model.num_positives': 0, 'train_dataloader.num_workers': 0})
    assert printed.model.num_positives == 0 and expected.model.num_positives == 0
    # everything else as the file and its _base_ files give it
    assert printed.to_dict() == expected.to_dict()
    assert printed.default_hooks.checkpoint.type == 'AtomicCheckpointHook'  # from _base_


def test_an_override_that_changes_nothing_is_refused():
    done = print_config(CONFIG, '--cfg-options', 'vis_backends=[]')
    assert_one_line_error(done, 'print_config.py', '"vis_backends" is a variable',
                          'visualizer.vis_backends', '--tensorboard')
