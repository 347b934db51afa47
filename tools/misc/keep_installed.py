"""Write pip constraints that keep installed packages where their requirement allows them.

    python tools/misc/keep_installed.py requirements/runtime.txt torch torchvision --out FILE

For each named package that is installed and inside the range the requirements file gives
it, ``FILE`` gets ``name==version``, so that pip, given ``-c FILE``, neither upgrades it nor
picks a partner that needs another version (a torchvision built for a newer torch would
replace a CUDA torch matched to the driver). A package outside its range is reported and left
to pip. Needs only ``packaging``.
"""
import argparse
import importlib.metadata
import sys
from typing import Dict, List

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def read_requirements(path: str) -> Dict[str, Requirement]:
    """The requirement lines of a pip requirements file, by canonical name."""
    found = {}
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-'):
                req = Requirement(line)
                found[canonicalize_name(req.name)] = req
    return found


def keep_lines(requirements: Dict[str, Requirement], names: List[str]) -> List[str]:
    """``name==version`` for each installed package of ``names`` inside its range."""
    lines = []
    for name in names:
        req = requirements.get(canonicalize_name(name))
        if req is None:
            raise SystemExit(f'keep_installed.py: error: {name} has no line in the requirements')
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            print(f'    {name}: not installed, pip picks one in {req.specifier}')
            continue
        if req.specifier.contains(version, prereleases=True):
            print(f'    {name} {version}: installed, inside {req.specifier}, kept')
            lines.append(f'{name}=={version}')
        else:
            print(f'    {name} {version}: installed, OUTSIDE {req.specifier}: pip replaces it')
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('requirements', help='a pip requirements file')
    parser.add_argument('names', nargs='+', help='packages to keep where installed')
    parser.add_argument('--out', required=True, help='the constraints file to write')
    args = parser.parse_args(argv)
    lines = keep_lines(read_requirements(args.requirements), args.names)
    with open(args.out, 'w') as f:
        f.write(''.join(line + '\n' for line in lines))


if __name__ == '__main__':
    sys.exit(main())
