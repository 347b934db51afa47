"""FusedExponentialMovingAverage keeps mmengine's ExponentialMovingAverage's averages bit for
bit, in a few operators and without host syncs per update."""
import pytest
import torch
import torch.nn as nn
from mmengine.model import ExponentialMovingAverage

from sscl.models.utils import FusedExponentialMovingAverage
from sscl.utils.op_count import OpCounter


def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(8 * 36, 4))


def train(m, seed):
    """A step that moves every parameter and the BN statistics."""
    g = torch.Generator().manual_seed(seed)
    m(torch.randn(4, 3, 8, 8, generator=g)).sum().backward()
    with torch.no_grad():
        for p in m.parameters():
            p -= 0.1 * p.grad
            p.grad = None


def states(ema):
    return {k: v.clone() for k, v in ema.state_dict().items()}


@pytest.mark.parametrize('kwargs', [dict(momentum=0.01), dict(momentum=0.2, interval=2),
                                    dict(momentum=0.01, update_buffers=True)])
def test_same_averages_as_mmengine(kwargs):
    src = model()
    emas = [ExponentialMovingAverage(src, **kwargs), FusedExponentialMovingAverage(src, **kwargs)]
    for step in range(5):
        train(src, step)
        for ema in emas:
            ema.update_parameters(src)
        expected, got = states(emas[0]), states(emas[1])
        assert list(got) == list(expected)
        for key in expected:  # bit for bit: the same lerp
            assert torch.equal(got[key], expected[key]), (step, key)
    assert int(emas[1].steps) == 5


def test_resume_reads_the_loaded_steps():
    """A loaded checkpoint's ``steps`` decides the interval's phase, as mmengine's."""
    src = model()
    emas = [ExponentialMovingAverage(src, momentum=0.2, interval=2),
            FusedExponentialMovingAverage(src, momentum=0.2, interval=2)]
    for ema in emas:
        ema.update_parameters(src)  # the fused one now mirrors steps = 1
    saved = ExponentialMovingAverage(src, momentum=0.2, interval=2)
    for _ in range(4):
        saved.update_parameters(src)
    for ema in emas:
        ema.load_state_dict(saved.state_dict())  # steps = 4: the next update averages
    train(src, 9)
    for ema in emas:
        ema.update_parameters(src)
    for key, value in states(emas[0]).items():
        assert torch.equal(states(emas[1])[key], value), key
    assert not torch.equal(emas[1].module[0].weight, saved.module[0].weight)


def test_few_operators_and_no_host_sync_per_update():
    src = model()
    emas = [ExponentialMovingAverage(src, momentum=0.01),
            FusedExponentialMovingAverage(src, momentum=0.01)]
    counts = []
    for ema in emas:
        ema.update_parameters(src)  # the first update (copy; the fused one reads steps)
        train(src, 1)
        device = [*src.parameters(), *src.buffers(), *ema.parameters(), *ema.buffers()]
        with OpCounter(device) as counter:
            ema.update_parameters(src)
        counts.append(counter)
    tensors = len(list(src.parameters())) + len(list(src.buffers()))  # 6 + 3
    assert counts[0].ops >= 2 * tensors - 3 and sum(counts[0].syncs.values()) == 2
    assert counts[1].ops <= 4 and sum(counts[1].syncs.values()) == 0
