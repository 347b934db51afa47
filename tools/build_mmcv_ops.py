"""Build mmcv's compiled ops as a unity build and keep the wheel.

    python tools/build_mmcv_ops.py SRC_DIR --wheel-dir DIR [--jobs N] [--units K]

``SRC_DIR`` is an extracted mmcv sdist. mmcv compiles every C++ op source on its own, and
each one parses torch's extension headers again (about 10 s per file under C++20 on one
core) and writes debug information (``-g`` from Python's CFLAGS, another 15 s). Here the
C++ sources are grouped into ``K`` translation units that each ``#include`` a group of them,
and compiled without debug information (``-g0``; the optimisation level stays ``-O3``).
CUDA sources (``.cu``) are compiled one by one, as mmcv does.

Sources that cannot share a translation unit (top-level definitions of the same name, or
a macro left defined) are found by a scan and kept in different units. A unit that still
fails to compile is split into its files, which are built one by one; the units already
compiled are kept, so only the failed ones cost again. The result is one wheel in
``--wheel-dir``, as a per-file build gives.

The same file is copied into ``SRC_DIR`` as ``sscl_unity.py`` and imported by mmcv's
patched ``setup.py``, which hands it the source list and compile flags (``rewrite``).
"""
import argparse
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from typing import Dict, List, Optional, Set, Tuple

STATE = 'sscl_unity.json'
MANIFEST = 'sscl_unity_manifest.json'
UNIT_DIR = os.path.join('mmcv', 'ops', 'csrc', 'sscl_unity')
# Always alone: the bindings of every op, the largest unit of work by far.
SOLO = ('pybind.cpp', )
ANCHOR = '        ext_ops = extension(\n'
PATCH = ('        import sys  # sscl unity build\n'
         '        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))\n'
         '        import sscl_unity\n'
         '        op_files, extra_compile_args = sscl_unity.rewrite(\n'
         '            op_files, extra_compile_args)\n')

_DEF_FN = re.compile(r'^(?:template\s*<[^;{]*?>\s*)?(?:static\s+|inline\s+)*'
                     r'[A-Za-z_][\w:<>,\s\*&]*?\b([A-Za-z_]\w*)\s*\([^;{]*\)\s*'
                     r'(?:const\s*)?\{', re.M)
_DEF_TYPE = re.compile(r'^(?:template\s*<[^;{]*?>\s*)?(?:struct|class)\s+([A-Za-z_]\w*)'
                       r'\s*(?::[^;{]*)?\{', re.M)
_DEFINE = re.compile(r'^\s*#\s*define\s+([A-Za-z_]\w*)', re.M)
_UNDEF = re.compile(r'^\s*#\s*undef\s+([A-Za-z_]\w*)', re.M)
_KEYWORDS = {'if', 'for', 'while', 'switch', 'return', 'sizeof'}


def scan(path: str) -> Tuple[Set[str], bool]:
    """Top-level names a source defines, and whether it leaves a macro defined."""
    with open(path, encoding='utf-8', errors='replace') as f:
        text = f.read()
    names = {m.group(1) for m in _DEF_FN.finditer(text)} - _KEYWORDS
    names |= {m.group(1) for m in _DEF_TYPE.finditer(text)}
    leaky = bool(set(_DEFINE.findall(text)) - set(_UNDEF.findall(text)))
    return names, leaky


def group(sources: List[str], num_units: int) -> List[List[str]]:
    """Pack sources into at most ``num_units`` units of similar size.

    Largest first, each into the smallest unit where none of its top-level names is
    defined yet and, for a source that leaves a macro defined, no other such source is;
    that source goes last in its unit, so the macro reaches no other file.
    """
    info = {s: scan(s) for s in sources}
    units: List[Dict] = [dict(files=[], names=set(), leaky=False, size=0)
                         for _ in range(max(1, num_units))]
    for src in sorted(sources, key=lambda s: (-os.path.getsize(s), s)):
        names, leaky = info[src]
        fits = [u for u in units
                if not (u['names'] & names) and not (leaky and u['leaky'])]
        if not fits:
            units.append(dict(files=[], names=set(), leaky=False, size=0))
            fits = units[-1:]
        unit = min(fits, key=lambda u: u['size'])
        unit['files'].append(src)
        unit['names'] |= names
        unit['leaky'] |= leaky
        unit['size'] += os.path.getsize(src)
    return [sorted(u['files'], key=lambda s: (info[s][1], s)) for u in units if u['files']]


def write_unit(files: List[str]) -> str:
    """Write (or keep, if unchanged) a unit that includes ``files``; return its path.

    The name is a hash of its members, so an unchanged unit keeps its object file when
    the build runs again after another unit failed.
    """
    os.makedirs(UNIT_DIR, exist_ok=True)
    key = hashlib.sha1('\n'.join(files).encode()).hexdigest()[:10]
    path = os.path.join('.', UNIT_DIR, f'unity_{key}.cpp')
    text = ''.join(f'#include "{os.path.abspath(f)}"\n' for f in files)
    if not os.path.exists(path) or open(path).read() != text:
        with open(path, 'w') as f:
            f.write(text)
    return path


def cxx_standard(flags: List[str]) -> List[str]:
    """torch >= 2.10's headers need C++20; mmcv 2.1.0 asks for C++14/17."""
    import torch
    major, minor = (int(x) for x in torch.__version__.split('+')[0].split('.')[:2])
    if (major, minor) < (2, 10):
        return flags
    return [re.sub(r'-std=c\+\+1[47]', '-std=c++20', f) for f in flags]


def rewrite(op_files: List[str], extra_compile_args: Dict) -> Tuple[List[str], Dict]:
    """Called by mmcv's patched setup.py: the unity sources and the compile flags."""
    with open(STATE) as f:
        state = json.load(f)
    solo = set(state['solo'])
    groupable = [f for f in op_files if f.endswith('.cpp')
                 and os.path.basename(f) not in SOLO and os.path.normpath(f) not in solo]
    rest = [f for f in op_files if f not in groupable]
    manifest = {}
    for files in group(sorted(groupable), state['units']):
        manifest[write_unit(files)] = files
    with open(MANIFEST, 'w') as f:
        json.dump(manifest, f, indent=1)
    args = dict(extra_compile_args)
    args['cxx'] = cxx_standard(list(args.get('cxx', []))) + ['-g0']
    if 'nvcc' in args:
        args['nvcc'] = cxx_standard(list(args['nvcc']))
    return list(manifest) + rest, args


def patch_setup(src: str) -> None:
    """Make mmcv's setup.py hand its sources and flags to ``rewrite`` (idempotent)."""
    path = os.path.join(src, 'setup.py')
    with open(path) as f:
        text = f.read()
    if PATCH in text:
        return
    if text.count(ANCHOR) != 1:
        raise SystemExit(f'build_mmcv_ops: {path}: expected one line {ANCHOR.strip()!r}; '
                         'this mmcv version is not supported')
    with open(path, 'w') as f:
        f.write(text.replace(ANCHOR, PATCH + ANCHOR))
    shutil.copy(os.path.abspath(__file__), os.path.join(src, 'sscl_unity.py'))


def _fmt(seconds: float) -> str:
    return f'{int(seconds // 60)}m{int(seconds % 60):02d}s'


def read_manifest(src: str) -> Dict[str, List[str]]:
    """The units ``rewrite`` wrote, {unit path relative to SRC: its sources}; {} before."""
    path = os.path.join(src, MANIFEST)
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def build_once(src: str, wheel_dir: str, jobs: int, log) -> Tuple[bool, Set[str]]:
    """One ``pip wheel`` of the patched source; returns (success, the units that failed,
    as keys of :func:`read_manifest`)."""
    env = dict(os.environ, MMCV_WITH_OPS='1', MAX_JOBS=str(jobs), NINJA_STATUS='[%f/%t] ')
    # PEP 517 (setuptools' legacy backend): unlike a plain setup.py build, pip then does not
    # clean the build tree after a failure, so the next round keeps the compiled objects.
    cmd = [sys.executable, '-m', 'pip', 'wheel', '-v', '--disable-pip-version-check',
           '--use-pep517', '--no-deps', '--no-build-isolation', '.', '-w', wheel_dir]
    proc = subprocess.Popen(cmd, cwd=src, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    start, failed = time.time(), set()
    members_of: Optional[Dict[str, List[str]]] = None  # by absolute unit path
    status = re.compile(r'^\s*\[(\d+)/(\d+)\] .* -c (\S+)')
    pending = None  # ninja prints an edge's line when it ends, then FAILED if it failed
    for line in proc.stdout:
        log.write(line)
        m = re.match(r'^FAILED: (?:\[code=\d+\] )?(\S+?)\.o$', line.strip())
        if m:
            failed.add(m.group(1))
            pending = None
            continue
        m = status.match(line)
        if not m:
            continue
        if pending:
            print(pending, flush=True)
        done, total, source = int(m.group(1)), int(m.group(2)), m.group(3)
        if not members_of:  # written by setup.py before ninja starts
            members_of = {os.path.abspath(os.path.join(src, k)): v
                          for k, v in read_manifest(src).items()}
        members = members_of.get(os.path.abspath(os.path.join(src, source)))
        what = (f'unit of {len(members)}: ' + ' '.join(
            os.path.relpath(p, 'mmcv/ops/csrc/pytorch') for p in members) if members else
                os.path.relpath(source, os.path.join(src, 'mmcv/ops/csrc')))
        elapsed = time.time() - start
        eta = f', about {_fmt(elapsed * (total - done) / done)} left' if done else ''
        pending = f'    [{done}/{total} compiled, {_fmt(elapsed)}{eta}] {what}'
    if pending:
        print(pending, flush=True)
    ok = proc.wait() == 0
    failed_stems = {os.path.basename(f) for f in failed}
    units = {unit for unit in read_manifest(src)
             if os.path.splitext(os.path.basename(unit))[0] in failed_stems}
    return ok, units


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='extracted mmcv sdist')
    parser.add_argument('--wheel-dir', required=True, help='where the wheel is written')
    parser.add_argument('--jobs', type=int, default=os.cpu_count() or 1,
                        help='parallel compile jobs')
    parser.add_argument('--units', type=int, default=None,
                        help='C++ translation units (default: max(2 x jobs, files / 10))')
    parser.add_argument('--log', default=None, help='full compiler output (default: SRC/build.log)')
    args = parser.parse_args()
    src = os.path.abspath(args.src)
    os.makedirs(args.wheel_dir, exist_ok=True)
    patch_setup(src)
    num_cpp = sum(f.endswith('.cpp') for d in ('pytorch', 'pytorch/cpu', 'pytorch/cuda')
                  for f in os.listdir(os.path.join(src, 'mmcv/ops/csrc', d)))
    units = args.units or max(2 * args.jobs, math.ceil(num_cpp / 10))
    solo: List[str] = []
    start = time.time()
    with open(args.log or os.path.join(src, 'build.log'), 'a') as log:
        while True:
            with open(os.path.join(src, STATE), 'w') as f:
                json.dump(dict(units=units, solo=solo), f)
            ok, failed_units = build_once(src, os.path.abspath(args.wheel_dir), args.jobs, log)
            if ok:
                break
            if not failed_units:
                raise SystemExit('build_mmcv_ops: the build failed outside the unity units; '
                                 f'see {log.name}')
            manifest = read_manifest(src)
            for unit in sorted(failed_units):
                files = [os.path.normpath(p) for p in manifest[unit]]
                print(f'    unit {os.path.basename(unit)} failed to compile; building its '
                      f'{len(files)} files one by one', flush=True)
                solo += files
    print(f'    mmcv ops built in {_fmt(time.time() - start)}'
          + (f' ({len(solo)} files outside units)' if solo else ''), flush=True)


if __name__ == '__main__':
    main()
