"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [options]``.

Besides the config's metrics it logs the accuracy of every class and writes the confusion
matrix to ``<work_dir>/confusion_matrix.png``.
"""
import argparse

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.fileio import dump
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import Runner

from sscl.utils import (close_distributed, init_cpu_distributed, register_all_modules,
                        sscl_checkpoint_loading, trained_weights)
from sscl.utils.cli import (add_per_class_report, add_runner_arguments, exit_on_user_error,
                            load_config, parse_runner_args, setup_config)


class UseTrainedWeights(Hook):
    """Load the optimised weights of a checkpoint saved by ``EMAHook`` instead of the average.

    ``EMAHook`` swaps the two when saving: ``state_dict`` holds the average and
    ``ema_state_dict`` the trained weights under ``module.``. Runs before ``EMAHook`` copies
    the state dict, so its swap at test time evaluates the trained weights too.
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        trained = trained_weights(checkpoint)
        if trained is None:
            print_log('the checkpoint has no EMA: its weights are the trained ones',
                      logger='current')
            return
        checkpoint['state_dict'] = trained


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Evaluate a checkpoint with sscl')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--weights',
        choices=['ema', 'trained'],
        default='ema',
        help='ema (default): the weights the checkpoint stores as its model, which are the '
        'EMAHook average when the run used one; trained: the optimised weights EMAHook keeps '
        'beside the average')
    parser.add_argument(
        '--out', help='dump the metrics to this file (.json/.yaml/.pkl by its suffix)')
    parser.add_argument(
        '--dump-preds',
        help='dump every test sample\'s label, predicted label and scores to this file '
        '(.json/.yaml/.pkl by its suffix)')
    add_runner_arguments(parser)
    return parse_runner_args(parser)


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    with exit_on_user_error('test.py'), sscl_checkpoint_loading(args.allow_pickle):
        test(load_config(args.config), args)
        close_distributed()


def test(cfg: Config, args: argparse.Namespace) -> None:
    """Evaluate ``args.checkpoint`` with the config's test loop; rank 0 writes ``--out``."""
    setup_config(cfg, args)
    add_per_class_report(cfg, args.dump_preds)
    cfg.load_from = args.checkpoint
    init_cpu_distributed(cfg.launcher)
    runner = Runner.from_cfg(cfg)
    if args.weights == 'trained':
        runner.register_hook(UseTrainedWeights())
    metrics = runner.test()
    if args.out is not None and is_main_process():
        dump(metrics, args.out)


if __name__ == '__main__':
    main()
