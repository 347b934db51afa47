"""A MoCo queue of keys that also remembers each key's label."""
from typing import Tuple

import torch
import torch.nn as nn
from mmengine.dist import all_gather, get_world_size


class LabeledQueue(nn.Module):
    """Ring buffer of K keys with their labels (ground truth, or −1 for unlabeled samples).

    The buffers ``queue`` (K, D), ``queue_labels`` (K,) and ``queue_ptr`` are part of the
    model's state dict, so checkpoints hold the queue exactly.

    Args:
        length: K.
        dim: key dimension D.
    """

    def __init__(self, length: int, dim: int):
        super().__init__()
        self.register_buffer('queue', nn.functional.normalize(torch.randn(length, dim), dim=1))
        self.register_buffer('queue_labels', torch.full((length, ), -1, dtype=torch.long))
        self.register_buffer('queue_ptr', torch.zeros(1, dtype=torch.long))

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor, labels: torch.Tensor) -> None:
        """Gather keys (N, D) and labels (N,) from every rank and write them at the pointer,
        wrapping around the end of the ring."""
        if get_world_size() > 1:
            keys = torch.cat(all_gather(keys.contiguous()))
            labels = torch.cat(all_gather(labels.contiguous()))
        n, length = keys.size(0), self.queue.size(0)
        if n > length:
            keys, labels = keys[-length:], labels[-length:]
            n = length
        slots = (self.queue_ptr + torch.arange(n, device=keys.device)) % length
        self.queue[slots] = keys.to(self.queue.dtype)
        self.queue_labels[slots] = labels
        self.queue_ptr.copy_((self.queue_ptr + n) % length)

    @torch.no_grad()
    def class_positives(self, classes: torch.Tensor,
                        num_positives: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """The ``num_positives`` newest queue entries whose label equals each query's class.

        The paper does not say which P same-class keys to take; the newest ones come from the
        most recent key encoder, and the choice is deterministic, which keeps resume exact.

        Args:
            classes: (N,) class of each query, −1 for none.
            num_positives: P.

        Returns:
            idx (N, P) queue indices and valid (N, P) bool; fewer than P matches (or class −1)
            leave the remaining slots invalid.
        """
        n = classes.size(0)
        if num_positives == 0:
            empty = torch.zeros(n, 0, dtype=torch.long, device=classes.device)
            return empty, empty.bool()
        length = self.queue.size(0)
        # 0 for the slot written last, K-1 for the oldest (slots never written hold label -1).
        recency = (self.queue_ptr - 1 - torch.arange(length, device=classes.device)) % length
        match = (self.queue_labels[None, :] == classes[:, None]) & (classes[:, None] >= 0)
        score = torch.where(match, length - recency[None, :], torch.zeros_like(recency)[None, :])
        top, idx = score.topk(min(num_positives, length), dim=1)
        return idx, top > 0
