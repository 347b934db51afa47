import os
import shutil

import pytest
import torch
from conftest import write_list

from sscl.datasets import ListFileDataset
from sscl.utils import ImageReadError

PIPE = [dict(type='LoadImage'), dict(type='PackInputs')]


def build(root, lines, name='list.txt', **kwargs):
    ann = write_list(root / 'meta' / name, lines)
    return ListFileDataset(ann_file=ann, data_root=str(root), data_prefix='train', **kwargs)


def test_path_and_label_lines(imagenet_like):
    ds = build(imagenet_like, ['n01/n01_0.JPEG 0', '', 'n03/n03_2.JPEG 2'], pipeline=PIPE)
    assert len(ds) == 2 and ds.metainfo['classes'] == ('n01', 'n02', 'n03')
    assert ds.get_data_info(1)['img_path'].endswith('train/n03/n03_2.JPEG')
    assert ds[1]['data_samples'] == dict(gt_label=2, sample_idx=1)
    assert ds[1]['inputs'].dtype == torch.uint8


def test_ann_file_is_relative_to_data_root(imagenet_like):
    write_list(imagenet_like / 'meta' / 'train.txt', ['n02/n02_0.JPEG 1'])
    ds = ListFileDataset(
        ann_file='meta/train.txt', data_root=str(imagenet_like), data_prefix='train')
    assert ds.get_data_info(0)['gt_label'] == 1


def test_simclr_names_and_class_paths_without_labels(imagenet_like):
    ds = build(imagenet_like, ['n02_1.JPEG', 'n03_3.JPEG', 'n01/n01_2.JPEG'])
    assert [ds.get_data_info(i)['gt_label'] for i in range(3)] == [1, 2, 0]
    assert ds.get_data_info(0)['img_path'].endswith('train/n02/n02_1.JPEG')
    assert ds.get_data_info(2)['img_path'].endswith('train/n01/n01_2.JPEG')


def test_classes_file_sets_the_label_order(imagenet_like):
    write_list(imagenet_like / 'meta' / 'classes.txt', ['n03', 'n02', 'n01'])
    ds = build(imagenet_like, ['n01_1.JPEG', 'n03_0.JPEG'], classes='meta/classes.txt')
    assert ds.metainfo['classes'] == ('n03', 'n02', 'n01')
    assert [ds.get_data_info(i)['gt_label'] for i in range(2)] == [2, 0]


@pytest.mark.parametrize('line, error, message', [
    ('n01/n01_1.JPEG zero', ValueError, r'bad\.txt:2: malformed line'),
    ('n01/n01_1.JPEG 0 0', ValueError, r'bad\.txt:2: malformed line'),
    ('n01/n01_9.JPEG 0', FileNotFoundError, r'bad\.txt:2: image not found: .*n01_9\.JPEG'),
    ('n01/n01_1.JPEG 3', ValueError, r'bad\.txt:2: label 3 is outside \[0, 3\)'),
    ('n01/n01_1.JPEG -1', ValueError, r'bad\.txt:2: label -1 is outside'),
    ('n09_1.JPEG', ValueError, r'bad\.txt:2: class "n09" of "n09_1.JPEG" is not a known class'),
    ('n01/n01_1.txt 0', ValueError, r'bad\.txt:2: "n01/n01_1.txt" is not a .* image'),
])
def test_bad_line_fails_at_build_naming_file_and_line(imagenet_like, line, error, message):
    with pytest.raises(error, match=message):
        build(imagenet_like, ['n01/n01_0.JPEG 0', line], name='bad.txt')


def test_num_classes_bounds_labels_of_a_flat_folder(imagenet_like):
    flat = imagenet_like / 'flat'
    flat.mkdir()
    for name in ('a.JPEG', 'b.JPEG'):
        shutil.copy(imagenet_like / 'train' / 'n01' / 'n01_0.JPEG', flat / name)
    ann = write_list(imagenet_like / 'l.txt', ['a.JPEG 4', 'b.JPEG 5'])
    with pytest.raises(ValueError, match=r'l\.txt:2: label 5 is outside \[0, 5\)'):
        ListFileDataset(ann_file=ann, data_prefix=str(flat), num_classes=5)
    ds = ListFileDataset(ann_file=ann, data_prefix=str(flat), num_classes=6)
    assert ds.metainfo['classes'] == tuple('012345') and ds.get_data_info(1)['gt_label'] == 5
    with pytest.raises(ValueError, match='num_classes=6 but there are 3 classes'):
        ListFileDataset(ann_file=ann, data_prefix=str(flat), num_classes=6, classes=['a', 'b', 'c'])


def test_check_files_scans_each_folder_once(imagenet_like, monkeypatch):
    lines = [f'{w}/{w}_{i}.JPEG {c}' for c, w in enumerate(('n01', 'n02', 'n03')) for i in range(4)]
    calls = []
    scandir = os.scandir
    monkeypatch.setattr(os, 'scandir', lambda p: calls.append(p) or scandir(p))
    monkeypatch.setattr(os.path, 'exists', lambda p: pytest.fail('exists called per line'))
    assert len(build(imagenet_like, lines)) == 12
    assert len(calls) == 4  # the class list, then one scan per class folder


def test_check_files_off_defers_missing_images_to_loading(imagenet_like):
    ds = build(imagenet_like, ['n01/n01_9.JPEG 0'], check_files=False, pipeline=PIPE)
    with pytest.raises(ImageReadError, match='image not found: .*n01_9.JPEG'):
        ds[0]


def test_missing_ann_file(imagenet_like):
    with pytest.raises(FileNotFoundError, match='ann_file file not found: .*nope.txt'):
        ListFileDataset(ann_file='nope.txt', data_root=str(imagenet_like), data_prefix='train')
