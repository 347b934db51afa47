"""Convert an SsCL checkpoint's ResNet-50 into detection backbone weights.

    python tools/convert_to_det.py SRC DST [--format mmdet|detectron2|torchvision]
                                           [--weights query|key|ema]

SRC is an sscl/mmengine checkpoint (query backbone ``backbone.*``, key encoder
``momentum_encoder.backbone.*``, EMA weights in ``ema_state_dict``), or a file this tool wrote
(mmdet / torchvision state dict, detectron2 pickle), so every output converts back. Files are
read without executing pickled code: ``torch.load(weights_only=True)``, and a restricted
unpickler for detectron2 pickles that admits numpy arrays only.
"""
import argparse
import os
import os.path as osp
import pickle
import sys
import tempfile
from typing import Dict, Tuple

import numpy as np
import torch
import torchvision

PREFIXES = {
    'query': 'backbone.',
    'key': 'momentum_encoder.backbone.',
    'ema': 'module.backbone.',
}
# detectron2 naming of MoCo's public converter: stem, res2-res5, convK.norm, shortcut.
D2_RULES = [('layer1', 'res2'), ('layer2', 'res3'), ('layer3', 'res4'), ('layer4', 'res5'),
            ('bn1', 'conv1.norm'), ('bn2', 'conv2.norm'), ('bn3', 'conv3.norm'),
            ('downsample.0', 'shortcut'), ('downsample.1', 'shortcut.norm')]
NUMPY_GLOBALS = {('numpy.core.multiarray', '_reconstruct'),
                 ('numpy._core.multiarray', '_reconstruct'), ('numpy', 'ndarray'),
                 ('numpy', 'dtype'), ('numpy.core.multiarray', 'scalar'),
                 ('numpy._core.multiarray', 'scalar'), ('collections', 'OrderedDict')}


class ConversionError(Exception):
    """A problem with the input, reported as one line."""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert an SsCL checkpoint to detection backbone weights')
    parser.add_argument('src', help='SsCL checkpoint (or a file this tool wrote)')
    parser.add_argument('dst', help='output file')
    parser.add_argument('--format', choices=['mmdet', 'detectron2', 'torchvision'],
                        default='mmdet', help='output format (default: mmdet)')
    parser.add_argument('--weights', choices=list(PREFIXES), default='query',
                        help='query encoder, momentum key encoder or EMA weights')
    return parser.parse_args()


def resnet50_reference() -> Dict[str, Tuple[int, ...]]:
    """Keys and shapes of ``torchvision.models.resnet50()`` without ``fc``."""
    with torch.device('meta'):
        model = torchvision.models.resnet50()
    return {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.startswith('fc.')}


def to_detectron2(name: str) -> str:
    if not name.startswith('layer'):
        name = 'stem.' + name
    for old, new in D2_RULES:
        name = name.replace(old, new)
    return name


def from_detectron2(name: str) -> str:
    name = name[len('stem.'):] if name.startswith('stem.') else name
    for old, new in reversed(D2_RULES):
        name = name.replace(new, old)
    return name


class _NumpyUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global except numpy array reconstruction."""

    def find_class(self, module: str, name: str):
        if (module, name) not in NUMPY_GLOBALS:
            raise ConversionError(f'refusing to load {module}.{name} from a pickle: only '
                                  'numpy arrays are allowed')
        return super().find_class(module, name)


def load_source(path: str) -> dict:
    if not osp.isfile(path):
        raise ConversionError(f'{path}: no such file')
    with open(path, 'rb') as f:
        head = f.read(2)
    try:
        if head[:1] == b'\x80':  # a plain pickle (torch.save writes a zip archive)
            with open(path, 'rb') as f:
                return _NumpyUnpickler(f, encoding='latin1').load()
        return torch.load(path, map_location='cpu', weights_only=True)
    except ConversionError as e:
        raise ConversionError(f'{path}: {e}') from None
    except Exception as e:  # torch/pickle raise many types for files that are not checkpoints
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConversionError(f'{path}: not a loadable checkpoint ({first[:200]})') from None


def extract_backbone(ckpt, weights: str) -> Dict[str, torch.Tensor]:
    """The ResNet-50 tensors under torchvision's names."""
    if not isinstance(ckpt, dict):
        raise ConversionError('the file holds no dict of tensors')
    if 'matching_heuristics' in ckpt and isinstance(ckpt.get('model'), dict):
        return {from_detectron2(k): torch.as_tensor(np.asarray(v))
                for k, v in ckpt['model'].items()}
    if weights == 'ema':
        if 'ema_state_dict' not in ckpt:
            raise ConversionError('--weights ema: the checkpoint has no ema_state_dict')
        state = ckpt['ema_state_dict']
    else:
        state = ckpt.get('state_dict', ckpt)
    prefix = PREFIXES[weights]
    selected = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not selected and weights == 'query':  # a bare backbone state dict (mmdet/torchvision)
        selected = {k: v for k, v in state.items() if not k.startswith('fc.')}
    return selected


def check_resnet50(state: Dict[str, torch.Tensor], weights: str) -> None:
    reference = resnet50_reference()
    missing = [k for k in reference if k not in state]
    if missing:
        raise ConversionError(
            f'not a ResNet-50 checkpoint: {len(missing)} of {len(reference)} backbone tensors '
            f'missing for --weights {weights} (prefix "{PREFIXES[weights]}"), e.g. {missing[0]}')
    wrong = [k for k in reference if tuple(state[k].shape) != reference[k]]
    if wrong:
        raise ConversionError(f'not a ResNet-50: {wrong[0]} has shape '
                              f'{tuple(state[wrong[0]].shape)}, expected {reference[wrong[0]]}')


def save_atomic(obj, dst: str, as_pickle: bool) -> None:
    """Write to a temporary file beside ``dst`` and rename it: no partial output."""
    folder = osp.dirname(osp.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            if as_pickle:
                pickle.dump(obj, f)
            else:
                torch.save(obj, f)
        os.replace(tmp, dst)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def convert(src: str, dst: str, fmt: str, weights: str) -> str:
    ckpt = load_source(src)
    state = extract_backbone(ckpt, weights)
    check_resnet50(state, weights)
    reference = resnet50_reference()
    state = {k: state[k].detach().clone().float() if state[k].is_floating_point() else
             state[k].detach().clone() for k in reference}
    meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
    source = dict(epoch=meta.get('epoch'), iter=meta.get('iter'))
    if fmt == 'mmdet':
        save_atomic(dict(state_dict=state, meta=dict(source=osp.basename(src), **source)), dst,
                    as_pickle=False)
    elif fmt == 'torchvision':
        save_atomic(state, dst, as_pickle=False)
    else:
        model = {to_detectron2(k): v.numpy() for k, v in state.items()}
        save_atomic(dict(model=model, __author__='sscl', matching_heuristics=True), dst,
                    as_pickle=True)
    params = sum(v.numel() for k, v in state.items() if 'running' not in k and
                 'num_batches' not in k)
    return (f'{fmt}: {len(state)} tensors, {params / 1e6:.2f} M parameters from the '
            f'{weights} ResNet-50 of {src} (epoch {source["epoch"]}, iteration '
            f'{source["iter"]}) -> {dst}')


def main() -> None:
    args = parse_args()
    try:
        print(convert(args.src, args.dst, args.format, args.weights))
    except ConversionError as e:
        sys.exit(f'convert_to_det.py: error: {e}')


if __name__ == '__main__':
    main()
