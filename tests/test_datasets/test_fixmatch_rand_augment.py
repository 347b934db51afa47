import pytest
import torch

from sscl.datasets.transforms import FixMatchRandAugment
from sscl.datasets.transforms.fixmatch_rand_augment import OP_NAMES
from sscl.utils.errors import ConfigError


def image():
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8, generator=g)


def test_every_op_keeps_shape_and_dtype_at_both_ends_of_its_range():
    t = FixMatchRandAugment()
    assert [op[0] for op in t.ops] == list(OP_NAMES) and len(OP_NAMES) == 14
    for name, low, high, op in t.ops:
        for v in (low, high):
            out = op(image(), v)
            assert out.shape == (3, 16, 16) and out.dtype == torch.uint8, name


def test_draws_follow_torch_seed():
    t = FixMatchRandAugment()
    torch.manual_seed(5)
    a = t(dict(img=image()))['img']
    torch.manual_seed(5)
    b = t(dict(img=image()))['img']
    torch.manual_seed(6)
    c = t(dict(img=image()))['img']
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_cutout_only_fills_a_square_of_at_most_the_given_side():
    t = FixMatchRandAugment(num_ops=0, cutout=0.5, fill=(1, 2, 3))
    img = torch.full((3, 16, 16), 200, dtype=torch.uint8)
    filled = 0
    for seed in range(50):
        torch.manual_seed(seed)
        out = t(dict(img=img.clone()))['img']
        changed = (out != 200).any(dim=0)
        if changed.any():
            filled += 1
            rows, cols = changed.any(dim=1).nonzero(), changed.any(dim=0).nonzero()
            assert rows.numel() <= 8 and cols.numel() <= 8  # side <= 0.5 * 16
            assert out[:, changed].T.tolist() == [[1, 2, 3]] * int(changed.sum())
    assert filled > 25
    # identity ops only and no cutout: the image passes unchanged
    t = FixMatchRandAugment(num_ops=4, cutout=0.0, exclude=tuple(n for n in OP_NAMES
                                                                 if n != 'Identity'))
    assert torch.equal(t(dict(img=image()))['img'], image())


def test_bad_arguments_are_config_errors():
    with pytest.raises(ConfigError, match='Rotat'):
        FixMatchRandAugment(exclude=('Rotat', ))
    with pytest.raises(ConfigError, match='cutout'):
        FixMatchRandAugment(cutout=2)
