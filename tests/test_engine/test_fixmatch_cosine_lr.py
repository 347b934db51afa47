"""FixMatchCosineLR: lr_k = lr_0 cos(7πk / 16K), iteration-based from an epoch config."""
import math

import pytest
import torch

from sscl.engine.schedulers import FixMatchCosineLR


def optimizer(lr=0.03):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def test_values_by_hand():
    opt = optimizer()
    sched = FixMatchCosineLR(opt, end=16, by_epoch=False)
    lrs = []
    for _ in range(17):
        lrs.append(opt.param_groups[0]['lr'])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.03)
    assert lrs[8] == pytest.approx(0.03 * math.cos(7 * math.pi / 32))
    # the last of the K = 16 steps is k = 15, near cos(7π/16) = 0.195 of the base; the
    # schedule then holds its value
    assert lrs[15] == pytest.approx(0.03 * math.cos(7 * math.pi * 15 / 256))
    assert lrs[16] == lrs[15]
    assert all(a > b for a, b in zip(lrs[:15], lrs[1:16]))


def test_epoch_config_converts_to_iterations():
    opt = optimizer()
    sched = FixMatchCosineLR.build_iter_from_epoch(opt, end=4, epoch_length=4, phase=0.5)
    assert (sched.begin, sched.end, sched.by_epoch) == (0, 16, False)
    for _ in range(8):
        opt.step()
        sched.step()
    assert opt.param_groups[0]['lr'] == pytest.approx(0.03 * math.cos(math.pi / 4))


def test_an_open_end_is_refused():
    with pytest.raises(ValueError, match='finite end'):
        FixMatchCosineLR(optimizer())
