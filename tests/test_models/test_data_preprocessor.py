import torch

from sscl.models.data_preprocessors import SsclDataPreprocessor


def test_known_pixel_is_normalised_per_channel():
    pre = SsclDataPreprocessor()  # ImageNet mean/std, RGB 0-255
    img = torch.zeros(1, 3, 2, 2, dtype=torch.uint8)
    img[0, :, 0, 0] = torch.tensor([255, 128, 0], dtype=torch.uint8)
    out = pre(dict(inputs=img, data_samples=dict(gt_label=torch.tensor([3]))))
    expected = torch.tensor([(255 - 123.675) / 58.395, (128 - 116.28) / 57.12,
                             (0 - 103.53) / 57.375])
    assert out['inputs'].dtype == torch.float32 and out['inputs'].shape == (1, 3, 2, 2)
    assert torch.allclose(out['inputs'][0, :, 0, 0], expected)
    assert out['data_samples']['gt_label'].tolist() == [3]


def test_dict_inputs_and_nested_data_samples_keep_their_structure():
    pre = SsclDataPreprocessor(mean=(100, 100, 100), std=(50, 50, 50), channels_last=True)
    views = {
        k: torch.full((2, 3, 4, 4), v, dtype=torch.uint8)
        for k, v in (('labeled', 200), ('weak', 100), ('strong', 0))
    }
    samples = dict(
        labeled=dict(gt_label=torch.tensor([0, 1]), sample_idx=torch.arange(2)),
        unlabeled=dict(gt_label=torch.tensor([-1, -1]), sample_idx=torch.arange(2)))
    out = pre(dict(inputs=views, data_samples=samples), training=True)
    assert set(out['inputs']) == {'labeled', 'weak', 'strong'}
    for key, value in (('labeled', 2.0), ('weak', 0.0), ('strong', -2.0)):
        img = out['inputs'][key]
        assert torch.equal(img, torch.full((2, 3, 4, 4), value))
        assert img.is_contiguous(memory_format=torch.channels_last)
    assert out['data_samples']['unlabeled']['gt_label'].tolist() == [-1, -1]
    assert set(out['data_samples']) == {'labeled', 'unlabeled'}


def test_missing_data_samples_pass_as_none():
    out = SsclDataPreprocessor()(dict(inputs=torch.zeros(1, 3, 2, 2, dtype=torch.uint8)))
    assert out['data_samples'] is None


def test_normalize_is_the_formula_bit_for_bit_and_leaves_its_input():
    """One copy in the final layout, normalised in place: the same values as
    ``(x - mean) / std``, in both layouts, and a float input is not overwritten."""
    g = torch.Generator().manual_seed(0)
    img = torch.randint(0, 256, (2, 3, 5, 7), generator=g, dtype=torch.uint8)
    for channels_last in (False, True):
        pre = SsclDataPreprocessor(channels_last=channels_last)
        for x in (img, img.float()):
            before = x.clone()
            out = pre.normalize(x)
            assert torch.equal(out, (before.float() - pre.mean) / pre.std)
            assert torch.equal(x, before)
            assert out.is_contiguous(memory_format=torch.channels_last if channels_last
                                     else torch.contiguous_format)
