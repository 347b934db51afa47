"""Export scikit-learn's bundled digits (1,797 real 8x8 images) to an ImageFolder tree.

    python tools/dataset_converters/digits_to_imagefolder.py --out data/digits

writes ``data/digits/{train,test}/<class>/<n>.png`` (greyscale saved as RGB, 0-16 grey levels
scaled to 0-255, upscaled bilinearly to --size), with a stratified, seeded train/test split.
Running it again on a complete tree does nothing.
"""
import argparse
import os
import os.path as osp
from typing import List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torchvision.io import write_png
from tqdm import tqdm

MAX_GREY_LEVEL = 16  # load_digits() pixels lie in [0, 16]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export sklearn digits to an ImageFolder tree')
    parser.add_argument('--out', default='data/digits', help='output folder')
    parser.add_argument('--size', type=int, default=32, help='image side after upscaling')
    parser.add_argument('--test-ratio', type=float, default=0.2, help='fraction held out')
    parser.add_argument('--seed', type=int, default=0, help='seed of the split')
    return parser.parse_args(argv)


def count_images(root: str) -> int:
    return sum(len(files) for _, _, files in os.walk(root)) if osp.isdir(root) else 0


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    digits = load_digits()
    images, labels = digits.images, digits.target
    if count_images(args.out) == len(images):
        print(f'{args.out} already holds the {len(images)} digits images; nothing to do')
        return
    idx_train, idx_test = train_test_split(
        np.arange(len(images)), test_size=args.test_ratio, stratify=labels, random_state=args.seed)
    pixels = torch.from_numpy(images).float()[:, None] * (255.0 / MAX_GREY_LEVEL)
    pixels = F.interpolate(
        pixels, size=(args.size, args.size), mode='bilinear', align_corners=False)
    pixels = pixels.round().clamp(0, 255).to(torch.uint8).repeat(1, 3, 1, 1)
    for split, indices in (('train', idx_train), ('test', idx_test)):
        for c in np.unique(labels):
            os.makedirs(osp.join(args.out, split, str(c)), exist_ok=True)
        for i in tqdm(indices, desc=f'digits {split}', unit='img'):
            write_png(pixels[i], osp.join(args.out, split, str(labels[i]), f'{i:04d}.png'))
    per_class = np.bincount(labels[idx_train]).tolist()
    print(f'wrote {len(idx_train)} train and {len(idx_test)} test images '
          f'({args.size}x{args.size} RGB PNG) to {args.out}; train images per class: {per_class}')


if __name__ == '__main__':
    main()
