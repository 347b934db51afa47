from .distributed import SsclDistributedDataParallel

__all__ = ['SsclDistributedDataParallel']
