"""Packaging for sscl (OpenMMLab-style requirements split under requirements/)."""
import os.path as osp
import re

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_version() -> str:
    with open(osp.join(HERE, 'sscl', 'version.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


def parse_requirements(name: str) -> list:
    """Plain requirement lines of ``requirements/<name>``, comments and ``-r`` dropped."""
    lines = []
    with open(osp.join(HERE, 'requirements', name)) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-'):
                lines.append(line)
    return lines


setup(
    name='sscl',
    version=read_version(),
    description='SsCL: semi-supervised contrastive learning on mmengine',
    long_description=open(osp.join(HERE, 'README.md')).read() if osp.exists(
        osp.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    python_requires='>=3.9',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'demo')),
    include_package_data=True,
    package_data={'sscl': ['data/imagenet_subsets/*']},
    install_requires=parse_requirements('runtime.txt'),
    extras_require={
        'all': parse_requirements('mminstall.txt'),
        'tests': parse_requirements('tests.txt'),
        'mim': parse_requirements('mminstall.txt'),
    },
    zip_safe=False)
