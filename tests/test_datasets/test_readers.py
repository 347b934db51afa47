import os

import numpy as np
import pytest
import torch

from sscl.datasets import CIFAR10, ImageFolder, ListFileDataset


def write_list(path, lines):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return str(path)


PIPE = [dict(type='LoadImage'), dict(type='PackInputs')]


def test_image_folder(imagenet_like):
    ds = ImageFolder(data_root=str(imagenet_like), data_prefix='train', pipeline=PIPE)
    assert len(ds) == 12 and ds.metainfo['classes'] == ('n01', 'n02', 'n03')
    sample = ds[5]
    assert sample['inputs'].shape == (3, 20, 24) and sample['inputs'].dtype == torch.uint8
    assert sample['data_samples'] == dict(gt_label=1, sample_idx=5)


def test_list_file_with_labels(imagenet_like):
    ann = write_list(imagenet_like / 'meta' / 'train.txt', ['n01/n01_0.JPEG 0', 'n03/n03_2.JPEG 2'])
    ds = ListFileDataset(ann_file=ann, data_root=str(imagenet_like), data_prefix='train',
                         pipeline=PIPE)
    assert [ds[i]['data_samples']['gt_label'] for i in range(2)] == [0, 2]


def test_list_file_simclr_subset_names_files_only(imagenet_like):
    ann = write_list(imagenet_like / 'subset.txt', ['n02_1.JPEG', 'n03_3.JPEG'])
    ds = ListFileDataset(ann_file=ann, data_root=str(imagenet_like), data_prefix='train',
                         pipeline=PIPE)
    assert [ds.get_data_info(i)['gt_label'] for i in range(2)] == [1, 2]
    assert ds.get_data_info(0)['img_path'].endswith('train/n02/n02_1.JPEG')


def test_malformed_line_names_file_and_line(imagenet_like):
    ann = write_list(imagenet_like / 'bad.txt', ['n01/n01_0.JPEG 0', 'n01/n01_1.JPEG zero'])
    with pytest.raises(ValueError, match=r'bad\.txt:2: malformed line'):
        ListFileDataset(ann_file=ann, data_root=str(imagenet_like), data_prefix='train')


def test_missing_image_fails_at_build(imagenet_like):
    ann = write_list(imagenet_like / 'missing.txt', ['n01/n01_0.JPEG 0', 'n01/n01_9.JPEG 0'])
    with pytest.raises(FileNotFoundError, match=r'missing\.txt:2: image not found: .*n01_9'):
        ListFileDataset(ann_file=ann, data_root=str(imagenet_like), data_prefix='train')


def test_label_outside_num_classes(imagenet_like):
    ann = write_list(imagenet_like / 'label.txt', ['n01/n01_0.JPEG 7'])
    with pytest.raises(ValueError, match=r'label\.txt:1: label 7 is outside \[0, 3\)'):
        ListFileDataset(ann_file=ann, data_root=str(imagenet_like), data_prefix='train')


def test_labeled_list_split_and_missing_class(imagenet_like):
    lst = write_list(imagenet_like / 'split.txt', ['n01_0.JPEG', 'n02_3.JPEG', 'n03_1.JPEG'])
    ds = ImageFolder(data_root=str(imagenet_like), data_prefix='train', labeled_list=lst)
    assert [ds.get_data_info(i)['sample_idx'] for i in range(3)] == [0, 1, 2]
    assert [ds.get_data_info(i)['gt_label'] for i in range(3)] == [0, 1, 2]
    partial = write_list(imagenet_like / 'partial.txt', ['n01_0.JPEG', 'n02_3.JPEG'])
    with pytest.raises(ValueError, match="no sample of class.*n03"):
        ImageFolder(data_root=str(imagenet_like), data_prefix='train', labeled_list=partial)
    unknown = write_list(imagenet_like / 'unknown.txt', ['n01_0.JPEG', 'n09_0.JPEG'])
    with pytest.raises(FileNotFoundError, match=r'unknown\.txt:2'):
        ImageFolder(data_root=str(imagenet_like), data_prefix='train', labeled_list=unknown)


def test_num_per_class_draw_is_seeded(imagenet_like):
    def draw(seed):
        ds = ImageFolder(data_root=str(imagenet_like), data_prefix='train', num_per_class=2,
                         split_seed=seed)
        return [ds.get_data_info(i)['img_path'] for i in range(len(ds))]

    assert len(draw(0)) == 6 and draw(0) == draw(0)
    assert any(draw(0) != draw(s) for s in range(1, 5))
    with pytest.raises(ValueError, match='fewer than num_per_class'):
        ImageFolder(data_root=str(imagenet_like), data_prefix='train', num_per_class=5)


def test_cifar10_pickles(cifar10_like):
    train = CIFAR10(data_root=str(cifar10_like), pipeline=PIPE)
    test = CIFAR10(data_root=str(cifar10_like), test_mode=True, pipeline=PIPE)
    assert len(train) == 60 and len(test) == 12 and train.metainfo['classes'][3] == 'c3'
    sample = train[13]
    assert sample['inputs'].shape == (3, 32, 32) and sample['data_samples']['gt_label'] == 1
    labeled = CIFAR10(data_root=str(cifar10_like), num_per_class=1)
    assert sorted(labeled.get_data_info(i)['gt_label'] for i in range(10)) == list(range(10))


def test_cifar_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='cifar-10-batches-py.batches.meta'):
        CIFAR10(data_root=str(tmp_path))


def test_missing_image_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match='image folder not found'):
        ImageFolder(data_root=str(tmp_path), data_prefix='train')


def test_corrupt_image_error_names_file(imagenet_like):
    bad = imagenet_like / 'train' / 'n01' / 'n01_0.JPEG'
    bad.write_bytes(b'not a jpeg')
    ds = ImageFolder(data_root=str(imagenet_like), data_prefix='train', pipeline=PIPE)
    with pytest.raises(OSError, match='n01_0.JPEG'):
        ds[0]
    assert np.isfinite(ds[1]['inputs'].float().mean().item())
