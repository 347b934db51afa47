"""sscl's safe checkpoint loading holds inside its block only: importing sscl leaves
mmengine's loading (and so mmdet's, in the same process) as mmengine made it."""
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.runner import checkpoint as mm_checkpoint
from mmengine.runner import load_checkpoint

import sscl  # noqa: F401
from sscl.utils import CheckpointError, register_all_modules, sscl_checkpoint_loading
from sscl.utils import checkpoint_loading

register_all_modules(init_default_scope=False)


def mmdet_style_checkpoint(path, model):
    """What an mmdet model-zoo file holds: weights and a meta dict of plain Python."""
    torch.save({'state_dict': model.state_dict(),
                'meta': {'mmdet_version': '3.3.0', 'epoch': 12, 'iter': 87960,
                         'dataset_meta': {'classes': ('person', 'bicycle'),
                                          'palette': [(220, 20, 60), (119, 11, 32)]}}}, path)
    return str(path)


@pytest.fixture
def readers(monkeypatch):
    """Which reader opened each file: 'sscl' (its safe reader) or torch.load's kwargs."""
    calls = []
    safe = checkpoint_loading.safe_torch_load
    load = torch.load

    def spy_safe(filename, map_location=None):
        calls.append('sscl')
        return safe(filename, map_location)

    def spy_load(*args, **kwargs):
        calls.append(sorted(kwargs))
        return load(*args, **kwargs)

    monkeypatch.setattr(checkpoint_loading, 'safe_torch_load', spy_safe)
    monkeypatch.setattr(torch, 'load', spy_load)
    return calls


def test_importing_sscl_keeps_mmengines_local_loader(tmp_path, readers):
    assert mm_checkpoint.CheckpointLoader._schemes[''] is mm_checkpoint.load_from_local
    source, target = nn.Linear(3, 2), nn.Linear(3, 2)
    load_checkpoint(target, mmdet_style_checkpoint(tmp_path / 'det.pth', source))
    assert torch.equal(target.weight, source.weight) and torch.equal(target.bias, source.bias)
    # mmengine's own call: torch.load(filename, map_location=...), no sscl reader
    assert readers == [['map_location']]


def test_inside_the_block_sscl_reads_safely_and_restores_on_exit(tmp_path, readers):
    source, target = nn.Linear(3, 2), nn.Linear(3, 2)
    path = mmdet_style_checkpoint(tmp_path / 'det.pth', source)
    with sscl_checkpoint_loading():
        load_checkpoint(target, path)
    assert torch.equal(target.weight, source.weight)
    assert readers == ['sscl', ['map_location', 'weights_only']]
    assert mm_checkpoint.CheckpointLoader._schemes[''] is mm_checkpoint.load_from_local


class Exploit:

    def __reduce__(self):
        return (print, ('unpickled code ran', ))


def test_a_pickle_is_refused_inside_and_the_setting_restored_after_an_error(tmp_path):
    path = tmp_path / 'evil.pth'
    path.write_bytes(pickle.dumps({'state_dict': Exploit()}))
    with pytest.raises(CheckpointError, match='evil.pth: refusing to unpickle'):
        with sscl_checkpoint_loading():
            mm_checkpoint.CheckpointLoader.load_checkpoint(str(path))
    with sscl_checkpoint_loading(pickle_allowed=True):
        assert checkpoint_loading._ALLOW_PICKLE
        with pytest.raises(RuntimeError, match='boom'):
            with sscl_checkpoint_loading():
                assert not checkpoint_loading._ALLOW_PICKLE
                raise RuntimeError('boom')
        assert checkpoint_loading._ALLOW_PICKLE
        assert mm_checkpoint.CheckpointLoader._schemes[''] is checkpoint_loading.load_from_local
    assert not checkpoint_loading._ALLOW_PICKLE
    assert mm_checkpoint.CheckpointLoader._schemes[''] is mm_checkpoint.load_from_local
