"""RuntimeInfoHook whose per-iteration log values reach the host in one transfer."""
from typing import Optional

import torch
from mmengine.hooks import RuntimeInfoHook

from sscl.registry import HOOKS


@HOOKS.register_module()
class BatchedRuntimeInfoHook(RuntimeInfoHook):
    """:class:`mmengine.hooks.RuntimeInfoHook` that copies a step's log values to the host
    with one device-to-host copy instead of one ``.item()`` per value.

    mmengine's hook hands every value of ``train_step``'s log dict to the message hub, which
    reads a tensor with ``.item()``: a host sync each (7 per SsCL step). Here the one-element
    floating-point tensors are stacked as float64 (every float dtype converts exactly) and
    copied into one host tensor, so the message hub receives the same Python floats after
    one sync. Every other value (integers, plain numbers) goes through unchanged, and the
    hub keeps its per-iteration values: hooks that read them every iteration
    (``NonFiniteLossHook``, ``CollapseGuardHook``) see what they saw before.
    """

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if not outputs:
            return
        values = dict(outputs)
        batched = [
            k for k, v in values.items()
            if isinstance(v, torch.Tensor) and v.numel() == 1 and v.is_floating_point()
        ]
        if batched:
            stacked = torch.stack([values[k].detach().reshape(()).double() for k in batched])
            host = torch.empty(len(batched), dtype=torch.float64)
            host.copy_(stacked)  # the one host sync
            values.update(zip(batched, host.tolist()))
        for key, value in values.items():
            runner.message_hub.update_scalar(f'train/{key}', value)
