from unittest import mock

import numpy as np
import pytest
import torch
import torchvision.transforms.v2 as T
from torchvision.io import decode_image, write_png

from sscl.registry import TRANSFORMS
from sscl.utils import ConfigError, ImageReadError


def noise(h=20, w=24):
    return torch.randint(
        0, 256, (3, h, w), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


def test_load_image_files(imagenet_like, tmp_path):
    path = str(imagenet_like / 'train' / 'n01' / 'n01_0.JPEG')
    img = TRANSFORMS.build(dict(type='LoadImage'))(dict(img_path=path))['img']
    assert img.shape == (3, 20, 24) and img.dtype == torch.uint8
    grey = str(tmp_path / 'grey.png')
    write_png(torch.arange(12, dtype=torch.uint8).reshape(1, 3, 4), grey)
    img = TRANSFORMS.build(dict(type='LoadImage'))(dict(img_path=grey))['img']
    assert img.shape == (3, 3, 4) and torch.equal(img[0], img[2])


def test_load_image_errors_name_the_file(tmp_path):
    load = TRANSFORMS.build(dict(type='LoadImage'))
    with pytest.raises(ImageReadError, match='image not found: .*absent.JPEG'):
        load(dict(img_path=str(tmp_path / 'absent.JPEG')))
    (tmp_path / 'bad.JPEG').write_bytes(b'not a jpeg')
    with pytest.raises(ImageReadError, match='cannot decode image .*bad.JPEG'):
        load(dict(img_path=str(tmp_path / 'bad.JPEG')))


def test_load_image_arrays():
    load = TRANSFORMS.build(dict(type='LoadImage'))
    array = np.random.default_rng(0).integers(0, 256, (32, 30, 3), dtype=np.uint8)
    img = load(dict(img=array))['img']
    assert img.shape == (3, 32, 30) and img.dtype == torch.uint8
    assert torch.equal(img, torch.from_numpy(array).permute(2, 0, 1))
    img.zero_()
    assert array.any()  # the tensor does not share the dataset's memory
    grey = load(dict(img=array[..., 0]))['img']
    assert grey.shape == (3, 32, 30) and torch.equal(grey[1], torch.from_numpy(array[..., 0]))
    with pytest.raises(ValueError, match='uint8'):
        load(dict(img=array.astype(np.float32)))


@pytest.mark.parametrize('cfg, op', [
    (dict(type='RandomResizedCrop', size=8, scale=(0.2, 1.0),
          antialias=True), T.RandomResizedCrop(8, scale=(0.2, 1.0), antialias=True)),
    (dict(type='RandomCrop', size=20, padding=4,
          padding_mode='reflect'), T.RandomCrop(20, padding=4, padding_mode='reflect')),
    (dict(type='RandomHorizontalFlip'), T.RandomHorizontalFlip()),
    (dict(type='Resize', size=10, antialias=True), T.Resize(10, antialias=True)),
    (dict(type='CenterCrop', size=8), T.CenterCrop(8)),
    (dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1,
          prob=0.8), T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8)),
    (dict(type='RandomGrayscale', p=0.2), T.RandomGrayscale(p=0.2)),
    (dict(type='GaussianBlur', kernel_size=3, sigma=(0.1, 2.0),
          prob=0.5), T.RandomApply([T.GaussianBlur(3, sigma=(0.1, 2.0))], p=0.5)),
    (dict(type='RandAugment', num_ops=2, magnitude=10), T.RandAugment(num_ops=2, magnitude=10)),
    (dict(type='TorchVision', name='RandomSolarize', threshold=128,
          p=0.5), T.RandomSolarize(threshold=128, p=0.5)),
])
def test_wrappers_are_torchvision_ops(cfg, op):
    wrapper = TRANSFORMS.build(cfg)
    for seed in range(3):
        torch.manual_seed(seed)
        out = wrapper(dict(img=noise()))['img']
        torch.manual_seed(seed)
        assert torch.equal(out, op(noise()))
        assert out.dtype == torch.uint8 and out.dim() == 3 and out.shape[0] == 3


def test_prob_and_unknown_op():
    always_grey = dict(type='RandomGrayscale', p=1.0)
    assert torch.equal(
        TRANSFORMS.build(dict(always_grey, prob=0.0))(dict(img=noise()))['img'], noise())
    half = TRANSFORMS.build(dict(always_grey, prob=0.5))
    torch.manual_seed(0)
    grey = [torch.equal(o[0], o[1]) for o in (half(dict(img=noise()))['img'] for _ in range(200))]
    assert 70 < sum(grey) < 130
    with pytest.raises(ValueError, match='"Sharpen" is not a torchvision.transforms.v2'):
        TRANSFORMS.build(dict(type='TorchVision', name='Sharpen'))


def test_two_views_from_one_decode(imagenet_like):
    weak = [dict(type='RandomCrop', size=16)]
    pipeline = [
        dict(type='LoadImage'),
        dict(
            type='MultiView',
            views=dict(
                weak=weak, strong=weak + [dict(type='RandAugment', num_ops=2, magnitude=10)])),
        dict(type='PackInputs')
    ]
    compose = [TRANSFORMS.build(t) for t in pipeline]
    torch.manual_seed(0)
    results = dict(
        img_path=str(imagenet_like / 'train' / 'n02' / 'n02_1.JPEG'), gt_label=1, sample_idx=5)
    with mock.patch('sscl.datasets.transforms.loading.decode_image', wraps=decode_image) as decode:
        for t in compose:
            results = t(results)
        assert decode.call_count == 1
    assert set(results['inputs']) == {'weak', 'strong'}
    weak_img, strong_img = results['inputs']['weak'], results['inputs']['strong']
    assert weak_img.shape == strong_img.shape == (3, 16, 16)
    assert weak_img.dtype == strong_img.dtype == torch.uint8
    assert not torch.equal(weak_img, strong_img)
    assert results['data_samples'] == dict(gt_label=1, sample_idx=5)


def test_pack_inputs_needs_tensors():
    pack = TRANSFORMS.build(dict(type='PackInputs'))
    with pytest.raises(TypeError, match='put LoadImage first'):
        pack(dict(img=np.zeros((4, 4, 3), np.uint8), gt_label=0, sample_idx=0))


def test_separable_gaussian_blur_equals_torchvision():
    from sscl.functional import separable_gaussian_blur
    g = torch.Generator().manual_seed(0)
    img = torch.randint(0, 256, (3, 40, 48), generator=g, dtype=torch.uint8)
    for sigma in (0.1, 0.8, 2.0):
        ours = separable_gaussian_blur(img, 23, sigma)
        ref = T.functional.gaussian_blur(img, [23, 23], [sigma, sigma])
        assert ours.dtype == torch.uint8
        assert (ours.int() - ref.int()).abs().max() <= 1  # float summation order only
        assert (ours != ref).float().mean() < 1e-3
    as_float = img.float()
    torch.testing.assert_close(separable_gaussian_blur(as_float, 5, 1.3),
                               T.functional.gaussian_blur(as_float, [5, 5], [1.3, 1.3]))


def test_gaussian_blur_probability_and_config_check():
    blur = TRANSFORMS.build(dict(type='GaussianBlur', kernel_size=3, sigma=(0.1, 2.0), prob=0.5))
    img = torch.zeros(3, 8, 8, dtype=torch.uint8)
    img[:, 4, 4] = 255
    torch.manual_seed(0)
    blurred = [not torch.equal(blur(dict(img=img))['img'], img) for _ in range(400)]
    assert 0.42 < np.mean(blurred) < 0.58
    with pytest.raises(ConfigError, match='odd'):
        TRANSFORMS.build(dict(type='GaussianBlur', kernel_size=4))
