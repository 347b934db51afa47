"""The strong view's photometric part and RandAugment, batched on the device, each sample
with its own random parameters."""
import math
from typing import Callable, List, Optional, Tuple

import torch
import torch.nn as nn
import torchvision.transforms.v2.functional as TF
from mmengine.dist import get_rank

from sscl.functional import mix_seeds, separable_gaussian_blur
from sscl.registry import MODELS
from ..utils import to_device_async

# torchvision's RandAugment ops (v2 ``_AutoAugmentBase``) and whether their sign is random.
RAND_AUGMENT_OPS = (('Identity', False), ('ShearX', True), ('ShearY', True),
                    ('TranslateX', True), ('TranslateY', True), ('Rotate', True),
                    ('Brightness', True), ('Color', True), ('Contrast', True),
                    ('Sharpness', True), ('Posterize', False), ('Solarize', False),
                    ('AutoContrast', False), ('Equalize', False))


def _blend(img: torch.Tensor, other: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
    """torchvision's uint8 blend with a per-sample ratio (N,): truncated to uint8."""
    ratio = ratio.view(-1, 1, 1, 1)
    return (ratio * img + (1 - ratio) * other).clamp_(0, 255).to(torch.uint8)


def _gray(img: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) luma of uint8 RGB, ITU-R 601 weights, floored as torchvision."""
    r, g, b = img.float().unbind(dim=1)
    return (0.2989 * r + 0.587 * g + 0.114 * b).unsqueeze(1).floor_()


def _hue(img: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rotate hue by ``shift`` (N,) of a turn, through HSV as torchvision."""
    x = img.float() / 255
    maxc, _ = x.max(dim=1)
    minc, _ = x.min(dim=1)
    delta = maxc - minc
    r, g, b = x.unbind(dim=1)
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    h = torch.where(maxc == r, (g - b) / safe % 6,
                    torch.where(maxc == g, (b - r) / safe + 2, (r - g) / safe + 4)) / 6
    h = torch.where(delta > 0, h, torch.zeros_like(h))
    h = (h + shift.view(-1, 1, 1)) % 1.0
    s = torch.where(maxc > 0, delta / torch.where(maxc > 0, maxc, torch.ones_like(maxc)),
                    torch.zeros_like(maxc))
    v = maxc
    i = torch.floor(h * 6)
    f = h * 6 - i
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    i = i.long() % 6
    table = torch.stack([
        torch.stack([v, q, p, p, t, v], dim=1),
        torch.stack([t, v, v, q, p, p], dim=1),
        torch.stack([p, p, t, v, v, q], dim=1),
    ], dim=1)  # (N, 3, 6, H, W)
    out = table.gather(2, i[:, None, None].expand(-1, 3, 1, -1, -1)).squeeze(2)
    return (out * 255).round_().clamp_(0, 255).to(torch.uint8)


def _autocontrast(img: torch.Tensor) -> torch.Tensor:
    """torchvision's uint8 autocontrast of (N, C, H, W) without its boolean-mask writes,
    which read the mask back to the host (a device sync per call)."""
    x = img.float()
    low = x.amin(dim=(-2, -1), keepdim=True)
    high = x.amax(dim=(-2, -1), keepdim=True)
    flat = high == low
    scale = torch.where(flat, 1.0, (high - low).mul_(1.0 / 255))
    return x.sub_(torch.where(flat, 0.0, low)).div_(scale).clamp_(0, 255).to(torch.uint8)


def _groups(keys: torch.Tensor, num_keys: int) -> List[Tuple[int, torch.Tensor]]:
    """``(k, indices of the samples whose key is k)`` for every key present, ascending; one
    sort of the CPU ``keys`` (N,) instead of a mask and ``nonzero`` per key."""
    counts = torch.bincount(keys, minlength=num_keys).tolist()
    return [(k, idx) for k, idx in enumerate(keys.argsort(stable=True).split(counts))
            if len(idx)]


@MODELS.register_module()
class BatchStrongAugment(nn.Module):
    """SimCLR colour jitter, greyscale, Gaussian blur and RandAugment on a device batch.

    The distribution of the CPU composition ``RandomApply([ColorJitter], p) →
    RandomGrayscale(p) → RandomApply([GaussianBlur], p) → RandAugment`` of torchvision v2,
    drawn independently for every sample (coins, factors, the jitter order, σ, and the
    RandAugment ops and signs). RandAugment's magnitude is fixed, so the samples that drew the
    same (op, sign) go through torchvision's own functional op together (autocontrast: the
    same formula without its boolean-mask writes); the colour jitter and blur, whose factors
    differ per sample, are the same formulas with per-sample factors. Used as
    ``SsclDataPreprocessor(batch_augments=dict(strong=...))``.

    The random decisions are drawn on the CPU and only the per-sample factors and group
    indices are copied to the device, so neither forming the groups nor any op reads the
    device back (no host sync). Each stage writes its groups into one copy of the batch. Batch
    t of rank r draws from a generator seeded with hash(seed, r, t): ranks draw
    independently, and the (seed, t) pair is the module's extra state, so a resumed run
    continues the same draws.

    Not kornia.augmentation: its RandAugment policy is another one than torchvision's (it
    has invert and solarize-add, no identity, other magnitude ranges), so the strong view
    would not have the CPU path's distribution.

    Args:
        color_jitter: ``brightness``, ``contrast``, ``saturation``, ``hue`` (a strength or a
            ``(min, max)`` range, as torchvision's ``ColorJitter``) and ``p``; None skips the
            stage.
        grayscale_p: probability of greyscale (3 channels).
        blur: ``kernel_size``, ``sigma`` range and ``p``; None skips it.
        rand_augment: ``num_ops``, ``magnitude``, ``num_magnitude_bins``; None skips it.
        seed: base seed of the draws; None takes torch's initial seed (the run's seed).
    """

    def __init__(self,
                 color_jitter: Optional[dict] = dict(
                     brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, p=0.8),
                 grayscale_p: float = 0.2,
                 blur: Optional[dict] = dict(kernel_size=23, sigma=(0.1, 2.0), p=0.5),
                 rand_augment: Optional[dict] = dict(
                     num_ops=2, magnitude=10, num_magnitude_bins=31),
                 seed: Optional[int] = None):
        super().__init__()
        self.seed = (torch.initial_seed() if seed is None else seed) % 2**63
        self.num_batches = 0
        self.generator = torch.Generator()
        self.color_jitter = color_jitter
        self.grayscale_p = grayscale_p
        self.blur = blur
        self.rand_augment = rand_augment

    def forward(self, imgs: torch.Tensor) -> torch.Tensor:
        """Args: imgs (N, 3, H, W) on the 0-255 scale (uint8 or float).
        Returns: uint8 (N, 3, H, W)."""
        # a copy of the input that the stages then write in place, group by group
        x = imgs.clone() if imgs.dtype == torch.uint8 else imgs.round().clamp(0, 255).to(
            torch.uint8)
        n, g = x.size(0), self.generator
        g.manual_seed(int(mix_seeds(self.seed, get_rank(), self.num_batches)))
        self.num_batches += 1
        if self.color_jitter is not None:
            self._jitter(x)
        if self.grayscale_p > 0:
            self._apply_to(x, torch.rand(n, generator=g) < self.grayscale_p,
                           lambda s, i: TF.rgb_to_grayscale(s, num_output_channels=3))
        if self.blur is not None:
            low, high = self.blur['sigma']
            sigma = to_device_async(torch.empty(n).uniform_(low, high, generator=g), x.device)
            kernel_size = self.blur['kernel_size']
            self._apply_to(x, torch.rand(n, generator=g) < self.blur['p'],
                           lambda s, i: separable_gaussian_blur(s, kernel_size, sigma[i]))
        if self.rand_augment is not None:
            self._rand_augment(x)
        return x

    def get_extra_state(self) -> torch.Tensor:
        """(seed, batches drawn so far), int64."""
        return torch.tensor([self.seed, self.num_batches], dtype=torch.long)

    def set_extra_state(self, state: torch.Tensor) -> None:
        self.seed, self.num_batches = (int(v) for v in state.tolist())

    @staticmethod
    def _apply_to(x: torch.Tensor, samples: torch.Tensor,
                  op: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
        """``x[idx] = op(x[idx], idx)`` in place, for the CPU indices or the CPU boolean mask
        ``samples`` (the host reads only its own draws)."""
        idx = samples.nonzero()[:, 0] if samples.dtype == torch.bool else samples
        if idx.numel():
            idx = to_device_async(idx, x.device)
            x[idx] = op(x[idx], idx)

    def _jitter(self, x: torch.Tensor) -> None:
        cfg, n, g = self.color_jitter, x.size(0), self.generator

        def factors(value, centre: float, low_bound: float) -> torch.Tensor:
            """torchvision's range: ``v`` → [max(low_bound, centre − v), centre + v], or
            ``(min, max)`` as given."""
            low, high = (max(low_bound, centre - value), centre + value) if isinstance(
                value, (int, float)) else value
            draws = torch.empty(n).uniform_(float(low), float(high), generator=g)
            return to_device_async(draws, x.device)

        b = factors(cfg['brightness'], 1.0, 0.0)
        c = factors(cfg['contrast'], 1.0, 0.0)
        s = factors(cfg['saturation'], 1.0, 0.0)
        h = factors(cfg['hue'], 0.0, -0.5)
        ops = [
            lambda t, i: _blend(t, torch.zeros_like(t), b[i]),
            lambda t, i: _blend(t, _gray(t).mean(dim=(1, 2, 3), keepdim=True), c[i]),
            lambda t, i: _blend(t, _gray(t).to(torch.uint8).expand_as(t), s[i]),
            lambda t, i: _hue(t, h[i]),
        ]
        order = torch.rand(n, 4, generator=g).argsort(dim=1)  # a permutation per sample
        applied = torch.rand(n, generator=g) < cfg['p']
        for step in range(4):
            for k, idx in _groups(torch.where(applied, order[:, step], 4), 5):
                if k < 4:  # key 4: no jitter for this sample
                    self._apply_to(x, idx, ops[k])

    def _rand_augment(self, x: torch.Tensor) -> None:
        cfg = self.rand_augment
        bins, level = cfg['num_magnitude_bins'], cfg['magnitude']
        h, w = x.shape[-2:]
        n, g = x.size(0), self.generator

        def mag(top: float) -> float:
            return float(torch.linspace(0.0, top, bins)[level]) if bins > 1 else 0.0

        posterize_bits = int(8 - (torch.arange(bins) / ((bins - 1) / 4)).round().int()[level])
        solarize = float(torch.linspace(1.0, 0.0, bins)[level]) * 255
        signed = torch.tensor([s for _, s in RAND_AUGMENT_OPS], dtype=torch.long)
        for _ in range(cfg['num_ops']):
            op_ids = torch.randint(len(RAND_AUGMENT_OPS), (n, ), generator=g)
            signs = torch.randint(2, (n, ), generator=g)  # 0: +, 1: - (signed ops only)
            for key, idx in _groups(op_ids * 2 + signs * signed[op_ids], 2 * len(signed)):
                name, sign = RAND_AUGMENT_OPS[key // 2][0], -1.0 if key % 2 else 1.0
                self._apply_to(
                    x, idx, lambda t, i: self._ra_op(t, name, sign, mag, h, w, posterize_bits,
                                                     solarize))

    @staticmethod
    def _ra_op(t: torch.Tensor, name: str, sign: float, mag: Callable[[float], float], h: int,
               w: int, bits: int, solarize: float) -> torch.Tensor:
        """One RandAugment op on a group, as torchvision's ``_apply_image_or_video_transform``
        (nearest interpolation, fill 0)."""
        near = TF.InterpolationMode.NEAREST
        if name == 'Identity':
            return t
        if name in ('ShearX', 'ShearY'):
            angle = math.degrees(math.atan(sign * mag(0.3)))
            shear = [angle, 0.0] if name == 'ShearX' else [0.0, angle]
            return TF.affine(t, angle=0.0, translate=[0, 0], scale=1.0, shear=shear,
                             interpolation=near, fill=None, center=[0, 0])
        if name in ('TranslateX', 'TranslateY'):
            shift = int(sign * mag(150.0 / 331.0 * (w if name == 'TranslateX' else h)))
            translate = [shift, 0] if name == 'TranslateX' else [0, shift]
            return TF.affine(t, angle=0.0, translate=translate, scale=1.0, shear=[0.0, 0.0],
                             interpolation=near, fill=None)
        if name == 'Rotate':
            return TF.rotate(t, angle=sign * mag(30.0), interpolation=near, fill=None)
        factor = 1.0 + sign * mag(0.9)
        if name == 'Brightness':
            return TF.adjust_brightness(t, factor)
        if name == 'Color':
            return TF.adjust_saturation(t, factor)
        if name == 'Contrast':
            return TF.adjust_contrast(t, factor)
        if name == 'Sharpness':
            return TF.adjust_sharpness(t, factor)
        if name == 'Posterize':
            return TF.posterize(t, bits=bits)
        if name == 'Solarize':
            return TF.solarize(t, threshold=solarize)
        if name == 'AutoContrast':
            return _autocontrast(t)
        return TF.equalize(t)
