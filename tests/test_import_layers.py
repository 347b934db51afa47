"""sscl.models, sscl.datasets and sscl.evaluation are siblings: none imports another."""
import ast
import os.path as osp
from glob import glob

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SIBLINGS = ('models', 'datasets', 'evaluation')


def imported_sscl_packages(path):
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
                yield module.split('.')[1]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith('sscl.'):
                    yield alias.name.split('.')[1]


@pytest.mark.parametrize('package', SIBLINGS)
def test_sibling_packages_do_not_import_each_other(package):
    for path in glob(osp.join(ROOT, 'sscl', package, '**', '*.py'), recursive=True):
        others = set(imported_sscl_packages(path)) & (set(SIBLINGS) - {package})
        assert not others, f'{osp.relpath(path, ROOT)} imports sscl.{sorted(others)}'
