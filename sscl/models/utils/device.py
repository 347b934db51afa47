"""Host-to-device copies that do not make the host wait."""
from typing import Union

import torch


def to_device_async(t: torch.Tensor, device: Union[str, torch.device]) -> torch.Tensor:
    """A small CPU tensor (random draws, indices) on ``device``. To a GPU it goes pinned and
    ``non_blocking``, so the host does not wait for the GPU's queue; elsewhere ``t.to``."""
    if torch.device(device).type != 'cuda':
        return t.to(device)
    return t.pin_memory().to(device, non_blocking=True)
