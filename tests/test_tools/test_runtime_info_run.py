"""A short training run logs the same scalars (scalars.json) with BatchedRuntimeInfoHook,
the recipes' default, as with mmengine's RuntimeInfoHook."""
import json

import pytest
from mmengine.config import Config
from mmengine.runner import Runner
from synthetic_data import digits_like
from test_training_configs import ROOT, shrink

from sscl.utils import register_all_modules

TIMING = ('time', 'data_time', 'eta', 'refresh_time')  # wall-clock: other in every run


def logged(hook_type, roots, work_dir):
    register_all_modules()
    cfg = Config.fromfile(f'{ROOT}/configs/sscl/wrn28-2_digits16_20labels.py')
    shrink(cfg, roots, work_dir)
    cfg.default_hooks.runtime_info.type = hook_type
    runner = Runner.from_cfg(cfg)
    runner.train()
    path = f'{work_dir}/{runner.timestamp}/vis_data/scalars.json'
    with open(path) as f:
        return [{k: v for k, v in json.loads(line).items() if k not in TIMING} for line in f]


@pytest.mark.slow
def test_scalars_equal_runtime_info_hooks(tmp_path):
    digits_like(str(tmp_path / 'digits'), per_class=1, test_per_class=1)
    roots = dict(digits=str(tmp_path / 'digits'))
    default = logged('RuntimeInfoHook', roots, tmp_path / 'default')
    batched = logged('BatchedRuntimeInfoHook', roots, tmp_path / 'batched')
    train = [line for line in default if 'loss_ctr' in line]
    assert len(train) == 2 and {'loss', 'loss_pl', 'key_mean_cos', 'lr'} <= set(train[0])
    assert batched == default
