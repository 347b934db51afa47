"""A checkpoint written before the co-calibration/SsCL moves (tests/data/goldens/), on a
tiny backbone: it loads and resumes, and the resumed run logs the losses of the run that
wrote it, bit for bit. Rewritten only with the other goldens (tests/test_engine/
test_goldens.py says how and when).
"""
import json
import os
import os.path as osp
import shutil

import pytest
from mmengine.config import Config
from synthetic_data import digits_like
from test_resume import logged_iters, write_config
from tool_runs import run_train

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GOLDENS = osp.join(ROOT, 'tests', 'data', 'goldens')
WRITE = os.environ.get('SSCL_WRITE_GOLDENS') == '1'


def tiny_config(path, data, max_epochs=2):
    """The digits SsCL recipe (resume tests' shrink) on :class:`GoldenTinyNet`: 4
    iterations per epoch, a refresh and a checkpoint every 4."""
    write_config(path, data, max_epochs=max_epochs, ckpt_interval=4)
    cfg = Config.fromfile(str(path))
    cfg.model.backbone = dict(type='GoldenTinyNet', channels=16)
    cfg.model.neck.update(in_channels=16, hid_channels=16, out_channels=8)
    cfg.model.head.in_channels = 16
    cfg.model.feat_dim = 8
    cfg.custom_imports.imports.append('tiny_backbone')
    cfg.default_hooks.checkpoint.max_keep_ckpts = 2
    cfg.dump(str(path))
    return str(path)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('digits')
    digits_like(str(root), per_class=4)
    return str(root)


def test_committed_checkpoint_resumes_to_the_golden_losses(data, tmp_path):
    """The checkpoint of iteration 4, written when the goldens were, loads and resumes:
    iterations 5 to 8 log the losses of the run that wrote it, bit for bit."""
    ckpt = osp.join(GOLDENS, 'tiny_sscl_iter_4.pth')
    losses = osp.join(GOLDENS, 'tiny_sscl_losses.json')
    config = tiny_config(tmp_path / 'cfg.py', data)
    if WRITE:
        result = run_train(config, tmp_path / 'straight')
        assert result.returncode == 0, result.stderr[-3000:]
        shutil.copy(tmp_path / 'straight' / 'iter_4.pth', ckpt)
        with open(losses, 'w') as f:
            json.dump(logged_iters(tmp_path / 'straight'), f, indent=1)
        return
    result = run_train(config, tmp_path / 'resumed', '--resume', ckpt)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(losses) as f:
        golden = {int(k): v for k, v in json.load(f).items()}
    resumed = logged_iters(tmp_path / 'resumed')
    assert sorted(resumed) == [5, 6, 7, 8]
    for it in resumed:
        assert resumed[it] == golden[it], it
