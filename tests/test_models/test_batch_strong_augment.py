"""BatchStrongAugment: per-sample draws, torchvision's ops and distribution, batched."""
import numpy as np
import pytest
import torch
import torchvision.transforms.v2 as T
import torchvision.transforms.v2.functional as TF
from scipy.stats import ks_2samp

from sscl.functional import separable_gaussian_blur
from sscl.models.data_preprocessors import batch_strong_augment as bsa
from sscl.registry import MODELS
from sscl.utils import register_all_modules
from sscl.utils.op_count import OpCounter

register_all_modules()


def images(n=4, h=32, w=40, seed=0):
    """Smooth colourful images (upsampled noise), like photographs at low resolution."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 4, 5, generator=g)
    return (torch.nn.functional.interpolate(low, size=(h, w), mode='bicubic').clamp(0, 1) *
            255).to(torch.uint8)


def only(**kwargs):
    cfg = dict(type='BatchStrongAugment', color_jitter=None, grayscale_p=0.0, blur=None,
               rand_augment=None)
    return MODELS.build(dict(cfg, **kwargs))


@pytest.mark.parametrize('name,ours,ref,tol', [
    ('brightness', lambda x, f: bsa._blend(x, torch.zeros_like(x), f), TF.adjust_brightness, 0),
    ('contrast', lambda x, f: bsa._blend(x, bsa._gray(x).mean(dim=(1, 2, 3), keepdim=True), f),
     TF.adjust_contrast, 0),
    ('saturation', lambda x, f: bsa._blend(x, bsa._gray(x).to(torch.uint8).expand_as(x), f),
     TF.adjust_saturation, 1),
    ('hue', lambda x, f: bsa._hue(x, f - 1), lambda im, f: TF.adjust_hue(im, f - 1), 1),
    ('blur', lambda x, f: separable_gaussian_blur(x, 23, f),
     lambda im, f: TF.gaussian_blur(im, [23, 23], [f, f]), 1),
])
def test_per_sample_ops_equal_torchvision(name, ours, ref, tol):
    x, f = images(), torch.tensor([0.7, 1.3, 0.95, 1.08])
    expected = torch.stack([ref(im, float(v)) for im, v in zip(x, f)])
    assert (ours(x, f).int() - expected.int()).abs().max() <= tol  # tol: uint8 rounding


def test_output_and_independent_draws():
    aug = MODELS.build(dict(type='BatchStrongAugment'))
    x = images(1).expand(64, -1, -1, -1).contiguous()
    torch.manual_seed(0)
    out = aug(x.float())
    assert out.shape == x.shape and out.dtype == torch.uint8
    assert len({o.numpy().tobytes() for o in out}) > 50  # the samples drew differently
    grey = only(grayscale_p=0.5)(images(1).expand(400, -1, -1, -1).contiguous())
    frac = (grey[:, 0] == grey[:, 1]).flatten(1).all(dim=1).float().mean()
    assert 0.42 < frac < 0.58


def test_rand_augment_outputs_are_torchvision_ops():
    """With one op per sample, every output is one of torchvision's 14 ops (± sign) at the
    configured magnitude, applied by torchvision's RandAugment itself."""
    img = images(1, 24, 28)[0]
    ra = T.RandAugment(num_ops=1, magnitude=10)
    candidates = set()
    for seed in range(600):  # enumerate what torchvision can produce
        torch.manual_seed(seed)
        candidates.add(ra(img).numpy().tobytes())
    torch.manual_seed(1)
    out = only(rand_augment=dict(num_ops=1, magnitude=10, num_magnitude_bins=31))(
        img.expand(200, -1, -1, -1).contiguous())
    produced = {o.numpy().tobytes() for o in out}
    assert produced <= candidates
    assert len(produced) >= 15  # most of the 23 (op, sign) outcomes occur


def stats(batch):
    """Per-sample summaries: channel means, std, colourfulness, greyness."""
    x = batch.float()
    return dict(
        mean_r=x[:, 0].mean(dim=(1, 2)), mean_b=x[:, 2].mean(dim=(1, 2)),
        std=x.flatten(1).std(dim=1), spread=(x.max(dim=1).values - x.min(dim=1).values).mean(
            dim=(1, 2)))


def test_same_distribution_as_the_cpu_composition():
    n = 400
    base = images(1, 48, 48, seed=3)[0]
    cpu = T.Compose([
        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8), T.RandomGrayscale(p=0.2),
        T.RandomApply([T.GaussianBlur(23, sigma=(0.1, 2.0))], p=0.5),
        T.RandAugment(num_ops=2, magnitude=10)])
    torch.manual_seed(0)
    ref = torch.stack([cpu(base) for _ in range(n)])
    torch.manual_seed(1)
    ours = MODELS.build(dict(type='BatchStrongAugment'))(base.expand(n, -1, -1, -1).contiguous())
    a, b = stats(ref), stats(ours)
    for key in a:
        p = ks_2samp(a[key].numpy(), b[key].numpy()).pvalue
        assert p > 1e-3, (key, p)
    grey_ref = (ref[:, 0] == ref[:, 1]).flatten(1).all(dim=1).float().mean()
    grey_ours = (ours[:, 0] == ours[:, 1]).flatten(1).all(dim=1).float().mean()
    assert abs(grey_ref - grey_ours) < 0.07
    # and it is not the identity: the test can tell the stages apart
    plain = stats(base.expand(n, -1, -1, -1).contiguous())
    assert ks_2samp(plain['std'].numpy(), b['std'].numpy()).pvalue < 1e-6
    assert np.isfinite(b['std'].numpy()).all()


def test_data_preprocessor_applies_it_to_the_named_view_in_training():
    pre = MODELS.build(dict(type='SsclDataPreprocessor', mean=(0, 0, 0), std=(1, 1, 1),
                            batch_augments=dict(strong=dict(
                                type='BatchStrongAugment', color_jitter=None, grayscale_p=1.0,
                                blur=None, rand_augment=None))))
    x = images(3)
    data = dict(inputs=dict(weak=x, strong=x.clone()), data_samples={})
    out = pre(data, training=True)['inputs']
    assert torch.equal(out['weak'], x.float())
    assert torch.equal(out['strong'], TF.rgb_to_grayscale(x, num_output_channels=3).float())
    assert torch.equal(pre(data, training=False)['inputs']['strong'], x.float())


def test_moves_with_the_model():
    pre = MODELS.build(dict(type='SsclDataPreprocessor',
                            batch_augments=dict(strong=dict(type='BatchStrongAugment'))))
    pre.to('cpu')  # nn.Module.to walks the submodules
    assert isinstance(pre.batch_augments['strong'], bsa.BatchStrongAugment)


def test_jitter_ranges_follow_torchvision():
    x = images(1).expand(300, -1, -1, -1).contiguous()
    torch.manual_seed(0)
    strong = only(color_jitter=dict(brightness=1.5, contrast=0, saturation=0, hue=0, p=1.0))(x)
    # factors in [max(0, 1 - 1.5), 2.5] = [0, 2.5]: never negative, so black only at ~0
    assert (strong.flatten(1).amax(dim=1) == 0).float().mean() < 0.02
    ranged = only(color_jitter=dict(brightness=(1.0, 1.0), contrast=(0.5, 0.5), saturation=0,
                                    hue=0, p=1.0))(x[:2])
    assert torch.equal(ranged[0], TF.adjust_contrast(x[0], 0.5))


def test_draws_are_keyed_by_rank_and_batch_and_resume(monkeypatch):
    x = images(16)
    aug = MODELS.build(dict(type='BatchStrongAugment', seed=3))
    first, second = aug(x), aug(x)
    assert not torch.equal(first, second)  # a new draw every batch
    # a module restored from the state dict continues the same sequence
    resumed = MODELS.build(dict(type='BatchStrongAugment', seed=99))
    resumed.load_state_dict(aug.state_dict())
    torch.manual_seed(12345)  # the global generator plays no part
    assert torch.equal(resumed(x), aug(x))
    # another rank draws its own sequence
    fresh = MODELS.build(dict(type='BatchStrongAugment', seed=3))
    monkeypatch.setattr(bsa, 'get_rank', lambda: 1)
    assert not torch.equal(fresh(x), first)


def test_autocontrast_equals_torchvision_without_mask_writes():
    x = images(6)
    x[0, 1] = 90  # a flat channel: torchvision leaves it as it is
    x[1] = 255
    assert torch.equal(bsa._autocontrast(x), TF.autocontrast(x))


def test_groups_are_the_samples_of_each_key():
    keys = torch.tensor([3, 0, 3, 5, 0, 0, 3])
    assert [(k, idx.tolist()) for k, idx in bsa._groups(keys, 6)] == [
        (0, [1, 4, 5]), (3, [0, 2, 6]), (5, [3])]
    keys = torch.randint(0, 9, (200, ), generator=torch.Generator().manual_seed(0))
    for k, idx in bsa._groups(keys, 9):
        assert torch.equal(idx, (keys == k).nonzero()[:, 0])


def test_forward_never_reads_the_images_back_to_the_host():
    """Host syncs: only the CPU draws are read; the input batch stays as it was."""
    x = images(64)
    before = x.clone()
    aug = MODELS.build(dict(type='BatchStrongAugment', seed=0))
    with OpCounter([x]) as counter:  # x marked as held by the device
        aug(x)
    assert sum(counter.syncs.values()) == 0, counter.syncs
    assert torch.equal(x, before)
