"""Decode an image once into an RGB uint8 tensor."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from torchvision.io import ImageReadMode, decode_image

from sscl.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadImage(BaseTransform):
    """Read ``img_path`` (or take the in-memory ``img`` array) into ``img``: uint8 (3, H, W).

    Decoding uses torchvision.io (libjpeg-turbo / libpng), always to RGB.
    """

    def transform(self, results: dict) -> dict:
        if 'img' in results:
            img = np.asarray(results['img'])
            if img.ndim == 2:
                img = np.repeat(img[..., None], 3, axis=2)
            results['img'] = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)
            return results
        path = results['img_path']
        try:
            results['img'] = decode_image(path, mode=ImageReadMode.RGB)
        except (RuntimeError, OSError, ValueError) as e:
            raise OSError(f'cannot read image {path}: {e}') from e
        return results
