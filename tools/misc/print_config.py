"""Print a config as the tools see it: ``python tools/misc/print_config.py CONFIG
[--cfg-options key=value ...]``.

``_base_`` files are merged and the overrides applied with train.py's rules (an override of
a config variable, which would change nothing, is refused); the output is itself a config
file.
"""
import argparse
from typing import List, Optional

from mmengine.config import DictAction

from sscl.utils.cli import check_top_level_keys, exit_on_user_error, load_config, merge_overrides


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Print the merged config')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value pairs, as train.py takes them')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    with exit_on_user_error('print_config.py'):
        cfg = load_config(args.config)
        merge_overrides(cfg, args.cfg_options, args.config)
        check_top_level_keys(cfg, args.config)
        print(cfg.pretty_text)


if __name__ == '__main__':
    main()
