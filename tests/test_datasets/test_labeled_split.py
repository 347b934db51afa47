from collections import Counter

import pytest
from conftest import write_list

from sscl.datasets import ImageFolder, ListFileDataset
from sscl.datasets.base_dataset import SUBSET_DIR, resolve_subset_file


def folder(root, **kwargs):
    return ImageFolder(data_root=str(root), data_prefix='train', **kwargs)


def paths(ds):
    return [ds.get_data_info(i)['img_path'] for i in range(len(ds))]


def test_no_split_keeps_every_sample(imagenet_like):
    assert len(folder(imagenet_like)) == 12


def test_num_per_class_draw_is_seeded(imagenet_like):
    draws = {
        seed: paths(folder(imagenet_like, num_per_class=2, split_seed=seed))
        for seed in range(4)
    }
    assert draws[0] == paths(folder(imagenet_like, num_per_class=2, split_seed=0))
    assert len({tuple(d) for d in draws.values()}) > 1
    ds = folder(imagenet_like, num_per_class=2, split_seed=0)
    assert Counter(ds.get_data_info(i)['gt_label'] for i in range(6)) == {0: 2, 1: 2, 2: 2}
    assert [ds.get_data_info(i)['sample_idx'] for i in range(6)] == list(range(6))
    with pytest.raises(
            ValueError, match=r'class 0 \(n01\) has 4 images, fewer than '
            'num_per_class=5'):
        folder(imagenet_like, num_per_class=5)


def test_labeled_list_by_file_name_or_relative_path(imagenet_like):
    lst = write_list(imagenet_like / 'split.txt', ['n02_3.JPEG', 'n01/n01_0.JPEG', 'n03_1.JPEG'])
    ds = folder(imagenet_like, labeled_list=lst)
    assert [p.split('/')[-1] for p in paths(ds)] == ['n02_3.JPEG', 'n01_0.JPEG', 'n03_1.JPEG']
    assert [ds.get_data_info(i)['gt_label'] for i in range(3)] == [1, 0, 2]
    assert [ds.get_data_info(i)['sample_idx'] for i in range(3)] == [0, 1, 2]
    relative = folder(imagenet_like, labeled_list='split.txt')  # read under data_root
    assert paths(relative) == paths(ds)


def test_list_file_reader_takes_a_split_too(imagenet_like):
    ann = write_list(imagenet_like / 'all.txt',
                     [f'n0{c}/n0{c}_{i}.JPEG {c - 1}' for c in (1, 2, 3) for i in range(4)])
    lst = write_list(imagenet_like / 'split.txt', ['n01_1.JPEG', 'n02_2.JPEG', 'n03_3.JPEG'])
    ds = ListFileDataset(ann_file=ann, data_prefix=str(imagenet_like / 'train'), labeled_list=lst)
    assert [ds.get_data_info(i)['gt_label'] for i in range(len(ds))] == [0, 1, 2]


@pytest.mark.parametrize('lines, error, message', [
    (['n01_0.JPEG', 'n02_3.JPEG'], ValueError, r"no sample of class\(es\) \['n03'\] \(1 of 3\)"),
    (['n01_0.JPEG', 'n09_0.JPEG'], FileNotFoundError, r'bad\.txt:2: "n09_0.JPEG" is not an image'),
    (['n01_0.JPEG', 'n02_0.JPEG', 'n01/n01_0.JPEG'
      ], ValueError, r'bad\.txt:3: "n01/n01_0.JPEG" is listed twice \(first on line 1\)'),
])
def test_bad_labeled_list(imagenet_like, lines, error, message):
    with pytest.raises(error, match=message):
        folder(imagenet_like, labeled_list=write_list(imagenet_like / 'bad.txt', lines))


def test_ambiguous_file_name_asks_for_the_path(tmp_path):
    for cls in ('a', 'b'):
        (tmp_path / 'train' / cls).mkdir(parents=True)
        (tmp_path / 'train' / cls / 'x.png').write_bytes(b'')
    lst = write_list(tmp_path / 'l.txt', ['x.png'])
    with pytest.raises(FileNotFoundError, match='several images have this name'):
        folder(tmp_path, labeled_list=lst)
    lst = write_list(tmp_path / 'l.txt', ['a/x.png', 'b/x.png'])
    assert len(folder(tmp_path, labeled_list=lst)) == 2


def test_split_options_are_exclusive(imagenet_like):
    with pytest.raises(ValueError, match='either labeled_list or num_per_class'):
        folder(imagenet_like, labeled_list='1percent', num_per_class=1)


def test_shipped_simclr_subsets(tmp_path):
    assert resolve_subset_file('1percent') == f'{SUBSET_DIR}/1percent.txt'
    assert resolve_subset_file('my/list.txt', 'data/x') == 'data/x/my/list.txt'
    assert resolve_subset_file('/abs/list.txt', 'data/x') == '/abs/list.txt'
    lists = {}
    for name, count in (('1percent', 12811), ('10percent', 128116)):
        with open(resolve_subset_file(name)) as f:
            lists[name] = f.read().split()
        assert len(lists[name]) == len(set(lists[name])) == count
    # The 1% list read as a SimCLR list: the class is the wnid, all 1000 classes present.
    wnids = sorted({n.split('_')[0] for n in lists['1percent']})
    classes = write_list(tmp_path / 'classes.txt', wnids)
    ds = ListFileDataset(
        ann_file='1percent',
        classes=classes,
        check_files=False,
        data_prefix=str(tmp_path / 'train'))
    assert len(ds) == 12811 and len(ds.metainfo['classes']) == 1000
    first = ds.get_data_info(0)
    assert first['img_path'].endswith('train/n04235860/n04235860_14959.JPEG')
    assert first['gt_label'] == wnids.index('n04235860')
