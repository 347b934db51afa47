import subprocess
import sys


def test_core_imports_without_mmcv_ops_or_mmdet():
    """Training code needs mmcv's Python parts only (users with mmcv-lite can train)."""
    code = ('import sys, sscl.utils; sscl.utils.register_all_modules(); '
            'import sscl.models, sscl.datasets, sscl.engine, sscl.evaluation; '
            'bad = [m for m in sys.modules if m.startswith(("mmcv.ops", "mmdet"))]; '
            'assert not bad, bad')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
