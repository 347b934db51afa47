"""Several views of one decoded image."""
import copy
from typing import Dict, List

from mmcv.transforms import BaseTransform, Compose

from sscl.registry import TRANSFORMS
from sscl.utils.errors import ConfigError


@TRANSFORMS.register_module()
class MultiView(BaseTransform):
    """Cut several views from one decoded image: ``results['img']`` becomes a dict.

    Put it after ``LoadImage``: the image is decoded once and every view's pipeline starts
    from that same tensor.

    Args:
        views: view name → list of transform configs, e.g.
            ``dict(weak=[crop, flip], strong=[crop, flip, jitter, ..., RandAugment])``.

    Returns:
        ``results`` with ``img``: ``{name: uint8 (3, H, W)}``.
    """

    def __init__(self, views: Dict[str, List[dict]]):
        if not views:
            raise ConfigError('MultiView needs at least one view')
        self.views = {name: Compose(pipeline) for name, pipeline in views.items()}

    def transform(self, results: dict) -> dict:
        results['img'] = {
            name: pipeline(copy.copy(results))['img']
            for name, pipeline in self.views.items()
        }
        return results
