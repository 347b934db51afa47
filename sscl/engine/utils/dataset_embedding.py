"""Embed a dataset on every rank and gather the per-sample results by ``sample_idx``."""
from typing import Callable, Dict, List

import torch
from mmcv.transforms import Compose
from mmengine.dataset import DefaultSampler, default_collate
from mmengine.dist import all_gather, get_world_size, is_main_process
from mmengine.utils import ProgressBar
from torch.utils.data import DataLoader, Dataset

Rows = Dict[str, torch.Tensor]


class PipelineView(Dataset):
    """A dataset's samples read through another pipeline (e.g. the test pipeline)."""

    def __init__(self, dataset, pipeline: Compose):
        self.dataset, self.pipeline = dataset, pipeline

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, idx: int) -> dict:
        return self.pipeline(self.dataset.get_data_info(idx))


def bf16_autocast(device: torch.device, enabled: bool = True) -> torch.autocast:
    """bfloat16 autocast on a GPU when ``enabled``; a no-op on the CPU."""
    return torch.autocast(
        device.type, dtype=torch.bfloat16, enabled=enabled and device.type == 'cuda')


def inference_loader(dataset: Dataset,
                     batch_size: int,
                     num_workers: int,
                     shard: bool = True,
                     collate_fn: Callable = default_collate) -> DataLoader:
    """A loader in dataset order: with ``shard``, of this rank's share (DefaultSampler
    pads the last batches with duplicates so every rank has as many); else of all of it."""
    sampler = DefaultSampler(dataset, shuffle=False, round_up=True) if shard else None
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        pin_memory=torch.cuda.is_available(),
        collate_fn=collate_fn)


def gather_by_index(parts: List[Rows], size: int) -> Rows:
    """Concatenate this rank's batches, all-gather, and place rows by ``sample_idx`` (the
    padded duplicates of DefaultSampler write identical rows).

    Args: parts: per batch, tensors of the batch's samples (n, ...) with ``sample_idx`` (n,).
    Returns: every other key's tensor (size, ...), row i for sample i.
    """
    local = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
    gathered = {k: torch.cat(all_gather(v.contiguous())) for k, v in local.items()}
    idx = gathered.pop('sample_idx')
    out = {}
    for k, v in gathered.items():
        full = v.new_zeros((size, ) + v.shape[1:])
        full[idx] = v
        out[k] = full
    return out


@torch.no_grad()
def embed_dataset(preprocess: Callable[[dict, bool], dict], loader: DataLoader,
                  rows: Callable[[dict], Rows], size: int) -> Rows:
    """Run ``rows`` on every preprocessed batch of ``loader`` on every rank and gather.

    Args:
        preprocess: the model's data preprocessor.
        loader: batches with ``data_samples['sample_idx']``, e.g. :func:`inference_loader`.
        rows: preprocessed batch → per-sample tensors (n, ...).
        size: the number of samples of the dataset.

    Returns:
        ``rows``' tensors of every sample (size, ...), by sample index, on every rank.
    """
    parts = []
    bar = ProgressBar(size) if is_main_process() else None
    for batch in loader:
        data = preprocess(batch, False)
        part = dict(sample_idx=data['data_samples']['sample_idx'], **rows(data))
        parts.append(part)
        if bar is not None:
            bar.update(len(part['sample_idx']) * get_world_size())
    if bar is not None:
        bar.file.write('\n')
    return gather_by_index(parts, size)
