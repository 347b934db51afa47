"""Train a model from a config: ``python tools/train.py CONFIG [options]``."""
import argparse

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from sscl.utils import (ConfigError, close_distributed, init_cpu_distributed,
                        register_all_modules, sscl_checkpoint_loading)
from sscl.utils.cli import (add_runner_arguments, add_tensorboard, check_semi_batch,
                            exit_on_user_error, load_config, parse_runner_args, setup_config)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model with sscl')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint; without a path, resume from the latest '
        'checkpoint in the work directory')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision: AmpOptimWrapper with bfloat16 autocast (optim_wrapper.dtype)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate linearly with the total batch size '
        '(the config\'s auto_scale_lr.base_batch_size is the reference)')
    parser.add_argument(
        '--tensorboard',
        action='store_true',
        help='also log to TensorBoard (event files in <work_dir>/<timestamp>/vis_data/)')
    add_runner_arguments(parser)
    return parse_runner_args(parser)


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command-line options to the config."""
    setup_config(cfg, args)

    if args.amp:
        if not torch.cuda.is_available():
            raise ConfigError('--amp needs a CUDA device (mmengine\'s AmpOptimWrapper)')
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ConfigError(f'--amp needs optim_wrapper.type OptimWrapper, got {optim_wrapper}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        # bfloat16 keeps float32's range: no loss scaling. float16 (set optim_wrapper.dtype)
        # gets mmengine's dynamic loss scale.
        cfg.optim_wrapper.setdefault('dtype', 'bfloat16')
        if cfg.optim_wrapper.dtype == 'float16':
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.tensorboard:
        add_tensorboard(cfg)

    # mmengine would compile train_step, the optimizer step included, which TorchDynamo
    # cannot trace: CompileHook compiles the encoders instead (sscl/engine/hooks).
    compile_cfg = cfg.pop('compile', None)
    if not isinstance(compile_cfg, (type(None), bool, dict)):
        raise ConfigError(f'compile must be True, False or a dict of torch.compile options '
                          f'(backend, mode, fullgraph, dynamic), got {compile_cfg!r}')
    if compile_cfg:
        options = {} if compile_cfg is True else dict(compile_cfg)
        cfg.setdefault('custom_hooks', []).append(dict(type='CompileHook', **options))

    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', dict())
        cfg.auto_scale_lr.enable = True

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    with exit_on_user_error('train.py'), sscl_checkpoint_loading(args.allow_pickle):
        cfg = merge_args(load_config(args.config), args)
        check_semi_batch(cfg)
        init_cpu_distributed(cfg.launcher)
        Runner.from_cfg(cfg).train()
        close_distributed()


if __name__ == '__main__':
    main()
