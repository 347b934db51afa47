import importlib.util
import os
from collections import Counter

import torch

from sscl.datasets import ImageFolder

SCRIPT = os.path.join(
    os.path.dirname(__file__), '..', '..', 'tools', 'dataset_converters',
    'digits_to_imagefolder.py')


def converter():
    spec = importlib.util.spec_from_file_location('digits_to_imagefolder', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_export_split_and_idempotence(tmp_path, capsys):
    out = str(tmp_path / 'digits')
    convert = converter()
    convert.main(['--out', out])
    train = ImageFolder(
        data_root=out,
        data_prefix='train',
        pipeline=[dict(type='LoadImage'), dict(type='PackInputs')])
    test = ImageFolder(data_root=out, data_prefix='test')
    assert len(train) == 1437 and len(test) == 360
    assert train.metainfo['classes'] == tuple(str(c) for c in range(10))
    counts = Counter(test.get_data_info(i)['gt_label'] for i in range(len(test)))
    assert min(counts.values()) >= 35 and max(counts.values()) <= 37  # stratified
    img = train[0]['inputs']
    assert img.shape == (3, 32, 32) and img.dtype == torch.uint8
    assert torch.equal(img[0], img[1]) and img.max() > 200  # grey as RGB, 0-16 scaled
    first = sorted(os.listdir(os.path.join(out, 'test', '0')))
    mtime = os.path.getmtime(os.path.join(out, 'test', '0', first[0]))
    convert.main(['--out', out])
    assert 'nothing to do' in capsys.readouterr().out
    assert os.path.getmtime(os.path.join(out, 'test', '0', first[0])) == mtime
    convert.main(['--out', str(tmp_path / 'again')])  # same seed, same split
    assert sorted(os.listdir(tmp_path / 'again' / 'test' / '0')) == first
