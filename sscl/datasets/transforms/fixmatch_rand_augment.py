"""FixMatch's RandAugment: n ops with magnitudes drawn per op, then a random Cutout."""
import math
from typing import Callable, List, Tuple

import torch
import torchvision.transforms.v2.functional as TF
from mmcv.transforms import BaseTransform

from sscl.registry import TRANSFORMS
from sscl.utils.errors import ConfigError

Op = Tuple[str, float, float, Callable[[torch.Tensor, float], torch.Tensor]]


def _shear(img: torch.Tensor, v: float, axis: int) -> torch.Tensor:
    degrees = math.degrees(math.atan(v))
    shear = [degrees, 0.0] if axis == 0 else [0.0, degrees]
    return TF.affine(img, angle=0.0, translate=[0, 0], scale=1.0, shear=shear)


def _translate(img: torch.Tensor, v: float, axis: int) -> torch.Tensor:
    shift = round(v * img.shape[-1 - axis])
    translate = [shift, 0] if axis == 0 else [0, shift]
    return TF.affine(img, angle=0.0, translate=translate, scale=1.0, shear=[0.0, 0.0])


# (name, low, high, op(img, v)): FixMatch's op list and magnitude ranges.
OPS: List[Op] = [
    ('AutoContrast', 0, 1, lambda img, v: TF.autocontrast(img)),
    ('Brightness', 0.05, 0.95, TF.adjust_brightness),
    ('Color', 0.05, 0.95, TF.adjust_saturation),
    ('Contrast', 0.05, 0.95, TF.adjust_contrast),
    ('Equalize', 0, 1, lambda img, v: TF.equalize(img)),
    ('Identity', 0, 1, lambda img, v: img),
    ('Posterize', 4, 8, lambda img, v: TF.posterize(img, int(v))),
    ('Rotate', -30, 30, lambda img, v: TF.rotate(img, v)),
    ('Sharpness', 0.05, 0.95, TF.adjust_sharpness),
    ('ShearX', -0.3, 0.3, lambda img, v: _shear(img, v, 0)),
    ('ShearY', -0.3, 0.3, lambda img, v: _shear(img, v, 1)),
    ('Solarize', 0, 255, TF.solarize),
    ('TranslateX', -0.3, 0.3, lambda img, v: _translate(img, v, 0)),
    ('TranslateY', -0.3, 0.3, lambda img, v: _translate(img, v, 1)),
]
OP_NAMES = tuple(op[0] for op in OPS)


@TRANSFORMS.register_module()
class FixMatchRandAugment(BaseTransform):
    """FixMatch's strong view: ``num_ops`` ops drawn with replacement from :data:`OPS`,
    each with a magnitude drawn uniformly from its range, then a square Cutout whose side
    is drawn uniformly from ``[0, cutout * W]``, filled with ``fill``.

    Unlike torchvision's ``RandAugment(num_ops, magnitude)`` (one fixed magnitude, a coin
    for the sign), every op sees the whole of its range. The ops are torchvision's
    functional ops on the uint8 tensor; the draws come from torch's generator, so a keyed
    pipeline (:class:`SemiDataset`) reproduces them.

    Args:
        num_ops: ops per image (FixMatch: 2; USB's FixMatch: 3).
        cutout: largest Cutout side as a fraction of the width (0 switches it off).
        fill: Cutout colour (RGB).
        exclude: names of ops to leave out of the list.
    """

    def __init__(self,
                 num_ops: int = 3,
                 cutout: float = 0.5,
                 fill: Tuple[int, int, int] = (125, 123, 114),
                 exclude: Tuple[str, ...] = ()):
        if num_ops < 0:
            raise ConfigError(f'FixMatchRandAugment: num_ops must be >= 0, got {num_ops}')
        if not 0.0 <= cutout <= 1.0:
            raise ConfigError(f'FixMatchRandAugment: cutout must lie in [0, 1], got {cutout}')
        unknown = sorted(set(exclude) - set(OP_NAMES))
        if unknown:
            raise ConfigError(f'FixMatchRandAugment: unknown ops in exclude: {unknown}; '
                              f'known: {list(OP_NAMES)}')
        self.num_ops = num_ops
        self.cutout = cutout
        self.fill = fill
        self.ops = [op for op in OPS if op[0] not in exclude]

    def _cutout(self, img: torch.Tensor) -> torch.Tensor:
        h, w = img.shape[-2:]
        side = int(torch.rand(()).item() * self.cutout * w)
        if side <= 0:
            return img
        cy, cx = (torch.rand(2) * torch.tensor([h, w])).tolist()
        y0, x0 = max(0, int(cy - side / 2)), max(0, int(cx - side / 2))
        y1, x1 = min(h, y0 + side), min(w, x0 + side)
        img = img.clone()
        fill = torch.tensor(self.fill, dtype=img.dtype)[:img.shape[0], None, None]
        img[..., y0:y1, x0:x1] = fill
        return img

    def transform(self, results: dict) -> dict:
        """Args: results with ``img`` uint8 (3, H, W). Returns: the same key, augmented."""
        img = results['img']
        picks = torch.randint(len(self.ops), (self.num_ops, )).tolist()
        for pick in picks:
            _, low, high, op = self.ops[pick]
            img = op(img, low + (high - low) * torch.rand(()).item())
        results['img'] = self._cutout(img)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_ops={self.num_ops}, cutout={self.cutout}, '
                f'ops={[op[0] for op in self.ops]})')
