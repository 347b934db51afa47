# Runtime of the digits CPU demos: a log line and a checkpoint every 10 iterations, the last
# checkpoint kept.
_base_ = './default_runtime.py'

default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=10, max_keep_ckpts=1))
