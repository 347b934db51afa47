import pytest
import torch
import torch.nn as nn
import torchvision

from sscl.models.backbones import ResNet, WideResNet


def _torchvision_trunk_state(depth: int) -> dict:
    tv = getattr(torchvision.models, f'resnet{depth}')()
    return {k: v for k, v in tv.state_dict().items() if not k.startswith('fc.')}


@pytest.mark.parametrize('depth', [18, 50])
def test_resnet_keys_equal_torchvision_and_load_strictly(depth):
    torch.manual_seed(0)
    tv = getattr(torchvision.models, f'resnet{depth}')()
    tv_state = {k: v for k, v in tv.state_dict().items() if not k.startswith('fc.')}
    ours = ResNet(depth=depth)
    assert list(ours.state_dict()) == list(tv_state)
    ours.load_state_dict(tv_state, strict=True)
    tv.eval(), ours.eval()
    trunk = nn.Sequential(*list(tv.children())[:-2])
    x = torch.randn(1, 3, 32, 32)
    assert torch.allclose(ours(x)[-1], trunk(x), atol=1e-5)


def test_resnet50_has_318_keys_and_stage_shapes():
    model = ResNet(depth=50, out_indices=(0, 1, 2, 3))
    assert len(model.state_dict()) == 318 and model.out_channels == 2048
    outs = model(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 256, 8, 8), (2, 512, 4, 4), (2, 1024, 2, 2),
                                              (2, 2048, 1, 1)]


def test_resnet_out_indices_and_bad_depth():
    outs = ResNet(depth=18, out_indices=(1, 3))(torch.randn(2, 3, 32, 32))
    assert [o.shape[1] for o in outs] == [128, 512]
    with pytest.raises(ValueError, match='depth'):
        ResNet(depth=20)
    with pytest.raises(ValueError, match='frozen_stages'):
        ResNet(depth=18, frozen_stages=5)


def test_resnet_sync_bn_keeps_keys():
    model = ResNet(depth=18, sync_bn=True)
    assert isinstance(model.bn1, nn.SyncBatchNorm)
    assert list(model.state_dict()) == list(_torchvision_trunk_state(18))


def _train_step(model: nn.Module) -> dict:
    """One SGD step in train mode; returns the state before it."""
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.SGD(trainable, lr=0.1) if trainable else None
    out = model(torch.randn(4, 3, 32, 32))[-1]
    if optim is not None:
        out.square().mean().backward()
        optim.step()
    return before


def test_frozen_stages_fix_stem_and_stages_weights_and_statistics():
    torch.manual_seed(0)
    model = ResNet(depth=18, frozen_stages=1)
    before = _train_step(model)
    state = model.state_dict()
    frozen = [k for k in state if k.startswith(('conv1.', 'bn1.', 'layer1.'))]
    assert frozen and not any(p.requires_grad for n, p in model.named_parameters()
                              if n.startswith(('conv1.', 'bn1.', 'layer1.')))
    for k in frozen:  # weights and running statistics
        assert torch.equal(state[k], before[k]), k
    assert not model.bn1.training and model.layer2[0].bn1.training
    assert not torch.equal(state['layer2.0.conv1.weight'], before['layer2.0.conv1.weight'])
    assert not torch.equal(state['layer2.0.bn1.running_mean'], before['layer2.0.bn1.running_mean'])


def test_norm_eval_fixes_statistics_but_trains_weights():
    torch.manual_seed(0)
    model = ResNet(depth=18, norm_eval=True)
    before = _train_step(model)
    state = model.state_dict()
    assert all(not m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    for k in state:
        if 'running' in k or 'num_batches_tracked' in k:
            assert torch.equal(state[k], before[k]), k
    assert not torch.equal(state['conv1.weight'], before['conv1.weight'])


def test_fully_frozen_linear_evaluation_backbone_changes_nothing():
    model = ResNet(depth=18, frozen_stages=4, norm_eval=True)
    assert not any(p.requires_grad for p in model.parameters())
    before = _train_step(model)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_wide_resnet_28_2_shape_and_fixmatch_size():
    model = WideResNet(depth=28, widen_factor=2)
    assert model(torch.randn(2, 3, 32, 32))[-1].shape == (2, 128, 8, 8)
    # FixMatch's 1,467,610 parameters minus its 10-class classifier (128 * 10 + 10)
    assert sum(p.numel() for p in model.parameters()) == 1_467_610 - 1290
    assert model.bn.momentum == 0.001 and model.relu.negative_slope == 0.1
    with pytest.raises(ValueError, match='6n\\+4'):
        WideResNet(depth=27)


def test_wide_resnet_he_init_as_fixmatch():
    torch.manual_seed(0)
    conv = WideResNet().block3[1].conv1  # 128 -> 128, 3x3
    assert conv.weight.std().item() == pytest.approx((2 / (9 * 128))**0.5, rel=0.02)


def test_wide_resnet_shortcut_inputs():
    """Only the first block feeds its shortcut the pre-activation (FixMatch)."""
    model = WideResNet(depth=10, widen_factor=2).eval()
    seen = {}

    def record(name):
        return lambda module, args: seen.__setitem__(name, args[0].clone())

    for name in ('block1', 'block2'):
        block = getattr(model, name)[0]
        block.register_forward_pre_hook(record(name + '.in'))
        block.shortcut.register_forward_pre_hook(record(name + '.shortcut'))
    model(torch.randn(2, 3, 16, 16))
    first = model.block1[0]
    assert torch.allclose(seen['block1.shortcut'], first.relu1(first.bn1(seen['block1.in'])))
    assert torch.equal(seen['block2.shortcut'], seen['block2.in'])
