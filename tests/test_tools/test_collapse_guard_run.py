"""The paper's literal contrastive loss on the 16 px digits collapses the embedding
(docs/design.md, "The contrastive branch"); CollapseGuardHook stops that run with one line,
and ``last_checkpoint`` names a checkpoint from before the collapse."""
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from tool_runs import ROOT, run_train

LITERAL = osp.join(ROOT, 'configs', 'sscl', 'wrn28-2_digits16_20labels_literal.py')


@pytest.mark.slow
def test_the_literal_digits_variant_trips_the_guard(tmp_path):
    """The literal variant as shipped, with the guard its recipe carries."""
    data = tmp_path / 'digits'
    subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools', 'dataset_converters', 'digits_to_imagefolder.py'), '--out',
        str(data)
    ], check=True, capture_output=True)
    window = Config.fromfile(LITERAL).collapse_guard_hook.window
    work = tmp_path / 'work'
    result = run_train(
        LITERAL, work, '--cfg-options',
        f'train_dataloader.dataset.labeled.data_root={data}',
        f'train_dataloader.dataset.unlabeled.data_root={data}',
        f'val_dataloader.dataset.data_root={data}', 'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=2')
    assert result.returncode == 1, result.stderr[-3000:]
    line = result.stderr.strip().splitlines()[-1]
    print(line)
    match = re.fullmatch(
        r'train\.py: error: CollapseGuardHook: the embedding collapsed: (key_mean_cos stayed '
        rf'>= 0\.99 for {window} iterations, |refresh_embed_mean_cos reached )([0-9.]+).* '
        r'(?:at|after) iteration (\d+).*\(epoch (\d+)\); training stopped, the last good '
        r'checkpoint is (\S+)', line)
    assert match, line
    assert float(match.group(2)) >= 0.99
    epoch, good = int(match.group(4)), match.group(5)
    assert epoch < 20  # stopped before the end of the 20 epochs
    # the latest checkpoint is the good one, from an epoch before the trip
    assert (work / 'last_checkpoint').read_text() == good
    saved = torch.load(good, map_location='cpu', weights_only=True)['meta']['epoch']
    assert saved < epoch
    assert not (work / f'epoch_{epoch}.pth').exists()
