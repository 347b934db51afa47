import pytest
import torch
from torchvision.io import write_png

from sscl.datasets import ImageFolder

PIPE = [dict(type='LoadImage'), dict(type='PackInputs')]


def test_classes_files_labels_and_sample_idx(imagenet_like):
    ds = ImageFolder(data_root=str(imagenet_like), data_prefix='train', pipeline=PIPE)
    assert len(ds) == 12 and ds.metainfo['classes'] == ('n01', 'n02', 'n03')
    info = [ds.get_data_info(i) for i in range(12)]
    assert [i['gt_label'] for i in info] == [0] * 4 + [1] * 4 + [2] * 4
    assert [i['sample_idx'] for i in info] == list(range(12))
    assert info[5]['img_path'].endswith('train/n02/n02_1.JPEG')
    sample = ds[5]
    assert sample['inputs'].shape == (3, 20, 24) and sample['inputs'].dtype == torch.uint8
    assert sample['data_samples'] == dict(gt_label=1, sample_idx=5)


def test_only_decodable_images_and_visible_folders(tmp_path):
    root = tmp_path / 'data'
    for cls in ('b', 'a', '.cache'):
        (root / cls).mkdir(parents=True)
        write_png(torch.zeros(3, 5, 6, dtype=torch.uint8), str(root / cls / 'x.png'))
    (root / 'a' / 'notes.txt').write_text('not an image')
    (root / 'a' / 'old.bmp').write_bytes(b'BM')
    ds = ImageFolder(data_root=str(root), pipeline=PIPE)
    assert ds.metainfo['classes'] == ('a', 'b') and len(ds) == 2
    assert ds[1]['inputs'].shape == (3, 5, 6)


def test_explicit_classes_select_and_order_folders(imagenet_like):
    ds = ImageFolder(data_root=str(imagenet_like), data_prefix='train', classes=['n03', 'n01'])
    assert len(ds) == 8 and ds.get_data_info(0)['img_path'].endswith('n03_0.JPEG')
    assert ds.get_data_info(0)['gt_label'] == 0 and ds.get_data_info(4)['gt_label'] == 1
    with pytest.raises(FileNotFoundError, match='class folder not found: .*n09'):
        ImageFolder(data_root=str(imagenet_like), data_prefix='train', classes=['n01', 'n09'])


def test_missing_or_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match='image folder not found: .*train'):
        ImageFolder(data_root=str(tmp_path), data_prefix='train')
    (tmp_path / 'empty' / 'a').mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match='no .* images under'):
        ImageFolder(data_root=str(tmp_path), data_prefix='empty')
