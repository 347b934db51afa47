"""Several views of one decoded image, and the final packing of a sample."""
import copy
from typing import Dict, List

from mmcv.transforms import BaseTransform, Compose

from sscl.registry import TRANSFORMS


@TRANSFORMS.register_module()
class MultiView(BaseTransform):
    """Cut several views from one decoded image: ``results['img']`` becomes a dict.

    Args:
        views: view name → list of transform configs, e.g.
            ``dict(weak=[crop, flip], strong=[crop, flip, jitter, ..., RandAugment])``.
    """

    def __init__(self, views: Dict[str, List[dict]]):
        self.views = {name: Compose(pipeline) for name, pipeline in views.items()}

    def transform(self, results: dict) -> dict:
        results['img'] = {
            name: pipeline(copy.copy(results))['img']
            for name, pipeline in self.views.items()
        }
        return results


@TRANSFORMS.register_module()
class PackInputs(BaseTransform):
    """``{'inputs': img tensor or dict of views, 'data_samples': {'gt_label', 'sample_idx'}}``."""

    def transform(self, results: dict) -> dict:
        return dict(
            inputs=results['img'],
            data_samples=dict(gt_label=results['gt_label'], sample_idx=results['sample_idx']))
