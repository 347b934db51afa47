"""BatchNorm running statistics averaged over the ranks of a distributed run."""
from typing import List

import torch
import torch.nn as nn
from mmengine.dist import all_reduce_params, get_world_size
from torch.nn.modules.batchnorm import _BatchNorm


def bn_statistics(model: nn.Module) -> List[torch.Tensor]:
    """``running_mean`` and ``running_var`` (C,) of every BatchNorm layer of ``model`` that
    tracks them, in module order; not ``num_batches_tracked`` nor any other buffer."""
    return [
        stat for m in model.modules()
        if isinstance(m, _BatchNorm) and m.track_running_stats and m.running_mean is not None
        for stat in (m.running_mean, m.running_var)
    ]


@torch.no_grad()
def sync_bn_statistics(model: nn.Module) -> None:
    """Average the BatchNorm running statistics of ``model`` over all ranks, in place.

    With DDP's ``broadcast_buffers=False`` each rank's BN layers track the statistics of its
    own shard; evaluation-mode passes (the co-calibration refresh, validation) and the
    checkpoint then read different statistics on each rank. Every rank must call this
    together (one coalesced all-reduce); without a process group it does nothing. The
    running variance is averaged as it is, not pooled with the spread of the means.
    """
    stats = bn_statistics(model)
    if get_world_size() > 1 and stats:
        all_reduce_params(stats, op='mean')
