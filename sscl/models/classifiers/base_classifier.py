"""Shared pieces of the classifiers: pooled features and per-sample predictions."""
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.model import BaseModel

from sscl.registry import MODELS


class BaseClassifier(BaseModel):
    """A backbone whose pooled last feature map feeds a classification head.

    Args:
        backbone: backbone config; ``forward`` returns a tuple of feature maps.
        head: classification head config (``LinearClsHead``).
        data_preprocessor: batch preprocessor config; with ``channels_last=True`` the
            backbone's weights are converted to ``torch.channels_last`` too.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            data_preprocessor=data_preprocessor or dict(type='SsclDataPreprocessor'),
            init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.head = MODELS.build(head)
        if getattr(self.data_preprocessor, 'channels_last', False):
            # Convolution weights in the layout of the inputs (NHWC tensor-core kernels);
            # in-place initialisation and checkpoint loading keep it.
            self.backbone.to(memory_format=torch.channels_last)

    @staticmethod
    def pool(feature_maps: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Global average pool of a backbone's last map (N, C, H, W) → (N, C)."""
        return feature_maps[-1].mean(dim=(2, 3))

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """Args: inputs (N, 3, H, W). Returns: globally average-pooled last map (N, C)."""
        return self.pool(self.backbone(inputs))

    def predict(self, inputs: torch.Tensor, data_samples: Dict[str, torch.Tensor]) -> List[dict]:
        """Class probabilities and pooled features of an evaluation batch, one dict per sample.

        Args:
            inputs: (N, 3, H, W) normalised images.
            data_samples: ``{'gt_label': (N,), 'sample_idx': (N,)}``.

        Returns:
            ``[{'pred_score': (C,), 'pred_label', 'feat': (F,), 'gt_label', 'sample_idx'},
            ...]``.
        """
        feats = self.extract_feat(inputs)
        scores = self.head.predict(feats)
        labels = scores.argmax(dim=1)
        return [
            dict(pred_score=s, pred_label=p, feat=f, gt_label=g, sample_idx=i)
            for s, p, f, g, i in zip(scores, labels, feats, data_samples['gt_label'],
                                     data_samples['sample_idx'])
        ]

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.head(self.extract_feat(inputs))
        raise RuntimeError(f'Invalid mode "{mode}": use "loss", "predict" or "tensor"')

    def loss(self, inputs, data_samples) -> Dict[str, torch.Tensor]:
        raise NotImplementedError
