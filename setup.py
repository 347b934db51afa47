"""Packaging for sscl (OpenMMLab-style requirements split under requirements/)."""
import importlib.metadata
import os.path as osp
import re
import sysconfig

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


def installed_distributions() -> set:
    """Names of the distributions in the environment being installed into.

    Read from its site-packages (``sysconfig``), which pip's isolated build hides from
    ``sys.path`` but not from the interpreter's paths.
    """
    paths = sorted({sysconfig.get_paths()[key] for key in ('purelib', 'platlib')})
    return {dist.metadata['Name'].lower() for dist in importlib.metadata.distributions(path=paths)}


def runtime_requirements() -> list:
    """``requirements/runtime.txt``, with ``mmcv`` in place of ``mmcv-lite`` where the full
    mmcv (with compiled ops, from ``tools/install.sh --det``) is installed: both install the
    same ``mmcv/`` folder, so requiring mmcv-lite there would overwrite the ops' package."""
    requirements = parse_requirements('runtime.txt')
    if 'mmcv' in installed_distributions():
        requirements = [re.sub(r'^mmcv-lite\b', 'mmcv', r) for r in requirements]
    return requirements


setup(
    name='sscl',
    version=read_version(),
    description='SsCL: semi-supervised contrastive learning on mmengine',
    long_description=open(osp.join(HERE, 'README.md')).read() if osp.exists(
        osp.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    python_requires='>=3.10',  # as torch's wheels in requirements/runtime.txt
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'demo')),
    include_package_data=True,
    package_data={'sscl': ['data/imagenet_subsets/*']},
    install_requires=runtime_requirements(),
    extras_require={
        # mmdet needs mmcv's compiled ops, which this extra cannot build (PyPI has no mmcv 2.x
        # wheels and pip's build of its sdist is not the unity build): they come from
        # `bash tools/install.sh --det`, which installs this extra too.
        'det': parse_requirements('det.txt'),
        'tests': parse_requirements('tests.txt'),
    },
    zip_safe=False)
