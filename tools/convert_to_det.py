"""Convert an SsCL checkpoint's ResNet-50 into detection backbone weights.

    python tools/convert_to_det.py SRC DST [--format mmdet|detectron2|torchvision]
                                           [--weights query|key|ema]

SRC is an sscl/mmengine checkpoint (query backbone ``backbone.*``, key encoder
``momentum_encoder.backbone.*``), or a file this tool wrote (mmdet / torchvision state dict,
detectron2 pickle), so every output converts back. mmengine's ``EMAHook`` swaps the weights
when it saves: ``state_dict`` then holds the averaged model (what ``tools/test.py`` evaluates)
and ``ema_state_dict`` the trained one under ``module.``; ``--weights`` follows that. The
default, the trained query encoder, is the transfer choice of every downstream config
(``Pretrained(weights='query')``, docs/method.md). Files are
read without executing pickled code: ``torch.load(weights_only=True)``, and a restricted
unpickler for plain pickles (detectron2) that admits numpy arrays only.
"""
import argparse
import os
import os.path as osp
import pickle
import sys
import tempfile
from typing import Any, Dict, Tuple

import numpy as np
import torch
import torchvision

# --weights: prefix of the ResNet-50 in the model's state dict
PREFIXES = {
    'query': 'backbone.',
    'key': 'momentum_encoder.backbone.',
    'ema': 'backbone.',
}
# Prefixes a model wrapper adds in front of the model's keys: none, mmengine's EMA / DDP
# (``module.``), Lightning-style (``model.``).
WRAPPERS = ('', 'module.', 'model.')
# detectron2 naming of MoCo's public converter: stem, res2-res5, convK.norm, shortcut.
D2_RULES = [('layer1', 'res2'), ('layer2', 'res3'), ('layer3', 'res4'), ('layer4', 'res5'),
            ('bn1', 'conv1.norm'), ('bn2', 'conv2.norm'), ('bn3', 'conv3.norm'),
            ('downsample.0', 'shortcut'), ('downsample.1', 'shortcut.norm')]
NUMPY_GLOBALS = {('numpy.core.multiarray', '_reconstruct'),
                 ('numpy._core.multiarray', '_reconstruct'), ('numpy', 'ndarray'),
                 ('numpy', 'dtype'), ('numpy.core.multiarray', 'scalar'),
                 ('numpy._core.multiarray', 'scalar'), ('collections', 'OrderedDict')}


class ConversionError(Exception):
    """A problem with the input or the output path, reported as one line."""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert the ResNet-50 of an SsCL checkpoint into detection backbone '
        'weights (mmdet, detectron2 or torchvision naming)')
    parser.add_argument('src', help='SsCL checkpoint (or a file this tool wrote)')
    parser.add_argument(
        'dst', help='output file; detectron2 reads pickles only from names ending in .pkl')
    parser.add_argument(
        '--format',
        choices=['mmdet', 'detectron2', 'torchvision'],
        default='mmdet',
        help='mmdet: {"state_dict", "meta"} for backbone.init_cfg Pretrained (default); '
        'detectron2: MoCo-style pickle of numpy arrays; torchvision: resnet50() keys without fc')
    parser.add_argument(
        '--weights',
        choices=list(PREFIXES),
        default='query',
        help='trained query encoder (default), momentum key encoder, or the EMAHook average '
        'of the query encoder')
    return parser.parse_args()


def resnet50_reference() -> Dict[str, Tuple[int, ...]]:
    """Keys and shapes of ``torchvision.models.resnet50()`` without ``fc`` (318 tensors)."""
    with torch.device('meta'):
        model = torchvision.models.resnet50()
    return {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.startswith('fc.')}


def to_detectron2(name: str) -> str:
    """``layer1.0.bn1.weight`` -> ``res2.0.conv1.norm.weight``; ``conv1.*`` -> ``stem.*``."""
    if not name.startswith('layer'):
        name = 'stem.' + name
    for old, new in D2_RULES:
        name = name.replace(old, new)
    return name


def from_detectron2(name: str) -> str:
    """The inverse of :func:`to_detectron2`."""
    name = name[len('stem.'):] if name.startswith('stem.') else name
    for old, new in reversed(D2_RULES):
        name = name.replace(new, old)
    return name


class _NumpyUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global except numpy array reconstruction."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in NUMPY_GLOBALS:
            raise ConversionError(f'refusing to load {module}.{name} from a pickle: only '
                                  'numpy arrays are allowed')
        return super().find_class(module, name)


def load_source(path: str) -> Any:
    """Read ``path`` without executing pickled code.

    A zip archive (``torch.save``) or a legacy torch file goes to
    ``torch.load(weights_only=True)``; any other pickle (detectron2) to a numpy-only
    unpickler.
    """
    if not osp.isfile(path):
        raise ConversionError('no such file')
    with open(path, 'rb') as f:
        head = f.read(2)
    if head[:1] != b'\x80' and head != b'PK':
        raise ConversionError('not a checkpoint (neither a torch.save archive nor a pickle)')
    try:
        if head[:1] == b'\x80':  # a plain pickle, or a torch file from before torch 1.6
            with open(path, 'rb') as f:
                obj = _NumpyUnpickler(f, encoding='latin1').load()
            legacy_torch = isinstance(obj, int) and obj == torch.serialization.MAGIC_NUMBER
            if not legacy_torch:
                return obj
        return torch.load(path, map_location='cpu', weights_only=True)
    except ConversionError:
        raise
    except Exception as e:  # torch/pickle raise many types for files that are not checkpoints
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        refused = [line for line in lines if line.startswith('WeightsUnpickler error:')]
        if refused:  # torch's weights_only unpickler met a global it does not allow
            reason = refused[0][len('WeightsUnpickler error:'):].split('. ')[0].strip()
            raise ConversionError('refusing to load anything but tensors and plain Python '
                                  f'({reason})') from None
        first = lines[0].split('. ')[0] if lines else type(e).__name__
        raise ConversionError(f'not a loadable checkpoint ({first[:200]})') from None


def _as_tensor(value: Any) -> Any:
    """A numeric numpy array as a tensor; anything else unchanged (the check reports it)."""
    if isinstance(value, np.ndarray) and value.dtype.kind in 'biuf':
        return torch.from_numpy(value)
    return value


def model_state(ckpt: dict, weights: str) -> dict:
    """The state dict that holds the ``weights`` asked for.

    With an ``ema_state_dict`` (mmengine's EMAHook), the trained query and key encoders are
    there and the averaged ones in ``state_dict``; without it ``state_dict`` (or the bare
    dict) holds the trained model and there are no EMA weights.
    """
    has_ema = 'ema_state_dict' in ckpt
    if weights == 'ema' and not has_ema:
        raise ConversionError('--weights ema: the checkpoint has no ema_state_dict '
                              '(it was not trained with EMAHook)')
    entry = 'ema_state_dict' if has_ema and weights != 'ema' else 'state_dict'
    state = ckpt.get(entry, ckpt)
    if not isinstance(state, dict):
        raise ConversionError(f'"{entry}" is a {type(state).__name__}, not a dict of tensors')
    return state


def extract_backbone(ckpt: Any, weights: str) -> Dict[str, Any]:
    """The ResNet-50 entries of ``ckpt`` under torchvision's names (not yet checked)."""
    if not isinstance(ckpt, dict):
        raise ConversionError('the file holds no dict of tensors')
    if 'matching_heuristics' in ckpt and isinstance(ckpt.get('model'), dict):
        return {from_detectron2(k): _as_tensor(v) for k, v in ckpt['model'].items()}
    state = model_state(ckpt, weights)
    prefix = PREFIXES[weights]
    for wrapper in WRAPPERS:
        start = wrapper + prefix
        selected = {
            k[len(start):]: v
            for k, v in state.items() if isinstance(k, str) and k.startswith(start)
        }
        if selected:
            return selected
    if weights == 'query':  # a bare backbone state dict (mmdet/torchvision output)
        return {k: v for k, v in state.items() if not str(k).startswith('fc.')}
    return {}


def check_resnet50(state: Dict[str, Any], weights: str) -> None:
    """Raise unless ``state`` holds every ResNet-50 tensor with torchvision's shape."""
    reference = resnet50_reference()
    missing = [k for k in reference if k not in state]
    if missing:
        raise ConversionError(
            f'not a ResNet-50 checkpoint: {len(missing)} of {len(reference)} backbone tensors '
            f'missing for --weights {weights} (prefix "{PREFIXES[weights]}"), '
            f'e.g. {missing[0]}')
    for k, shape in reference.items():
        value = state[k]
        if not isinstance(value, torch.Tensor):
            raise ConversionError(f'not a ResNet-50: {k} is a {type(value).__name__}, '
                                  'not a tensor')
        if tuple(value.shape) != shape:
            raise ConversionError(f'not a ResNet-50: {k} has shape {tuple(value.shape)}, '
                                  f'expected {shape}')


def save_atomic(obj: Any, dst: str, as_pickle: bool) -> None:
    """Write to a temporary file beside ``dst`` and rename it: no partial output."""
    folder = osp.dirname(osp.abspath(dst))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix='.tmp')
    except OSError as e:
        raise ConversionError(f'cannot write {dst}: {e.strerror}') from None
    try:
        with os.fdopen(fd, 'wb') as f:
            if as_pickle:
                pickle.dump(obj, f)
            else:
                torch.save(obj, f)
        os.replace(tmp, dst)
    except OSError as e:
        raise ConversionError(f'cannot write {dst}: {e.strerror}') from None
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def _standalone(tensor: torch.Tensor) -> torch.Tensor:
    """A copy with its own storage (a view would drag its whole storage into the output),
    floating point as float32."""
    tensor = tensor.detach().clone()
    return tensor.float() if tensor.is_floating_point() else tensor


def check_destination(src: str, dst: str, fmt: str) -> None:
    """Refuse outputs that would be unusable or would replace the source."""
    if osp.isdir(dst):
        raise ConversionError(f'{dst} is a directory; give the output file name')
    if osp.exists(src) and osp.exists(dst) and osp.samefile(src, dst):
        raise ConversionError(f'{dst} is the source file')
    if fmt == 'detectron2' and not dst.endswith('.pkl'):
        raise ConversionError(f'{dst}: detectron2 reads a pickle only from a name ending in '
                              '.pkl (it torch.loads anything else)')


def convert(src: str, dst: str, fmt: str, weights: str) -> str:
    """Convert ``src`` into ``dst`` and return a one-line summary."""
    check_destination(src, dst, fmt)
    try:
        ckpt = load_source(src)
        state = extract_backbone(ckpt, weights)
        check_resnet50(state, weights)
    except ConversionError as e:
        raise ConversionError(f'{src}: {e}') from None
    state = {k: _standalone(state[k]) for k in resnet50_reference()}
    meta = ckpt.get('meta')
    meta = meta if isinstance(meta, dict) else {}
    epoch, it = meta.get('epoch'), meta.get('iter')
    if fmt == 'mmdet':
        save_atomic(
            dict(state_dict=state, meta=dict(source=osp.basename(src), epoch=epoch, iter=it)),
            dst,
            as_pickle=False)
    elif fmt == 'torchvision':
        save_atomic(state, dst, as_pickle=False)
    else:
        model = {to_detectron2(k): v.numpy() for k, v in state.items()}
        save_atomic(
            dict(model=model, __author__='sscl', matching_heuristics=True), dst, as_pickle=True)
    params = sum(v.numel() for k, v in state.items()
                 if 'running' not in k and 'num_batches' not in k)
    when = 'unknown' if epoch is None and it is None else f'epoch {epoch}, iteration {it}'
    return (f'{fmt}: {len(state)} tensors, {params / 1e6:.2f} M parameters from the '
            f'{weights} ResNet-50 of {src} ({when}) -> {dst}')


def main() -> None:
    args = parse_args()
    try:
        print(convert(args.src, args.dst, args.format, args.weights))
    except ConversionError as e:
        sys.exit(f'convert_to_det.py: error: {e}')


if __name__ == '__main__':
    main()
