"""tools/analysis/browse_views.py: the config's own views, its batch augmentation on the CPU,
and a PNG."""
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from synthetic_data import digits_like, imagenet_like

from sscl.datasets.keyed_random import keyed_items
from sscl.registry import DATASETS
from sscl.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
spec = importlib.util.spec_from_file_location(
    'browse_views', osp.join(ROOT, 'tools', 'analysis', 'browse_views.py'))
browse_views = importlib.util.module_from_spec(spec)
spec.loader.exec_module(browse_views)
register_all_modules(init_default_scope=False)


def config(name, root, **extra):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    cfg.train_dataloader.dataset.labeled.data_root = root
    cfg.train_dataloader.dataset.unlabeled.data_root = root
    cfg.train_dataloader.dataset.labeled.update(extra)
    return cfg


def test_digits_views_are_the_pipelines_draws_and_the_png_is_written(tmp_path):
    digits_like(str(tmp_path / 'digits'), per_class=3, test_per_class=1)
    cfg = config('sscl/wrn28-2_digits16_20labels.py', str(tmp_path / 'digits'))
    views = browse_views.collect_views(cfg, num=4, seed=3)
    assert views['labeled'].shape == (4, 3, 16, 16) and views['labeled'].dtype == torch.uint8
    assert views['weak'].shape == views['strong'].shape == (4, 3, 16, 16)
    assert views['batch_augmented'] == []
    # spread over the sets (20 labeled, 30 unlabeled), read as a training run of seed 3
    # reads positions 0-7 of epoch 0, rank 0
    assert views['indices'] == [0, 6, 13, 19, 20, 30, 39, 49]
    with DefaultScope.overwrite_default_scope('sscl'):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        assert (len(dataset.labeled), len(dataset.unlabeled)) == (20, 30)
        expected = [dataset[item] for item in keyed_items(views['indices'], 3, 0, 0)]
    assert torch.equal(views['labeled'], torch.stack([e['inputs'] for e in expected[:4]]))
    assert torch.equal(views['strong'], torch.stack([e['inputs']['strong'] for e in expected[4:]]))
    assert views['labels'] == [str(int(e['data_samples']['gt_label'])) for e in expected[:4]]
    assert len(set(views['labels'])) == 4  # the first indices would all be class 0
    assert not torch.equal(views['weak'], views['strong'])

    out = tmp_path / 'views.png'
    browse_views.main([osp.join(ROOT, 'configs', 'sscl', 'wrn28-2_digits16_20labels.py'),
                       '--out', str(out), '--num', '3', '--cfg-options',
                       f'train_dataloader.dataset.labeled.data_root={tmp_path / "digits"}',
                       f'train_dataloader.dataset.unlabeled.data_root={tmp_path / "digits"}'])
    from PIL import Image
    with Image.open(out) as png:
        assert png.size[0] > 400 and png.size[1] > 400


def test_the_gpu_augmentation_recipe_runs_its_batch_augment_on_the_cpu(tmp_path, monkeypatch):
    subset = imagenet_like(str(tmp_path / 'imagenet'), per_class=2, size=40)
    cfg = config('sscl/r50_imagenet_10pct_gpu-aug.py', str(tmp_path / 'imagenet'),
                 labeled_list=subset)
    seen = []
    forward = browse_views.MODELS.get('BatchStrongAugment').forward

    def spy(module, imgs):
        seen.append(imgs.clone())
        out = forward(module, imgs)
        seen.append(out)
        return out

    monkeypatch.setattr(browse_views.MODELS.get('BatchStrongAugment'), 'forward', spy)
    views = browse_views.collect_views(cfg, num=2, seed=0)
    assert views['batch_augmented'] == ['strong']
    before, after = seen
    # the workers' strong view is a crop like the weak one; what is shown is the module's output
    assert before.shape == (2, 3, 224, 224) and torch.equal(views['strong'], after)
    assert views['weak'].shape == (2, 3, 224, 224)
    assert views['labels'] == ['n01440764', 'n01443537']


def test_a_misspelt_config_key_is_a_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        browse_views.main([osp.join(ROOT, 'configs', 'sscl', 'wrn28-2_digits16_20labels.py'),
                           '--out', str(tmp_path / 'v.png'), '--cfg-options', 'split_seed=1'])
    assert '"split_seed" is a variable' in capsys.readouterr().err
