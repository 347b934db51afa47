"""FGVC-Aircraft and Stanford Cars readers on tiny copies of their official layouts."""
import numpy as np
import pytest
import torch
from scipy.io import savemat
from torchvision.io import write_jpeg

from sscl.datasets import FGVCAircraft, StanfordCars
from sscl.registry import DATASETS

PIPE = [dict(type='LoadImage'), dict(type='PackInputs')]
VARIANTS = ('707-320', 'A340-500', 'F-16A/B')
CAR_CLASSES = ('AM General Hummer SUV 2000', 'Acura RL Sedan 2012', 'Audi R8 Coupe 2012')
ANNO_FIELDS = ('bbox_x1', 'bbox_y1', 'bbox_x2', 'bbox_y2', 'class', 'fname')


def write_image(path, seed=0):
    g = torch.Generator().manual_seed(seed)
    write_jpeg(torch.randint(0, 256, (3, 12, 16), dtype=torch.uint8, generator=g), str(path))


@pytest.fixture
def aircraft(tmp_path):
    """``fgvc-aircraft-2013b/data``: 3 variants, trainval 0000001-0000004, test 0000005-6."""
    root = tmp_path / 'fgvc-aircraft-2013b'
    images = root / 'data' / 'images'
    images.mkdir(parents=True)
    for i in range(1, 7):
        write_image(images / f'{i:07d}.jpg', i)
    (root / 'data' / 'variants.txt').write_text('\n'.join(VARIANTS) + '\n')
    (root / 'data' / 'images_variant_trainval.txt'
     ).write_text('0000001 707-320\n0000002 F-16A/B\n0000003 A340-500\n0000004 F-16A/B\n')
    (root / 'data' / 'images_variant_test.txt').write_text('0000005 A340-500\n0000006 707-320\n')
    return root


def write_annotations(path, records):
    """A MATLAB 1xN struct array ``annotations`` as in the devkit: (class, fname) records."""
    anno = np.zeros((1, len(records)), dtype=[(f, 'O') for f in ANNO_FIELDS])
    for i, (label, fname) in enumerate(records):
        anno[0, i] = (*[np.array([[v]], np.uint16)
                        for v in (1, 2, 11, 9)], np.array([[label]], np.uint8), np.array([fname]))
    savemat(str(path), {'annotations': anno})


@pytest.fixture
def cars(tmp_path):
    """Stanford Cars with 3 classes, 4 training and 2 test images."""
    root = tmp_path / 'stanford_cars'
    for split, count in (('train', 4), ('test', 2)):
        (root / f'cars_{split}').mkdir(parents=True)
        for i in range(1, count + 1):
            write_image(root / f'cars_{split}' / f'{i:05d}.jpg', i)
    (root / 'devkit').mkdir()
    names = np.empty((1, len(CAR_CLASSES)), dtype=object)
    names[0] = list(CAR_CLASSES)
    savemat(str(root / 'devkit' / 'cars_meta.mat'), {'class_names': names})
    write_annotations(root / 'devkit' / 'cars_train_annos.mat', [(3, '00001.jpg'), (1, '00002.jpg'),
                                                                 (2, '00003.jpg'),
                                                                 (3, '00004.jpg')])
    write_annotations(root / 'cars_test_annos_withlabels.mat', [(2, '00002.jpg'), (1, '00001.jpg')])
    return root


def test_aircraft_splits_labels_and_classes(aircraft):
    ds = DATASETS.build(dict(type='FGVCAircraft', data_root=str(aircraft), pipeline=PIPE))
    assert ds.split == 'trainval' and len(ds) == 4 and ds.metainfo['classes'] == VARIANTS
    assert [ds.get_data_info(i)['gt_label'] for i in range(4)] == [0, 2, 1, 2]
    assert ds.get_data_info(1)['img_path'].endswith('data/images/0000002.jpg')
    sample = ds[1]
    assert sample['inputs'].shape == (3, 12, 16)
    assert sample['data_samples'] == dict(gt_label=2, sample_idx=1)
    test = FGVCAircraft(data_root=str(aircraft), test_mode=True)
    assert test.split == 'test' and len(test) == 2
    assert [test.get_data_info(i)['gt_label'] for i in range(2)] == [1, 0]


def test_aircraft_num_per_class_split(aircraft):
    ds = FGVCAircraft(
        data_root=str(aircraft), classes=['707-320', 'F-16A/B', 'A340-500'], num_per_class=1)
    assert sorted(ds.get_data_info(i)['gt_label'] for i in range(len(ds))) == [0, 1, 2]


def test_aircraft_errors_name_file_and_line(aircraft):
    ann = aircraft / 'data' / 'images_variant_trainval.txt'
    ann.write_text('0000001 707-320\n0000002 Boeing 999\n')
    with pytest.raises(
            ValueError, match=r'images_variant_trainval.txt:2: unknown variant '
            r'"Boeing 999"'):
        FGVCAircraft(data_root=str(aircraft))
    ann.write_text('0000001 707-320\n\n0000002\n')
    with pytest.raises(
            ValueError, match=r'images_variant_trainval.txt:3: malformed line '
            r'"0000002"'):
        FGVCAircraft(data_root=str(aircraft))
    ann.write_text('0000009 707-320\n')
    with pytest.raises(
            FileNotFoundError,
            match=r'images_variant_trainval.txt:1: image not '
            r'found: .*data/images/0000009.jpg'):
        FGVCAircraft(data_root=str(aircraft))
    with pytest.raises(
            FileNotFoundError, match=r'annotation file not found: .*'
            r'images_variant_val.txt'):
        FGVCAircraft(data_root=str(aircraft), split='val')
    (aircraft / 'data' / 'variants.txt').unlink()
    with pytest.raises(FileNotFoundError, match=r'variants file not found: .*variants.txt'):
        FGVCAircraft(data_root=str(aircraft))
    with pytest.raises(ValueError, match=r"split must be one of .* got 'validation'"):
        FGVCAircraft(data_root=str(aircraft), split='validation')


def test_cars_splits_labels_and_classes(cars):
    ds = DATASETS.build(dict(type='StanfordCars', data_root=str(cars), pipeline=PIPE))
    assert ds.split == 'train' and len(ds) == 4 and ds.metainfo['classes'] == CAR_CLASSES
    assert [ds.get_data_info(i)['gt_label'] for i in range(4)] == [2, 0, 1, 2]
    assert ds.get_data_info(0)['img_path'].endswith('cars_train/00001.jpg')
    assert ds[3]['data_samples'] == dict(gt_label=2, sample_idx=3)
    test = StanfordCars(data_root=str(cars), test_mode=True)
    assert test.split == 'test' and len(test) == 2
    assert [test.get_data_info(i)['gt_label'] for i in range(2)] == [1, 0]
    assert test.get_data_info(0)['img_path'].endswith('cars_test/00002.jpg')


def test_cars_single_annotation(cars):
    write_annotations(cars / 'cars_test_annos_withlabels.mat', [(3, '00002.jpg')])
    ds = StanfordCars(data_root=str(cars), split='test')
    assert len(ds) == 1 and ds.get_data_info(0)['gt_label'] == 2


def test_cars_errors_name_file_and_annotation(cars):
    ann = cars / 'devkit' / 'cars_train_annos.mat'
    write_annotations(ann, [(1, '00001.jpg'), (4, '00002.jpg')])
    with pytest.raises(
            ValueError, match=r'cars_train_annos.mat: annotation 2: class 4 is '
            r'outside \[1, 3\]'):
        StanfordCars(data_root=str(cars))
    write_annotations(ann, [(1, '00001.jpg'), (2, '00009.jpg')])
    with pytest.raises(
            FileNotFoundError,
            match=r'cars_train_annos.mat: annotation 2: image '
            r'not found: .*cars_train/00009.jpg'):
        StanfordCars(data_root=str(cars))
    savemat(str(ann), {'annos': np.zeros(2)})
    with pytest.raises(ValueError, match=r'cars_train_annos.mat: no "annotations" variable'):
        StanfordCars(data_root=str(cars))
    ann.write_text('not a mat file')
    with pytest.raises(ValueError, match=r'cars_train_annos.mat: not a readable MATLAB file'):
        StanfordCars(data_root=str(cars))
    no_labels = np.zeros((1, 1), dtype=[('fname', 'O')])
    no_labels[0, 0] = (np.array(['00001.jpg']), )
    savemat(str(cars / 'cars_test_annos_withlabels.mat'), {'annotations': no_labels})
    with pytest.raises(ValueError, match=r'not "class" and "fname"'):
        StanfordCars(data_root=str(cars), split='test')
    (cars / 'devkit' / 'cars_meta.mat').unlink()
    with pytest.raises(FileNotFoundError, match=r'cars_meta file not found: .*cars_meta.mat'):
        StanfordCars(data_root=str(cars), split='test')
