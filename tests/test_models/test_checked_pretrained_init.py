"""``init_cfg=dict(type='Pretrained')`` loads every key or names what did not fit."""
import logging
import os
import os.path as osp
import pickle

import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope

from sscl.registry import MODELS
from sscl.utils import register_all_modules, sscl_checkpoint_loading
from sscl.utils.errors import CheckpointError

register_all_modules(init_default_scope=False)


def wrn(depth=28, widen=2, init_cfg=None):
    return MODELS.build(dict(type='WideResNet', depth=depth, widen_factor=widen,
                             init_cfg=init_cfg))


def save(path, module, prefix='backbone.', extra=None):
    state = {prefix + k: v for k, v in module.state_dict().items()}
    state.update(extra or {})
    torch.save({'state_dict': state, 'meta': {}}, path)
    return str(path)


def init_from(checkpoint, prefix='backbone.', **kwargs):
    model = wrn(init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix=prefix),
                **kwargs)
    with DefaultScope.overwrite_default_scope('sscl'), sscl_checkpoint_loading():
        model.init_weights()
    return model


class Messages(logging.Handler):

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_loads_every_key_and_logs_a_summary(tmp_path):
    source = wrn()
    ckpt = save(tmp_path / 'a.pth', source, extra={'neck.fc.weight': torch.zeros(2, 2)})
    logger = MMLogger.get_current_instance()
    handler = Messages()
    logger.addHandler(handler)
    try:
        model = init_from(ckpt)
    finally:
        logger.removeHandler(handler)
    for k, v in source.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k
    n = len(source.state_dict())
    assert any(f'WideResNet loaded all {n} keys of the query weights from {ckpt}' in m and
               'missing 0, unexpected 0' in m for m in handler.lines), handler.lines
    # prefix None: the whole checkpoint; the other component's keys are counted
    bare = save(tmp_path / 'b.pth', source, prefix='', extra={'fc.weight': torch.zeros(2)})
    model = init_from(bare, prefix=None)
    assert torch.equal(model.state_dict()['conv1.weight'], source.state_dict()['conv1.weight'])


def test_a_checkpoint_of_another_width_is_refused(tmp_path):
    ckpt = save(tmp_path / 'narrow.pth', wrn(widen=1))
    with pytest.raises(CheckpointError) as e:
        init_from(ckpt)
    msg = str(e.value)
    assert msg.startswith(f"{ckpt} (prefix 'backbone.'): matched ")
    assert 'of the ' in msg and 'keys of WideResNet' in msg and 'another shape: ' in msg


def test_a_checkpoint_of_another_depth_is_refused(tmp_path):
    ckpt = save(tmp_path / 'shallow.pth', wrn(depth=16))
    total = len(wrn().state_dict())
    with pytest.raises(CheckpointError, match=rf'matched \d+ of the {total} keys .*missing '):
        init_from(ckpt)


def test_a_wrong_prefix_is_one_clear_error(tmp_path):
    ckpt = save(tmp_path / 'a.pth', wrn())
    with pytest.raises(CheckpointError, match=r"prefix 'encoder\.'\): no key starts with the "
                       r'prefix; its \d+ keys start backbone\.'):
        init_from(ckpt, prefix='encoder.')


class Exploit:

    def __reduce__(self):
        return (os.system, (f'touch {MARKER}', ))


MARKER = '/tmp/sscl_test_pretrained_exploit_ran'


def test_a_pickle_that_runs_code_is_refused(tmp_path):
    if osp.exists(MARKER):
        os.remove(MARKER)
    (tmp_path / 'evil.pth').write_bytes(pickle.dumps({'state_dict': Exploit()}))
    with pytest.raises(CheckpointError, match='evil.pth: refusing to unpickle'):
        init_from(str(tmp_path / 'evil.pth'))
    assert not osp.exists(MARKER)


def test_a_missing_file_names_it(tmp_path):
    with pytest.raises(CheckpointError, match='checkpoint not found: .*none.pth'):
        init_from(str(tmp_path / 'none.pth'))


def ema_checkpoint(path, trained, average):
    """What mmengine's EMAHook saves: the average as state_dict, the trained weights as
    ema_state_dict under ``module.``."""
    state = lambda m, p: {p + k: v for k, v in m.state_dict().items()}  # noqa: E731
    torch.save({'state_dict': state(average, 'backbone.'),
                'ema_state_dict': state(trained, 'module.backbone.'), 'meta': {}}, path)
    return str(path)


def test_the_trained_query_encoder_transfers_by_default(tmp_path):
    torch.manual_seed(0)
    trained, average = wrn(depth=10, widen=1), wrn(depth=10, widen=1)
    ckpt = ema_checkpoint(tmp_path / 'ema.pth', trained, average)
    for weights, source in ((None, trained), ('query', trained), ('ema', average)):
        extra = {} if weights is None else dict(weights=weights)
        model = wrn(depth=10, widen=1,
                    init_cfg=dict(type='Pretrained', checkpoint=ckpt, prefix='backbone.',
                                  **extra))
        with DefaultScope.overwrite_default_scope('sscl'):
            model.init_weights()
        assert torch.equal(model.conv1.weight, source.conv1.weight), weights
    assert not torch.equal(trained.conv1.weight, average.conv1.weight)


def test_ema_weights_need_an_ema_checkpoint(tmp_path):
    ckpt = save(tmp_path / 'plain.pth', wrn(depth=10, widen=1))
    model = wrn(depth=10, widen=1, init_cfg=dict(type='Pretrained', checkpoint=ckpt,
                                                 prefix='backbone.', weights='ema'))
    with pytest.raises(CheckpointError, match="weights='ema': the checkpoint has no "
                       'ema_state_dict'):
        with DefaultScope.overwrite_default_scope('sscl'):
            model.init_weights()
    with pytest.raises(ValueError, match='weights must be one of'):
        with DefaultScope.overwrite_default_scope('sscl'):
            wrn(depth=10, widen=1, init_cfg=dict(type='Pretrained', checkpoint=ckpt,
                                                 weights='average')).init_weights()
