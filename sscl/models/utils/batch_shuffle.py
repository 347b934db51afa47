"""Shuffle-BN across ranks for the key encoder (MoCo)."""
from typing import Callable, Optional

import torch
from mmengine.dist import all_gather, broadcast, get_rank, get_world_size

from .device import to_device_async


@torch.no_grad()
def forward_with_shuffle_bn(fn: Callable[[torch.Tensor], torch.Tensor],
                            x: torch.Tensor,
                            generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Run ``fn`` on a batch shuffled across all ranks and return outputs in input order.

    BatchNorm statistics of the key encoder then mix samples of every rank, so that the
    query/key pair of an image never shares them (MoCo's shuffle-BN). Every rank must hold
    the same batch size. In one process this is ``fn(x)``.

    Args:
        fn: the key encoder, (n, ...) → (n, D).
        x: this rank's inputs (n, ...).
        generator: CPU generator of the permutation (rank 0's draw is broadcast); the
            global one when None.

    Returns:
        (n, D) outputs for this rank's inputs.
    """
    world_size = get_world_size()
    if world_size == 1:
        return fn(x)
    n = x.size(0)
    x_all = torch.cat(all_gather(x.contiguous()))
    perm = to_device_async(torch.randperm(x_all.size(0), generator=generator), x.device)
    broadcast(perm, src=0)
    rank = get_rank()
    mine = perm.view(world_size, n)[rank]
    out_all = torch.cat(all_gather(fn(x_all[mine]).contiguous()))
    unshuffled = torch.empty_like(out_all)
    unshuffled[perm] = out_all
    return unshuffled[rank * n:(rank + 1) * n]
