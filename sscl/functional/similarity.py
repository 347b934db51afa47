"""Embedding statistics shared by the model's logs, the refresh hook and the metrics."""
import torch


def mean_pairwise_cosine(z: torch.Tensor) -> torch.Tensor:
    """Mean cosine over all ordered pairs (self-pairs included) of unit rows z (N, D),
    ``|mean_i z_i|^2``: 1 when the embedding has collapsed to one point, near 0 when it is
    spread. A 0-dim float32 tensor on z's device (no host synchronisation)."""
    return z.float().mean(dim=0).square().sum()
