"""Command-line error reporting: one line for user errors, a traceback only for bugs."""
import argparse
import copy
import difflib
import os
import os.path as osp
import re
import sys
from contextlib import contextmanager
from typing import Iterator, List, Optional

from mmengine.config import Config, DictAction

from .errors import ConfigError, SsclError

# What mmengine's Runner reads from a config, and the config-level switches it honours.
RUNNER_KEYS = (
    'model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader', 'train_cfg',
    'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper', 'param_scheduler',
    'val_evaluator', 'test_evaluator', 'default_hooks', 'custom_hooks', 'data_preprocessor',
    'load_from', 'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level', 'visualizer',
    'default_scope', 'randomness', 'experiment_name', 'model_wrapper_cfg', 'custom_imports',
    'compile')
_WORKER_LINE = re.compile(r'^(?:[A-Za-z_][\w.]*\.)?\w+(?:Error|Exception): (.*)$')
_SIGNATURE = re.compile(r'unexpected keyword argument|missing \d+ required (positional|keyword)')


def add_allow_pickle_argument(parser: argparse.ArgumentParser) -> None:
    """``--allow-pickle``: the only way to let a checkpoint unpickle more than tensors."""
    parser.add_argument(
        '--allow-pickle',
        action='store_true',
        help='let checkpoints run pickled code when loaded (only for files you trust); by '
        'default they are read with torch.load(weights_only=True)')


def add_runner_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``tools/train.py`` and ``tools/test.py`` share: ``--work-dir``,
    ``--cfg-options``, ``--launcher``, ``--allow-pickle`` and torchrun's ``--local-rank``."""
    parser.add_argument('--work-dir', help='the dir to save logs (and checkpoints)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value pairs, e.g. '
        'train_dataloader.batch_size=16 model.num_positives=0')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    add_allow_pickle_argument(parser)
    # torchrun passes --local-rank (torch >= 2.0) or --local_rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_runner_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse, and export ``--local-rank`` as ``LOCAL_RANK`` for mmengine (unless set)."""
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def setup_config(cfg: Config, args: argparse.Namespace) -> Config:
    """The setup ``tools/train.py`` and ``tools/test.py`` share: the launcher,
    ``--cfg-options``, the work dir (``--work-dir``, else the config's, else
    :func:`default_work_dir`) and the check of the top-level keys."""
    cfg.launcher = args.launcher
    merge_overrides(cfg, args.cfg_options, args.config)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = default_work_dir(args.config)
    check_top_level_keys(cfg, args.config)
    return cfg


def load_config(path: str) -> Config:
    """``Config.fromfile`` with a one-line :class:`ConfigError` for an unreadable file."""
    try:
        cfg = Config.fromfile(path)
    except FileNotFoundError as e:
        raise ConfigError(f'config file not found: {path}') from e
    except Exception as e:  # syntax errors, bad _base_ paths, ...
        raise ConfigError(f'cannot read config {path}: {type(e).__name__}: '
                          f'{str(e).strip().splitlines()[-1]}') from e
    return cfg


def runner_model_config(cfg: Config) -> Config:
    """A copy of ``cfg.model`` with the config's top-level ``data_preprocessor`` filled in,
    as mmengine's Runner builds the model (tools that build it themselves need this)."""
    model = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model.setdefault('data_preprocessor', copy.deepcopy(cfg.data_preprocessor))
    return model


def _check_not_misspelt(key: str, where: str) -> None:
    """Raise if ``key`` (not a Runner key) looks like a misspelt one (``train_dataloder``)."""
    close = difflib.get_close_matches(key, RUNNER_KEYS, n=1, cutoff=0.85)
    if close:
        raise ConfigError(f'{where}: unknown top-level key "{key}"; did you mean '
                          f'"{close[0]}"?')


def check_top_level_keys(cfg: Config, path: str) -> None:
    """Reject a top-level key that looks like a misspelt Runner key (``train_dataloder``,
    from the file or ``--cfg-options``): mmengine would silently ignore it. Other unknown
    keys are config variables."""
    for key in cfg.keys():
        if key not in RUNNER_KEYS:
            _check_not_misspelt(key, path)


def merge_overrides(cfg: Config, options: Optional[dict], path: str) -> None:
    """Merge ``--cfg-options`` into ``cfg``, refusing an override that would change nothing.

    ``custom_hooks.<Type>.<arg>`` addresses the hook of that type wherever it sits in the
    list (``custom_hooks.CoCalibrationHook.mixture=False``); a numeric index must exist.
    A top-level key that the Runner does not read is a config variable (``split_seed``,
    ``max_epochs``, ...): mmengine evaluates it once, while the file is parsed, so setting it
    afterwards reaches no component. Misspelt Runner keys get a suggestion instead.
    """
    if not options:
        return
    options = {_hook_key(cfg, key): value for key, value in options.items()}
    for key in options:
        top = key.split('.')[0]
        if top in RUNNER_KEYS:
            continue
        _check_not_misspelt(top, f'--cfg-options {key}')
        hint = {'split_seed': ' (the labeled fold: train_dataloader.dataset.labeled.split_seed)',
                'vis_backends': ' (visualizer.vis_backends, or train.py --tensorboard)'}.get(
                    top, '')
        raise ConfigError(f'--cfg-options {key}: "{top}" is a variable of {path}, read only '
                          f'while the file is parsed, so overriding it changes nothing; '
                          f'override the key that uses it{hint}')
    cfg.merge_from_dict(options)


def _hook_key(cfg: Config, key: str) -> str:
    """``custom_hooks.<Type>.rest`` -> ``custom_hooks.<index>.rest``; checks numeric indices."""
    parts = key.split('.')
    if parts[0] != 'custom_hooks' or len(parts) < 3:
        return key
    hooks = cfg.get('custom_hooks') or []
    types = [str(h.get('type', '')) for h in hooks]
    if parts[1].isdigit():
        if int(parts[1]) >= len(hooks):
            raise ConfigError(f'--cfg-options {key}: custom_hooks has {len(hooks)} hooks '
                              f'({types}); address one by its type, e.g. '
                              f'custom_hooks.{types[-1] if types else "EMAHook"}.{parts[2]}')
        return key
    matches = [i for i, t in enumerate(types) if t.split('.')[-1] == parts[1]]
    if len(matches) != 1:
        raise ConfigError(f'--cfg-options {key}: custom_hooks holds {len(matches)} hooks of '
                          f'type {parts[1]} (hooks: {types})')
    return '.'.join([parts[0], str(matches[0])] + parts[2:])


def add_tensorboard(cfg: Config) -> None:
    """Add mmengine's ``TensorboardVisBackend`` to the visualizer's backends (``--tensorboard``):
    event files beside ``vis_data/scalars.json``, under ``<work_dir>/<timestamp>/vis_data/``."""
    visualizer = cfg.get('visualizer')
    if visualizer is None:
        raise ConfigError('--tensorboard: the config has no visualizer to add a backend to')
    backends = list(visualizer.get('vis_backends') or [])
    if not any(b.get('type') == 'TensorboardVisBackend' for b in backends):
        backends.append(dict(type='TensorboardVisBackend'))
    visualizer.vis_backends = backends


def add_per_class_report(cfg: Config, dump_file: Optional[str] = None) -> None:
    """Append ``PerClassAccuracy`` to ``cfg.test_evaluator``: a per-class table in the log,
    ``<work_dir>/confusion_matrix.png`` and, with ``dump_file``, every prediction."""
    evaluators = cfg.get('test_evaluator') or []
    evaluators = list(evaluators) if isinstance(evaluators, (list, tuple)) else [evaluators]
    evaluators.append(
        dict(type='PerClassAccuracy', confusion_png=osp.join(cfg.work_dir, 'confusion_matrix.png'),
             dump_file=dump_file))
    cfg.test_evaluator = evaluators


def default_work_dir(config_path: str) -> str:
    """``work_dirs/<method folder>/<config name>``: configs of the same name in two method
    folders (``sscl/`` and ``fixmatch/``) never share a work dir, so ``--resume`` of one
    cannot find the other's checkpoint."""
    method = osp.basename(osp.dirname(osp.abspath(config_path)))
    return osp.join('./work_dirs', method, osp.splitext(osp.basename(config_path))[0])


def check_semi_batch(cfg: Config) -> None:
    """A semi-supervised loader's ``batch_size`` must be the sampler's B + μB: otherwise
    every batch is split at the wrong place (and a mid-epoch resume skips the wrong count)."""
    loader = cfg.get('train_dataloader') or {}
    sampler = loader.get('sampler') or {}
    if sampler.get('type') not in ('SemiSupervisedSampler', 'sscl.SemiSupervisedSampler'):
        return
    b, ub = sampler.get('labeled_batch_size'), sampler.get('unlabeled_batch_size')
    if loader.get('batch_size') != b + ub:
        raise ConfigError(
            f'train_dataloader.batch_size={loader.get("batch_size")} must equal '
            f'train_dataloader.sampler.labeled_batch_size + unlabeled_batch_size = {b} + {ub} '
            f'= {b + ub}; set all three')


def _registry_names() -> List[str]:
    """Every name registered in sscl's registries and their mmengine parents."""
    from sscl import registry
    names = set()
    for value in vars(registry).values():
        if isinstance(value, registry.Registry):
            names.update(value.module_dict)
            if value.parent is not None:
                names.update(value.parent.module_dict)
    return sorted(names)


def user_error_message(exc: BaseException) -> Optional[str]:
    """One-line description of an error in the user's config, data or checkpoint, or None
    when ``exc`` looks like a bug (whose traceback should be shown)."""
    text = str(exc.args[0]) if exc.args else str(exc)
    if isinstance(exc, SsclError):
        pass
    elif isinstance(exc, KeyError) and re.search(r'is not in the \S+ registry', text):
        bad = re.search(r'(\S+) is not in the (\S+) registry', text)
        text = text.split('. Please check')[0]
        hint = difflib.get_close_matches(bad.group(1), _registry_names(), n=1) if bad else []
        if hint:
            text += f' (did you mean "{hint[0]}"?)'
    elif isinstance(exc, TypeError) and _SIGNATURE.search(text):
        pass
    else:
        return None
    if 'Original Traceback' in text:  # re-raised from a dataloader worker
        last = [line.strip() for line in text.strip().splitlines() if line.strip()][-1]
        match = _WORKER_LINE.match(last)
        text = match.group(1) if match else last
    return ' '.join(text.split())


@contextmanager
def exit_on_user_error(prog: str) -> Iterator[None]:
    """Turn user errors raised in the block into ``prog: error: <message>`` on stderr and
    exit status 1; anything else propagates with its traceback."""
    try:
        yield
    except Exception as e:
        message = user_error_message(e)
        if message is None:
            raise
        print(f'{prog}: error: {message}', file=sys.stderr, flush=True)
        sys.exit(1)
