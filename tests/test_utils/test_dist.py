"""close_distributed: the process group does not outlive a finished run."""
import weakref
from types import SimpleNamespace

import torch.distributed as torch_dist
import torch.multiprocessing as mp
from mmengine.model import MMDistributedDataParallel
from torch import nn

from sscl.utils import close_distributed


def _finish_a_run() -> None:
    """Leave behind what a finished Runner leaves: a DDP wrapper inside a reference cycle."""
    runner = SimpleNamespace(model=MMDistributedDataParallel(nn.Linear(2, 2)))
    runner.hooks = [runner]


def _worker(rank: int, init_file: str) -> None:
    torch_dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank, world_size=1)
    group = weakref.ref(torch_dist.distributed_c10d._get_default_group())
    _finish_a_run()
    assert group() is not None
    close_distributed()
    # Freed now, so its destructor has joined gloo's worker threads before interpreter
    # shutdown (where they abort the process when they need the GIL).
    assert group() is None
    assert not torch_dist.is_initialized()


def test_group_is_freed_after_a_run(tmp_path):
    mp.spawn(_worker, args=(str(tmp_path / 'init'),), nprocs=1)
