"""The last transform of every pipeline: the sample format of docs/design.md."""
import torch
from mmcv.transforms import BaseTransform

from sscl.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackInputs(BaseTransform):
    """Pack a sample for ``default_collate`` / ``semi_collate``.

    Returns:
        ``{'inputs': uint8 (3, H, W), or {view: uint8 (3, H, W)} after MultiView,
        'data_samples': {'gt_label': int (-1 unknown), 'sample_idx': int}}``.
    """

    def transform(self, results: dict) -> dict:
        img = results['img']
        views = img.values() if isinstance(img, dict) else [img]
        if not all(isinstance(v, torch.Tensor) for v in views):
            raise TypeError('PackInputs packs image tensors; put LoadImage first in the pipeline '
                            f'(got {type(img).__name__})')
        return dict(
            inputs=img,
            data_samples=dict(
                gt_label=int(results['gt_label']), sample_idx=int(results['sample_idx'])))
