from .dataset_embedding import (PipelineView, bf16_autocast, embed_dataset, gather_by_index,
                                inference_loader)
from .runner_state import is_resuming, is_training, load_from

__all__ = [
    'PipelineView', 'bf16_autocast', 'embed_dataset', 'gather_by_index', 'inference_loader',
    'is_resuming', 'is_training', 'load_from'
]
