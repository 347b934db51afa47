"""Count the operators a piece of code launches and the host syncs among them: the host-side
cost of a training step, measurable on the CPU."""
import collections
import os.path as osp
import traceback
from typing import Counter, Iterable

import mmengine
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

aten = torch.ops.aten
# Ops whose result the host must read before it can go on: a scalar read back
# (``.item()``, ``bool(t)``, ``int(t)``) or an output whose shape depends on the values.
HOST_SYNC_OPS = frozenset((
    aten._local_scalar_dense.default, aten.item.default, aten.is_nonzero.default,
    aten.equal.default, aten.nonzero.default, aten.masked_select.default,
    aten._unique2.default, aten.unique_dim.default, aten.unique_consecutive.default,
    aten.repeat_interleave.Tensor))
# Indexing with a boolean mask (``x[mask]``, ``x[mask] = v``) runs a hidden ``nonzero``.
MASK_INDEX_OPS = frozenset((aten.index.Tensor, aten.index_put.default, aten.index_put_.default,
                            aten._index_put_impl_.default))
_MARK = '_op_counter_on_device'
# sscl's and mmengine's folders: a sync in a Runner hook names mmengine's line.
_PACKAGES = (osp.dirname(osp.dirname(osp.abspath(__file__))), osp.dirname(mmengine.__file__))


def _call_site() -> str:
    """``path:line`` of the innermost sscl or mmengine frame of the current stack, else of
    the innermost frame outside torch, else ``<autograd>`` (backward)."""
    frames = traceback.extract_stack()[:-3]
    for frame in reversed(frames):
        for package in _PACKAGES:
            if frame.filename.startswith(package + osp.sep):
                return f'{osp.relpath(frame.filename, osp.dirname(package))}:{frame.lineno}'
    for frame in reversed(frames):
        if f'{osp.sep}torch{osp.sep}' not in frame.filename:
            return f'{osp.basename(frame.filename)}:{frame.lineno}'
    return '<autograd>'


def on_device(t) -> bool:
    """Whether ``t`` is a tensor the device holds: not on the CPU, or marked as such."""
    return isinstance(t, torch.Tensor) and (t.device.type != 'cpu' or hasattr(t, _MARK))


class OpCounter(TorchDispatchMode):
    """Counts every ATen operator dispatched inside the ``with`` block, backward included,
    and the host syncs among them with their call sites.

    A host sync is an op of :data:`HOST_SYNC_OPS`, or boolean-mask indexing, on a tensor the
    device holds, or a copy of such a tensor to the CPU. On a GPU that is any tensor not on
    the CPU. On the CPU (the proxy of a GPU run), ``device_tensors`` name what the device
    would hold (model parameters and buffers, the batch) and every op output computed from
    one of them is marked too, so host-side draws (a CPU generator's masks and their
    ``nonzero``) do not count, while the same op on the images does. Tensors a factory op
    creates on the device from nothing (``torch.arange(n, device=x.device)``) are not
    marked until combined with a marked one.

    On a GPU each operator is at least one dispatch on the host and most are a kernel
    launch, so ``ops`` is the host's work per step that fusion or CUDA graphs remove.

    Args:
        device_tensors: tensors the device holds (CPU proxy); marked for the block's span.

    Attributes:
        ops: operators dispatched.
        syncs: ``Counter`` of ``'path:line (op)'`` → host syncs there.
    """

    def __init__(self, device_tensors: Iterable[torch.Tensor] = ()):
        super().__init__()
        self.ops = 0
        self.syncs: Counter[str] = collections.Counter()
        self.seeds = list(device_tensors)

    def __enter__(self):
        for t in self.seeds:
            setattr(t, _MARK, True)
        return super().__enter__()

    def __exit__(self, *exc):
        for t in self.seeds:
            if hasattr(t, _MARK):
                delattr(t, _MARK)
        return super().__exit__(*exc)

    def _syncs(self, func, args, kwargs) -> bool:
        if func in HOST_SYNC_OPS:
            return on_device(args[0])
        if func in MASK_INDEX_OPS:
            return on_device(args[0]) and any(
                i is not None and i.dtype in (torch.bool, torch.uint8) for i in args[1])
        if func is aten._to_copy.default:  # .cpu(), .to('cpu')
            dst = kwargs.get('device')
            return on_device(args[0]) and dst is not None and torch.device(dst).type == 'cpu'
        if func is aten.copy_.default:  # host_tensor.copy_(device_tensor)
            return on_device(args[1]) and not on_device(args[0])
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        self.ops += 1
        if self._syncs(func, args, kwargs):
            self.syncs[f'{_call_site()} ({func.overloadpacket.__name__})'] += 1
        out = func(*args, **kwargs)
        if self.seeds and any(on_device(a) for a in tree_flatten((args, kwargs))[0]):
            for t in tree_flatten(out)[0]:
                if isinstance(t, torch.Tensor) and t.device.type == 'cpu':
                    setattr(t, _MARK, True)
        return out
