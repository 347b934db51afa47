"""The compiled encoders (CompileHook, ``compile=True``) give the eager training step: the
same losses, gradients and buffer updates, each encoder part traced as one graph (no eager
fallback)."""
from types import SimpleNamespace

import pytest
import torch
from test_channels_last_step import batch, build
from torch._dynamo.utils import counters

from sscl.engine.hooks import compile_encoders
from sscl.registry import HOOKS

# float32 on the CPU. aot_eager runs the traced ATen graphs (forward and AOTAutograd's
# backward) without code generation: measured here, bit for bit eager's. inductor generates
# fused C++ kernels that sum in other orders: within the tolerances below (as
# test_channels_last_step). A wrong gradient moves them by orders more: compiling the whole
# loss forward instead (one graph, queue included) moved the contrastive branch's gradients
# by 2e-3 relative, in float64 too, and failed this comparison.
TOL = dict(aot_eager=dict(rtol=1e-5, atol=1e-5), inductor=dict(rtol=1e-3, atol=1e-4))


def steps(model, seeds=(1, 2)):
    """Losses and gradients of one forward/backward per seed (the second sees the first's
    queue, calibration and BN updates)."""
    out = []
    for seed in seeds:
        model.zero_grad()
        torch.manual_seed(seed)  # the same shuffle-BN and queue draws
        data = model.data_preprocessor(batch('SsCL'), True)
        loss = model(**data, mode='loss')
        model.parse_losses(loss)[0].backward()
        out.append((loss, {n: p.grad.clone() for n, p in model.named_parameters()
                           if p.grad is not None}))
    return out


@pytest.mark.slow  # 12 s (aot_eager), 2.5 min (inductor) on one thread
@pytest.mark.parametrize('backend', ['aot_eager', 'inductor'])
def test_compiled_encoders_give_the_eager_step(backend):
    torch.manual_seed(0)
    models = [build(False, 'SsCL'), build(False, 'SsCL')]
    models[1].load_state_dict(models[0].state_dict())
    for m in models:
        m.co_calibration.init_table(8)
        m.co_calibration.set_prototypes(torch.eye(4, 16))
        m.train()
    torch._dynamo.reset()
    counters.clear()
    assert compile_encoders(models[1], backend=backend, fullgraph=True) == [
        'backbone', 'neck', 'head', 'momentum_encoder.backbone', 'momentum_encoder.neck']
    eager, compiled = steps(models[0]), steps(models[1])
    # compiled, not fallen back: a graph per part (the query backbone's with and without
    # gradient), the backward through AOTAutograd, no graph break
    assert counters['stats']['unique_graphs'] >= 5 and counters['aot_autograd']['ok'] >= 5
    assert counters['stats']['calls_captured'] > 150  # ResNet-18's operators and more
    assert not counters['graph_break'], dict(counters['graph_break'])
    for (loss_e, grad_e), (loss_c, grad_c) in zip(eager, compiled):
        assert set(loss_c) == set(loss_e)
        for key in loss_e:
            torch.testing.assert_close(loss_c[key], loss_e[key], **TOL[backend], msg=key)
        assert set(grad_c) == set(grad_e) and len(grad_e) >= 62
        for name in grad_e:
            torch.testing.assert_close(grad_c[name], grad_e[name], **TOL[backend], msg=name)
    for (name, a), b in zip(models[0].named_buffers(), models[1].buffers()):
        torch.testing.assert_close(b, a, **TOL[backend], msg=name)  # queue, BN, calibration


def test_compile_hook_compiles_the_encoders_of_the_runners_model():
    """The hook (as tools/train.py adds it for ``compile=True``) marks the encoder parts
    compiled with its options before training; nothing else."""
    model = build(False, 'SsCL')
    hook = HOOKS.build(dict(type='CompileHook', backend='aot_eager', mode=None))
    logged = []
    hook.before_train(SimpleNamespace(model=model, logger=SimpleNamespace(info=logged.append)))
    compiled = {n for n, m in model.named_modules() if m._compiled_call_impl is not None}
    assert compiled == {'backbone', 'neck', 'head', 'momentum_encoder.backbone',
                        'momentum_encoder.neck'}
    assert 'compiled backbone, neck, head, momentum_encoder.backbone' in logged[0]
