"""One spelling of every path: the work directories, files and code names that README,
docs/ and configs/ mention are the ones tools/train.py and the code give."""
import argparse
import glob
import inspect
import os.path as osp
import re
import runpy
import sys

from mmengine.config import Config

from sscl.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOCS = sorted([osp.join(ROOT, 'README.md')] + glob.glob(osp.join(ROOT, 'docs', '*.md'))
              + glob.glob(osp.join(ROOT, 'configs', '**', '*.md'), recursive=True)
              + glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True))
CONFIGS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))
                 if '_base_' not in p)
WORK_PATH = re.compile(r'work_dirs/[\w./<>*-]+')


def written_work_dir(config: str) -> str:
    """The work directory tools/train.py gives ``config`` without --work-dir."""
    args = argparse.Namespace(config=config, launcher='none', cfg_options=None, work_dir=None,
                              amp=False, auto_scale_lr=False, resume=None, tensorboard=False)
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper')))
    merge_args = runpy.run_path(osp.join(ROOT, 'tools', 'train.py'))['merge_args']
    return osp.normpath(merge_args(cfg, args).work_dir)


def mentions(pattern):
    for path in DOCS:
        with open(path, encoding='utf-8') as f:
            for number, line in enumerate(f, 1):
                for match in pattern.finditer(line):
                    yield f'{osp.relpath(path, ROOT)}:{number}', match.group(0), line


def test_a_config_named_in_a_work_dir_is_spelt_as_train_py_writes_it():
    work_dirs = {}  # config name -> the work dirs of the configs of that name
    for config in CONFIGS:
        name = osp.splitext(osp.basename(config))[0]
        work_dirs.setdefault(name, []).append(written_work_dir(osp.relpath(config, ROOT)))
    assert work_dirs['r50_imagenet_10pct'] == ['work_dirs/sscl/r50_imagenet_10pct']
    wrong = []
    for where, path, _ in mentions(WORK_PATH):
        for part in path.split('/'):
            if part in work_dirs:
                if not any((path + '/').startswith(d + '/') for d in work_dirs[part]):
                    wrong.append(f'{where}: {path} (tools/train.py writes one of '
                                 f'{work_dirs[part]})')
            else:  # a config's name inside another folder name: sscl_r50_imagenet_10pct
                inside = [n for n in work_dirs if re.search(rf'(^|[_-]){re.escape(n)}([_-]|$)',
                                                            part)]
                if inside:
                    wrong.append(f'{where}: {path} (tools/train.py writes {work_dirs[inside[0]]})')
    assert not wrong, '\n'.join(wrong)


def test_scalars_json_is_under_the_runs_timestamp_folder():
    # mmengine's Runner logs to <work_dir>/<timestamp>/; LocalVisBackend adds vis_data/
    wrong = [f'{where}: {mention}' for where, mention, _ in mentions(re.compile(r'\S*vis_data/'))
             if not re.search(r'(<timestamp>|\*)/vis_data/$', mention)]
    assert not wrong, '\n'.join(wrong)


def sscl_classes():
    register_all_modules(init_default_scope=False)
    import sscl.engine  # noqa: F401
    import sscl.models  # noqa: F401
    found = {}
    for name, module in list(sys.modules.items()):
        if name.startswith('sscl.'):
            for cls_name, cls in inspect.getmembers(module, inspect.isclass):
                if cls.__module__.startswith('sscl.'):
                    found[cls_name] = cls
    return found


def test_a_class_and_method_named_in_the_docs_exist():
    classes = sscl_classes()
    assert 'CoCalibration' in classes and 'SsCL' in classes
    missing = [f'{where}: {name}.{attr}'
               for where, ref, _ in mentions(re.compile(r'`([A-Z]\w+)\.(_?[a-z]\w*)'))
               for name, attr in [ref.strip('`').split('.')]
               if name in classes and not hasattr(classes[name], attr)]
    assert not missing, '\n'.join(missing)
