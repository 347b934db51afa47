"""DDP wrapper that also runs on CPU-only machines (gloo backend)."""
from typing import List, Optional

import torch.nn as nn
from mmengine.model import MMDistributedDataParallel

from sscl.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class SsclDistributedDataParallel(MMDistributedDataParallel):
    """:class:`MMDistributedDataParallel` that drops ``device_ids`` for CPU modules.

    mmengine's Runner always passes ``device_ids=[LOCAL_RANK]``, which DDP rejects for a model
    on the CPU; dropping it lets ``tools/dist_train.sh`` run with gloo on machines without GPUs.
    """

    def __init__(self, module: nn.Module, device_ids: Optional[List[int]] = None, **kwargs):
        on_cpu = all(p.device.type == 'cpu' for p in module.parameters())
        super().__init__(module=module, device_ids=None if on_cpu else device_ids, **kwargs)
