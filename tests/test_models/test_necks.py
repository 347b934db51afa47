import torch

from sscl.models.necks import MoCoV2Neck


def test_mocov2_neck_is_linear_relu_linear_without_normalisation():
    torch.manual_seed(0)
    neck = MoCoV2Neck(in_channels=16, hid_channels=32, out_channels=8)
    x = torch.randn(4, 16)
    out = neck(x)
    assert out.shape == (4, 8)
    fc1, fc2 = neck.mlp[0], neck.mlp[2]
    assert torch.allclose(out, fc2(fc1(x).relu()))
    assert not torch.allclose(out.norm(dim=1), torch.ones(4))
