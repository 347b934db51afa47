"""The layers import one way.

sscl.models, sscl.datasets and sscl.evaluation are siblings: none imports another, and none
imports sscl.engine, which builds on them. Inside them, the generic classifiers
(sscl.models.classifiers) do not import the algorithms built on them, and co-calibration's
state (sscl.models.algorithms.co_calibration) does not import SsCL. The engine's utilities
(sscl.engine.utils) import neither its hooks nor a model.
"""
import ast
import os.path as osp
from glob import glob

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SIBLINGS = ('models', 'datasets', 'evaluation')


def imported_sscl_modules(path):
    """The sscl modules ``path`` imports, relative imports resolved (``sscl.models.heads``)."""
    tree = ast.parse(open(path).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                parts = osp.relpath(osp.dirname(path), ROOT).split(osp.sep)
                parts = parts[:len(parts) - node.level + 1]
                module = '.'.join(parts + ([node.module] if node.module else []))
            else:
                module = node.module or ''
            if module.startswith('sscl.'):
                yield module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith('sscl.'):
                    yield alias.name


def imported_sscl_packages(path):
    """The top-level sscl packages ``path`` imports (``models``)."""
    for module in imported_sscl_modules(path):
        yield module.split('.')[1]


def offending_imports(folder, forbidden):
    """``path imports module`` for each import under ``sscl/<folder>`` of a module in (or
    below) one of ``forbidden``."""
    found = []
    for path in glob(osp.join(ROOT, 'sscl', folder, '**', '*.py'), recursive=True):
        for module in imported_sscl_modules(path):
            if any(module == f or module.startswith(f + '.') for f in forbidden):
                found.append(f'{osp.relpath(path, ROOT)} imports {module}')
    return found


@pytest.mark.parametrize('package', SIBLINGS)
def test_sibling_packages_do_not_import_each_other(package):
    for path in glob(osp.join(ROOT, 'sscl', package, '**', '*.py'), recursive=True):
        others = set(imported_sscl_packages(path)) & (set(SIBLINGS) - {package})
        assert not others, f'{osp.relpath(path, ROOT)} imports sscl.{sorted(others)}'


@pytest.mark.parametrize('package', SIBLINGS)
def test_the_engine_builds_on_the_siblings_not_the_reverse(package):
    assert not offending_imports(package, ['sscl.engine'])


def test_generic_classifiers_do_not_import_the_algorithms():
    assert not offending_imports(osp.join('models', 'classifiers'), ['sscl.models.algorithms'])


def test_co_calibration_state_does_not_import_sscl():
    assert not offending_imports(
        osp.join('models', 'algorithms', 'co_calibration'),
        ['sscl.models.algorithms.sscl', 'sscl.models.classifiers'])


def test_engine_utilities_import_neither_hooks_nor_models():
    assert not offending_imports(osp.join('engine', 'utils'), ['sscl.engine.hooks', 'sscl.models'])


def test_a_relative_import_resolves_to_its_module():
    path = osp.join(ROOT, 'sscl', 'models', 'algorithms', 'sscl.py')
    assert 'sscl.models.classifiers' in set(imported_sscl_modules(path))
