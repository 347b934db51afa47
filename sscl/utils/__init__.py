from .dist import init_cpu_distributed
from .setup_env import register_all_modules

__all__ = ['init_cpu_distributed', 'register_all_modules']
