"""Every method folder under configs/ has a README and a metafile whose configs exist and load."""
import os
import os.path as osp

import pytest
import yaml
from mmengine import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FOLDERS = sorted(d for d in os.listdir(osp.join(ROOT, 'configs'))
                 if d != '_base_' and osp.isdir(osp.join(ROOT, 'configs', d)))


@pytest.mark.parametrize('folder', FOLDERS)
def test_method_folder_has_readme_and_metafile_listing_every_config(folder):
    path = osp.join(ROOT, 'configs', folder)
    assert osp.isfile(osp.join(path, 'README.md')), f'configs/{folder}/README.md is missing'
    meta = yaml.safe_load(open(osp.join(path, 'metafile.yml')))
    collections = {c['Name'] for c in meta['Collections']}
    for c in meta['Collections']:
        assert osp.isfile(osp.join(ROOT, c['README']))
    listed = set()
    for model in meta['Models']:
        assert model['In Collection'] in collections, model['Name']
        assert 'Results' in model, model['Name']
        config = osp.join(ROOT, model['Config'])
        assert osp.isfile(config), model['Config']
        Config.fromfile(config)  # loads, _base_ files included
        listed.add(osp.basename(config))
        for result in model['Results'] or []:
            assert result['Task'] and result['Dataset'] and result['Metrics'], model['Name']
    configs = {f for f in os.listdir(path) if f.endswith('.py')}
    assert configs == listed, f'configs not in configs/{folder}/metafile.yml: {configs - listed}'
