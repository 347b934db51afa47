import pickle

import numpy as np
import pytest
import torch

from sscl.datasets import CIFAR10, CIFAR100

PIPE = [dict(type='LoadImage'), dict(type='PackInputs')]


def test_cifar10_pickles(cifar10_like):
    root, arrays = cifar10_like
    train = CIFAR10(data_root=str(root), pipeline=PIPE)
    test = CIFAR10(data_root=str(root), test_mode=True, pipeline=PIPE)
    assert len(train) == 60 and len(test) == 12
    assert train.metainfo['classes'] == tuple(f'c{i}' for i in range(10))
    sample = train[13]  # data_batch_2, image 1
    assert sample['data_samples'] == dict(gt_label=1, sample_idx=13)
    img = sample['inputs']
    assert img.shape == (3, 32, 32) and img.dtype == torch.uint8
    # rows of 3072 bytes: 1024 red, 1024 green, 1024 blue values, row-major
    expected = torch.from_numpy(arrays['data_batch_2'][1].reshape(3, 32, 32))
    assert torch.equal(img, expected)
    assert torch.equal(test[0]['inputs'],
                       torch.from_numpy(arrays['test_batch'][0].reshape(3, 32, 32)))


def test_cifar100_fine_labels(cifar100_like):
    train = CIFAR100(data_root=str(cifar100_like))
    test = CIFAR100(data_root=str(cifar100_like), test_mode=True)
    assert len(train) == 200 and len(test) == 100 and len(train.metainfo['classes']) == 100
    assert [test.get_data_info(i)['gt_label'] for i in (0, 57)] == [0, 57]
    img = train.get_data_info(3)['img']
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8


def test_num_per_class_on_cifar(cifar10_like):
    root, _ = cifar10_like
    labeled = CIFAR10(data_root=str(root), num_per_class=2, split_seed=1)
    labels = [labeled.get_data_info(i)['gt_label'] for i in range(len(labeled))]
    assert sorted(labels) == sorted(list(range(10)) * 2)
    with pytest.raises(ValueError, match='labeled_list needs image files'):
        CIFAR10(data_root=str(root), labeled_list='1percent')


def test_missing_or_foreign_file_is_named(cifar10_like, tmp_path):
    root, _ = cifar10_like
    (root / 'cifar-10-batches-py' / 'data_batch_3').unlink()
    with pytest.raises(FileNotFoundError, match='cifar-10-batches-py/data_batch_3'):
        CIFAR10(data_root=str(root))
    with pytest.raises(FileNotFoundError, match='cifar-10-batches-py/batches.meta'):
        CIFAR10(data_root=str(tmp_path / 'nowhere'))
    with open(root / 'cifar-10-batches-py' / 'data_batch_3', 'wb') as f:
        pickle.dump({b'data': np.zeros((2, 3072), np.uint8)}, f)
    with pytest.raises(ValueError, match=r"data_batch_3: not a CIFAR file, keys \[b'labels'\]"):
        CIFAR10(data_root=str(root))
