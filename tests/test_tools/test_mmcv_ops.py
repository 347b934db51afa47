"""The mmcv ops that tools/install.sh builds: every op mmcv's Python side loads is in
``mmcv._ext``, and nms / RoIAlign give hand-computed results."""
import ast
import glob
import os.path as osp

import mmcv
import pytest
import torch


def _requested_ext_symbols():
    """Every name that mmcv/ops/*.py asks ``ext_loader.load_ext('_ext', [...])`` for."""
    names = set()
    for path in glob.glob(osp.join(osp.dirname(mmcv.__file__), 'ops', '*.py')):
        for node in ast.walk(ast.parse(open(path).read())):
            if (isinstance(node, ast.Call) and getattr(node.func, 'attr', '') == 'load_ext'
                    and len(node.args) == 2 and isinstance(node.args[1], ast.List)):
                names |= {elt.value for elt in node.args[1].elts}
    return names


def test_ext_exports_every_symbol_mmcv_ops_loads():
    import mmcv.ops  # noqa: F401  (imports every op module, each checking its symbols)
    from mmcv import _ext
    requested = _requested_ext_symbols()
    assert len(requested) > 100  # the scan found mmcv's op lists
    assert sorted(n for n in requested if not hasattr(_ext, n)) == []


def test_nms_hand_values():
    from mmcv.ops import nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.], [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    # IoU(box 0, box 1) = 81 / (100 + 100 - 81) = 0.68.
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    assert torch.equal(dets, torch.tensor([[0., 0., 10., 10., 0.9], [20., 20., 30., 30., 0.7]]))
    assert nms(boxes, scores, iou_threshold=0.7)[1].tolist() == [0, 1, 2]


@pytest.mark.parametrize('aligned, expected', [(False, [[5., 7.], [13., 15.]]),
                                               (True, [[2.5, 4.5], [10.5, 12.5]])])
def test_roi_align_hand_values(aligned, expected):
    """On f(x, y) = 4y + x bilinear sampling is exact: one sample per bin, at the bin
    centres (1, 1), (3, 1), (1, 3), (3, 3) of the box (0, 0, 4, 4), shifted by half a
    pixel when ``aligned``."""
    from mmcv.ops import RoIAlign
    feat = torch.arange(16.).reshape(1, 1, 4, 4).requires_grad_()
    rois = torch.tensor([[0., 0., 0., 4., 4.]])
    op = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=1, aligned=aligned)
    out = op(feat, rois)
    assert torch.allclose(out, torch.tensor(expected).reshape(1, 1, 2, 2))
    out.sum().backward()
    # Every sample spreads weight 1 over its neighbours: the gradients sum to 4.
    assert torch.isclose(feat.grad.sum(), torch.tensor(4.))
