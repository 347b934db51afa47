"""Distributed set-up helpers."""
import gc

import torch
import torch.distributed as torch_dist


def init_cpu_distributed(launcher: str) -> None:
    """Start a gloo process group for ``launcher='pytorch'`` on a machine without GPUs.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device`` unconditionally, which fails
    where no GPU is visible; the Runner skips its own initialisation when a process group
    already exists. ``torchrun`` provides ``MASTER_ADDR``, ``RANK`` and ``WORLD_SIZE``.
    """
    if launcher != 'pytorch' or torch.cuda.is_available() or torch_dist.is_initialized():
        return
    torch_dist.init_process_group(backend='gloo')


def close_distributed() -> None:
    """End a run's process group on every rank (after a barrier), once the run is over.

    Call it after the Runner is dropped: its DDP wrapper holds the group, and a group that
    outlives ``destroy_process_group`` keeps gloo's worker threads into interpreter
    shutdown, where a worker releasing a tensor needs the GIL and aborts a finished run
    ("terminate called without an active exception", SIGABRT, which torchrun reports as a
    failure). ``gc.collect()`` frees the Runner's reference cycles, so the group's
    destructor joins those threads here.
    """
    if torch_dist.is_initialized():
        gc.collect()
        torch_dist.barrier()
        torch_dist.destroy_process_group()
