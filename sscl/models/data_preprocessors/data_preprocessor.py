"""Move a batch to the device and normalise every image view there."""
from typing import Any, Dict, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor

from sscl.registry import MODELS

Inputs = Union[torch.Tensor, Dict[str, torch.Tensor]]


@MODELS.register_module()
class SsclDataPreprocessor(BaseDataPreprocessor):
    """Cast uint8 images to float on the device and normalise them.

    ``inputs`` is a tensor (N, 3, H, W) or a dict of such tensors (``labeled``, ``weak``,
    ``strong``); ``data_samples`` is a (nested) dict of tensors. The output has the same
    structure, images as float ``(x - mean) / std``.

    Args:
        mean: per-channel RGB mean on the 0-255 scale.
        std: per-channel RGB std on the 0-255 scale.
        channels_last: return images in ``torch.channels_last`` memory format.
        non_blocking: copy to the device asynchronously (pinned host memory).
    """

    def __init__(self,
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 channels_last: bool = False,
                 non_blocking: bool = True):
        super().__init__(non_blocking=non_blocking)
        self.register_buffer(
            'mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1), persistent=False)
        self.register_buffer(
            'std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1), persistent=False)
        self.channels_last = channels_last

    def normalize(self, img: torch.Tensor) -> torch.Tensor:
        """Args: img (N, 3, H, W) any dtype on the device. Returns: float (N, 3, H, W)."""
        img = (img.float() - self.mean) / self.std
        if self.channels_last:
            img = img.contiguous(memory_format=torch.channels_last)
        return img

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        """Args:
            data: ``{'inputs': uint8 (N, 3, H, W) or {view: uint8 (N, 3, H, W)},
            'data_samples': nested dict of tensors}`` as collated on the host.
            training: unused; both modes normalise the same way.

        Returns:
            ``{'inputs': ..., 'data_samples': ...}`` on the device, images float normalised.
        """
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, dict):
            inputs = {k: self.normalize(v) for k, v in inputs.items()}
        else:
            inputs = self.normalize(inputs)
        return dict(inputs=inputs, data_samples=data.get('data_samples'))
