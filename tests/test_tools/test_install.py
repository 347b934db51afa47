"""The install's requirements: torch/torchvision ranges that hold the tested pairs, an
installed pair kept, mmcv-lite or the full mmcv, and pip's resolution against torch 2.11."""
import importlib.metadata
import json
import os
import os.path as osp
import runpy
import subprocess
import sys
import types

import pytest
from packaging.specifiers import SpecifierSet

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
keep_installed = runpy.run_path(osp.join(ROOT, 'tools', 'misc', 'keep_installed.py'))
RUNTIME = keep_installed['read_requirements'](osp.join(ROOT, 'requirements', 'runtime.txt'))
TESTED = {'torch': ('2.11.0', '2.14.1'), 'torchvision': ('0.26.0', '0.29.1')}


def setup_kwargs(monkeypatch, installed):
    """What setup.py hands to ``setup()`` when ``installed`` names the environment's dists."""
    captured = {}
    fake = types.ModuleType('setuptools')
    fake.setup = captured.update
    fake.find_packages = lambda **kwargs: []
    monkeypatch.setitem(sys.modules, 'setuptools', fake)
    monkeypatch.setattr(importlib.metadata, 'distributions', lambda path: [
        types.SimpleNamespace(metadata={'Name': name}) for name in installed])
    runpy.run_path(osp.join(ROOT, 'setup.py'))
    return captured


def test_the_tested_versions_are_inside_the_ranges():
    for name, versions in TESTED.items():
        for version in versions:
            assert RUNTIME[name].specifier.contains(version), (name, version)
    # an untested major step is outside: pip never upgrades an installed pair into it
    assert not RUNTIME['torch'].specifier.contains('2.15.0')
    assert not RUNTIME['torchvision'].specifier.contains('0.30.0')


def test_python_requires_matches_the_oldest_torch(monkeypatch):
    kwargs = setup_kwargs(monkeypatch, installed=[])
    # torch 2.11 (the range's floor) ships wheels for Python 3.10 and later
    assert SpecifierSet(kwargs['python_requires']) == SpecifierSet('>=3.10')
    assert 'mmdet==3.3.0' in kwargs['extras_require']['det']


def test_setup_requires_mmcv_lite_unless_the_full_mmcv_is_installed(monkeypatch):
    lite = setup_kwargs(monkeypatch, installed=['numpy'])['install_requires']
    full = setup_kwargs(monkeypatch, installed=['numpy', 'mmcv'])['install_requires']
    assert 'mmcv-lite>=2.0.0,<2.2.0' in lite and not any(r.startswith('mmcv>') for r in lite)
    assert 'mmcv>=2.0.0,<2.2.0' in full and not any(r.startswith('mmcv-lite') for r in full)
    assert [r for r in lite if 'mmcv' not in r] == [r for r in full if 'mmcv' not in r]


def test_keep_installed_pins_an_installed_pair_inside_the_range(monkeypatch, capsys):
    versions = {'torch': '2.11.0+cu128', 'torchvision': '0.26.0+cu128'}
    monkeypatch.setattr(importlib.metadata, 'version', versions.__getitem__)
    lines = keep_installed['keep_lines'](RUNTIME, ['torch', 'torchvision'])
    assert lines == ['torch==2.11.0+cu128', 'torchvision==0.26.0+cu128']
    versions['torch'] = '2.4.1'
    del versions['torchvision']

    def version(name):
        if name not in versions:
            raise importlib.metadata.PackageNotFoundError(name)
        return versions[name]

    monkeypatch.setattr(importlib.metadata, 'version', version)
    assert keep_installed['keep_lines'](RUNTIME, ['torch', 'torchvision']) == []
    out = capsys.readouterr().out
    assert 'torch 2.4.1: installed, OUTSIDE' in out and 'torchvision: not installed' in out


def fake_dist(site_packages, name, version, requires=()):
    info = osp.join(site_packages, f'{name}-{version}.dist-info')
    os.makedirs(info)
    with open(osp.join(info, 'METADATA'), 'w') as f:
        f.write(f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n')
        f.writelines(f'Requires-Dist: {r}\n' for r in requires)
    for extra in ('RECORD', 'INSTALLER'):
        open(osp.join(info, extra), 'w').close()


@pytest.mark.slow
def test_pip_resolves_sscl_against_torch_2_11_without_replacing_it(tmp_path):
    """``pip install --dry-run -e .`` into an environment holding torch 2.11.0 and
    torchvision 0.26.0 (their metadata: the wheels are GBs) installs neither."""
    venv = tmp_path / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(venv)], check=True)
    python = str(venv / 'bin' / 'python')
    site = subprocess.run([python, '-c', 'import sysconfig; print(sysconfig.get_paths()'
                           '["purelib"])'], check=True, capture_output=True, text=True)
    fake_dist(site.stdout.strip(), 'torch', '2.11.0')
    fake_dist(site.stdout.strip(), 'torchvision', '0.26.0', ['torch==2.11.0'])
    report = tmp_path / 'report.json'
    done = subprocess.run([sys.executable, '-m', 'pip', '--python', python, 'install',
                           '--dry-run', '--quiet', '--report', str(report), '-e', ROOT],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    planned = {i['metadata']['name'].lower(): i['metadata']['version']
               for i in json.loads(report.read_text())['install']}
    assert 'sscl' in planned and 'mmengine' in planned and 'mmcv-lite' in planned
    assert 'torch' not in planned and 'torchvision' not in planned
