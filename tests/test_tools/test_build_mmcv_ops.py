"""tools/build_mmcv_ops.py: grouping rules, and a real unity build that falls back to
per-file compiles for a unit that fails, on a tiny extension laid out like mmcv's sdist."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
import zipfile

import pytest

from tool_runs import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools'))
import build_mmcv_ops as bmo  # noqa: E402


def _write(path, text):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def test_scan_finds_definitions_and_leaky_macros(tmp_path):
    src = _write(tmp_path / 'a.cpp', (
        '#define KEEP(x) x\n#define GONE 1\n#undef GONE\n'
        'template <typename T>\nstruct PreCalc {\n  T w;\n};\n'
        'template <typename T>\nvoid bilinear(int h, T y,\n    T x) {\n  if (h) {}\n}\n'
        'void declared_only(int a);\n'
        'static int helper(int a) { return a; }\n'))
    names, leaky = bmo.scan(src)
    assert names == {'PreCalc', 'bilinear', 'helper'}
    assert leaky  # KEEP stays defined; GONE is undefined again
    assert bmo.scan(_write(tmp_path / 'b.cpp', '#define X 1\n#undef X\n'))[1] is False


def test_group_separates_clashing_names_and_puts_leaky_macros_last(tmp_path):
    files = [
        _write(tmp_path / 'roi.cpp', 'struct PreCalc {\n};\n' + '// pad\n' * 50),
        _write(tmp_path / 'bez.cpp', 'struct PreCalc {\n};\n'),
        _write(tmp_path / 'psa.cpp', '#define min(a, b) a\n'),
        _write(tmp_path / 'psb.cpp', '#define max(a, b) a\n'),
        _write(tmp_path / 'x.cpp', 'int x() {\n  return 1;\n}\n'),
        _write(tmp_path / 'y.cpp', 'int y() {\n  return 1;\n}\n'),
    ]
    units = bmo.group(files, 1)
    assert sorted(f for u in units for f in u) == sorted(files)
    unit_of = {osp.basename(f): i for i, u in enumerate(units) for f in u}
    assert unit_of['roi.cpp'] != unit_of['bez.cpp']
    assert unit_of['psa.cpp'] != unit_of['psb.cpp']
    for u in units:
        leaky = [bmo.scan(f)[1] for f in u]
        assert leaky == sorted(leaky), 'a source that leaves a macro defined goes last'
    # Without clashes, one unit holds everything.
    assert bmo.group(files[4:], 1) == [sorted(files[4:])]


def test_unit_names_are_stable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files = [_write(tmp_path / 'a.cpp', ''), _write(tmp_path / 'b.cpp', '')]
    path = bmo.write_unit(files)
    mtime = os.stat(path).st_mtime_ns
    assert bmo.write_unit(files) == path and os.stat(path).st_mtime_ns == mtime
    assert bmo.write_unit(files[:1]) != path
    assert open(path).read() == ''.join(f'#include "{f}"\n' for f in files)


# A setup.py shaped like mmcv's where the tool patches it.
SETUP = '''import glob
import os
from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CppExtension


def get_extensions():
    extension = CppExtension
    op_files = glob.glob('./mmcv/ops/csrc/pytorch/*.cpp') + glob.glob(
        './mmcv/ops/csrc/pytorch/cpu/*.cpp')
    extra_compile_args = {'cxx': ['-std=c++17']}
    if op_files:
        ext_ops = extension(
            name='tinyext', sources=op_files, extra_compile_args=extra_compile_args)
    return [ext_ops]


setup(name='tinyext', version='0.0.1', ext_modules=get_extensions(),
      cmdclass={'build_ext': BuildExtension})
'''


def test_unity_build_falls_back_to_single_files(tmp_path):
    """Two sources whose clash the scan cannot see (a type alias and a variable of one
    name) share a unit, which fails to compile; the tool builds them one by one and the
    wheel's module works."""
    src = tmp_path / 'tinyext'
    _write(src / 'setup.py', SETUP)
    csrc = src / 'mmcv' / 'ops' / 'csrc' / 'pytorch'
    os.makedirs(csrc / 'cuda')
    _write(csrc / 'one.cpp', 'using Value = int;\nint one_value() { return Value(1); }\n')
    _write(csrc / 'cpu' / 'two.cpp', 'int Value = 2;\nint two_value() { return Value; }\n')
    _write(csrc / 'three.cpp', 'int three_value() { return 3; }\n')
    _write(csrc / 'pybind.cpp', (
        '#include <Python.h>\n'
        'int one_value(); int two_value(); int three_value();\n'
        'static PyObject *total(PyObject *, PyObject *) {\n'
        '  return PyLong_FromLong(one_value() * 100 + two_value() * 10 + three_value());\n}\n'
        'static PyMethodDef methods[] = {{"total", total, METH_NOARGS, ""}, {0, 0, 0, 0}};\n'
        'static PyModuleDef mod = {PyModuleDef_HEAD_INIT, "tinyext", "", -1, methods};\n'
        'PyMODINIT_FUNC PyInit_tinyext() { return PyModule_Create(&mod); }\n'))
    wheels = tmp_path / 'wheels'
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'build_mmcv_ops.py'), str(src), '--wheel-dir',
         str(wheels), '--jobs', '2', '--units', '1'],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'failed to compile; building its 3 files one by one' in proc.stdout
    assert '3 files outside units' in proc.stdout
    assert proc.stdout.count('pytorch/pybind.cpp') == 1, 'the second round kept its object'
    assert 'unit of 3' not in proc.stdout, 'the failed unit is not reported as compiled'
    assert '] pytorch/one.cpp' in proc.stdout and '] pytorch/cpu/two.cpp' in proc.stdout
    state = json.load(open(src / 'sscl_unity.json'))
    solo = ('one.cpp', 'cpu/two.cpp', 'three.cpp')
    assert sorted(state['solo']) == sorted(f'mmcv/ops/csrc/pytorch/{f}' for f in solo)
    (wheel, ) = wheels.glob('tinyext-*.whl')
    out = tmp_path / 'installed'
    zipfile.ZipFile(wheel).extractall(out)
    (so, ) = out.glob('tinyext*.so')
    import torch  # noqa: F401  (loads the torch libraries the module links to)
    spec = importlib.util.spec_from_file_location('tinyext', so)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.total() == 123


def test_patch_refuses_an_unknown_setup(tmp_path):
    _write(tmp_path / 'setup.py', 'from setuptools import setup\nsetup()\n')
    with pytest.raises(SystemExit, match='expected one line'):
        bmo.patch_setup(str(tmp_path))
