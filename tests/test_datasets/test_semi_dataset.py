import pytest
from mmengine.dataset import ConcatDataset

from sscl.datasets import ImageFolder, SemiDataset


def test_labeled_then_unlabeled_index_space(imagenet_like):
    folder = dict(type='ImageFolder', data_root=str(imagenet_like), data_prefix='train')
    semi = SemiDataset(labeled=dict(folder, num_per_class=1), unlabeled=folder)
    assert isinstance(semi, ConcatDataset) and len(semi) == 3 + 12
    assert len(semi.labeled) == 3 and len(semi.unlabeled) == 12
    assert semi.metainfo['classes'] == ('n01', 'n02', 'n03')
    assert semi.get_data_info(3)['img_path'] == semi.unlabeled.get_data_info(0)['img_path']
    assert semi.get_data_info(14)['sample_idx'] == 11


def test_class_lists_must_agree(imagenet_like):
    root = str(imagenet_like)
    full = ImageFolder(data_root=root, data_prefix='train')
    two = ImageFolder(data_root=root, data_prefix='train', classes=['n01', 'n02'])
    with pytest.raises(ValueError, match='different classes: 2 classes .* vs 3 classes'):
        SemiDataset(labeled=two, unlabeled=full)
