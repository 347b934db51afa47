"""tools/train.py in a subprocess, as a user runs it, shared by the tool tests."""
import os
import os.path as osp
import subprocess
import sys

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))


def run_train(config, work_dir, *args) -> subprocess.CompletedProcess:
    """``python tools/train.py CONFIG --work-dir WORK_DIR ARGS`` from the repository root, on
    one thread, with this folder importable (for ``custom_imports`` of the kill hooks)."""
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=os.pathsep.join([HERE, ROOT]))
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), str(config), '--work-dir',
           str(work_dir), *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
