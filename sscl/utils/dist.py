"""Distributed set-up helpers."""
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
    """End a run's process group on every rank (after a barrier). Left to the interpreter's
    exit, gloo's threads can abort a finished run ("terminate called without an active
    exception", SIGABRT), which torchrun then reports as a failure."""
    if torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()
