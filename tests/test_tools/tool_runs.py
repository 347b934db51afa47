"""tools/train.py in a subprocess, as a user runs it, shared by the tool tests."""
import os
import os.path as osp
import socket
import subprocess
import sys

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))


def free_port() -> int:
    """A TCP port that nothing listens on now, for a torchrun rendezvous."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def cpu_env(**extra) -> dict:
    """The environment of a CPU subprocess test: one thread and no GPU visible, so the suite
    tests the CPU path on a GPU host too."""
    return dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='', **extra)


def run_train(config, work_dir, *args) -> subprocess.CompletedProcess:
    """``python tools/train.py CONFIG --work-dir WORK_DIR ARGS`` from the repository root, on
    one thread, with this folder importable (for ``custom_imports`` of the kill hooks)."""
    env = cpu_env(PYTHONPATH=os.pathsep.join([HERE, ROOT]))
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), str(config), '--work-dir',
           str(work_dir), *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def assert_one_line_error(result: subprocess.CompletedProcess, tool: str, *fragments) -> None:
    """Exit status 1, no traceback, and the last stderr line is ``TOOL: error: ...`` holding
    every fragment."""
    assert result.returncode == 1, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f'{tool}: error: '), line
    for fragment in fragments:
        assert fragment in line, line
