"""BatchedRuntimeInfoHook hands the message hub the very numbers mmengine's RuntimeInfoHook
does, with one host sync per iteration instead of one per tensor value."""
import uuid
from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import RuntimeInfoHook
from mmengine.logging import MessageHub

from sscl.engine.hooks import BatchedRuntimeInfoHook, CollapseGuardHook
from sscl.utils.errors import CollapseError
from sscl.utils.op_count import OpCounter


def outputs(i: int) -> dict:
    """A step's log dict: float32, bfloat16 and float64 scalars, a (1,)-shaped tensor, an
    integer tensor and a plain float."""
    g = torch.Generator().manual_seed(i)
    return dict(loss=torch.rand((), generator=g) * 3,
                loss_sup=torch.rand((), generator=g).to(torch.bfloat16),
                pl_mask_rate=torch.rand((), generator=g, dtype=torch.float64),
                key_mean_cos=torch.rand((1, ), generator=g),
                num_pl=torch.randint(0, 9, (), generator=g), lr=0.1 / (i + 1))


def feed(hook, iters: int = 3):
    runner = SimpleNamespace(message_hub=MessageHub.get_instance(f'rt_{uuid.uuid4().hex}'))
    counters = []
    for i in range(iters):
        out = outputs(i)
        with OpCounter([v for v in out.values() if isinstance(v, torch.Tensor)]) as counter:
            hook.after_train_iter(runner, i, outputs=out)
        counters.append(counter)
    return runner.message_hub.log_scalars, counters


def test_same_scalars_as_runtime_info_hook_with_one_sync():
    expected, default_counts = feed(RuntimeInfoHook())
    got, counts = feed(BatchedRuntimeInfoHook())
    assert list(got) == list(expected)
    for key, buffer in expected.items():
        values, counts_ = buffer.data
        # exact: the same Python numbers, float32/bf16 values widened without rounding
        assert got[key].data[1].tolist() == counts_.tolist()
        assert got[key].data[0].tolist() == values.tolist(), key
        assert type(got[key].current()) is type(buffer.current()), key
    # 5 tensors read one by one, against the 4 floating ones in one copy + the integer one
    assert [sum(c.syncs.values()) for c in default_counts] == [5] * 3
    assert [sum(c.syncs.values()) for c in counts] == [2] * 3
    assert all(any('copy_' in site for site in c.syncs) for c in counts)


def test_collapse_guard_reads_every_iteration():
    """The guard's window sees each iteration's key_mean_cos through the batched hook."""
    hook = BatchedRuntimeInfoHook()
    guard = CollapseGuardHook(key_threshold=0.99, window=2, warmup=0, by_epoch=False)
    runner = SimpleNamespace(
        message_hub=MessageHub.get_instance(f'rt_{uuid.uuid4().hex}'), iter=0, epoch=0,
        work_dir='.', logger=SimpleNamespace(warning=print), hooks=[])
    for cos in [0.995, 0.5, 0.995]:  # the 0.5 breaks the first streak
        hook.after_train_iter(runner, runner.iter, outputs=dict(key_mean_cos=torch.tensor(cos)))
        guard.after_train_iter(runner, runner.iter)
        runner.iter += 1
    hook.after_train_iter(runner, runner.iter, outputs=dict(key_mean_cos=torch.tensor(0.999)))
    with pytest.raises(CollapseError, match='key_mean_cos stayed >= 0.99 for 2 iterations, '
                       '0.9990 at iteration 4'):
        guard.after_train_iter(runner, runner.iter)
