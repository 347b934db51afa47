from .checkpoint_loading import (allow_pickle, key_listing, safe_torch_load,
                                 sscl_checkpoint_loading, trained_weights)
from .dist import close_distributed, init_cpu_distributed
from .errors import (CheckpointError, CollapseError, ConfigError, DataError,
                     DataFileNotFoundError, ImageReadError, NonFiniteLossError, SsclError)
from .setup_env import register_all_modules

__all__ = [
    'CheckpointError', 'CollapseError', 'ConfigError', 'DataError', 'DataFileNotFoundError',
    'ImageReadError', 'NonFiniteLossError', 'SsclError', 'allow_pickle', 'close_distributed',
    'init_cpu_distributed', 'key_listing', 'register_all_modules', 'safe_torch_load',
    'sscl_checkpoint_loading', 'trained_weights'
]
