"""Errors in what the user supplied: tools report them as one line, without a traceback."""


class SsclError(Exception):
    """Base of the user-input errors; the message names the file, key or value at fault."""


class ConfigError(SsclError, ValueError):
    """A config key, type or value that cannot work."""


class DataError(SsclError, ValueError):
    """A dataset, list file or image that cannot be read as described."""


class DataFileNotFoundError(SsclError, FileNotFoundError):
    """A file the data description names does not exist."""


class CheckpointError(SsclError, RuntimeError):
    """A checkpoint that cannot be loaded safely or does not fit the model."""


class NonFiniteLossError(SsclError, FloatingPointError):
    """Training produced a NaN or infinite loss."""


class CollapseError(SsclError, RuntimeError):
    """Training collapsed the contrastive embedding (``CollapseGuardHook``)."""


class ImageReadError(DataError):
    """An image file that is missing or cannot be decoded."""
