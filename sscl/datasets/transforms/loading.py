"""Decode an image once into an RGB uint8 tensor."""
import os.path as osp

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from torchvision.io import ImageReadMode, decode_image

from sscl.registry import TRANSFORMS
from sscl.utils.errors import DataError, ImageReadError


@TRANSFORMS.register_module()
class LoadImage(BaseTransform):
    """Read ``img_path`` (or convert the in-memory ``img`` array) into ``img``.

    Files are decoded with ``torchvision.io.decode_image`` (libjpeg-turbo / libpng / libwebp)
    to RGB whatever their colour mode; in-memory arrays (CIFAR) are uint8 ``(H, W, 3)`` or
    greyscale ``(H, W)``/``(H, W, 1)``.

    Returns:
        ``results`` with ``img``: uint8 tensor ``(3, H, W)``.

    Raises:
        ImageReadError: the file is missing or cannot be decoded (the message names it);
            datasets built with ``skip_bad_images=True`` skip such samples instead.
    """

    def transform(self, results: dict) -> dict:
        if results.get('img') is not None:
            results['img'] = self._from_array(np.asarray(results['img']))
            return results
        path = results['img_path']
        try:
            results['img'] = decode_image(path, mode=ImageReadMode.RGB)
        except RuntimeError as e:
            if not osp.isfile(path):
                raise ImageReadError(f'image not found: {path}') from e
            raise ImageReadError(f'cannot decode image {path}: {str(e).splitlines()[0]}') from e
        return results

    @staticmethod
    def _from_array(img: np.ndarray) -> torch.Tensor:
        if img.ndim == 2:
            img = img[..., None]
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] not in (1, 3):
            raise DataError(f'in-memory images must be uint8 (H, W, 3) or (H, W), got '
                            f'{img.dtype} {img.shape}')
        # A copy: the tensor must not share memory with the dataset's array.
        return torch.from_numpy(np.array(img.transpose(2, 0, 1))).expand(3, -1, -1).contiguous()
