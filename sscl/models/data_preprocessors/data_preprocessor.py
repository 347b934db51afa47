"""Move a batch to the device and normalise every image view there."""
from typing import Any, Dict, Optional, Sequence, Union

import torch
import torch.nn as nn
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
        batch_augments: ``{view: module config}``: in training, the view's batch goes through
            the module on the device before normalisation, e.g. ``dict(strong=dict(
            type='BatchStrongAugment'))`` runs the strong view's colour, greyscale, blur and
            RandAugment there with per-sample parameters (its pipeline then only crops).
    """

    def __init__(self,
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 channels_last: bool = False,
                 non_blocking: bool = True,
                 batch_augments: Optional[Dict[str, dict]] = None):
        super().__init__(non_blocking=non_blocking)
        self.batch_augments = nn.ModuleDict(
            {view: MODELS.build(cfg)
             for view, cfg in (batch_augments or {}).items()})
        self.register_buffer(
            'mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1), persistent=False)
        self.register_buffer(
            'std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1), persistent=False)
        self.channels_last = channels_last

    def normalize(self, img: torch.Tensor) -> torch.Tensor:
        """Args: img (N, 3, H, W) any dtype on the device. Returns: float (N, 3, H, W)."""
        layout = torch.channels_last if self.channels_last else torch.contiguous_format
        # one copy in the final layout, normalised in place (no second copy for the layout)
        img = img.to(torch.float32, memory_format=layout, copy=True)
        return img.sub_(self.mean).div_(self.std)

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        """Args:
            data: ``{'inputs': uint8 (N, 3, H, W) or {view: uint8 (N, 3, H, W)},
            'data_samples': nested dict of tensors}`` as collated on the host.
            training: apply ``batch_augments`` (evaluation batches are only normalised).

        Returns:
            ``{'inputs': ..., 'data_samples': ...}`` on the device, images float normalised.
        """
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, dict):
            if training:
                inputs = {
                    k: self.batch_augments[k](v) if k in self.batch_augments else v
                    for k, v in inputs.items()
                }
            inputs = {k: self.normalize(v) for k, v in inputs.items()}
        else:
            inputs = self.normalize(inputs)
        return dict(inputs=inputs, data_samples=data.get('data_samples'))
