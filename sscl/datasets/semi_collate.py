"""Collate a mixed list of labeled and two-view unlabeled samples into one batch dict."""
from typing import List

from mmengine.dataset import default_collate

from sscl.registry import FUNCTIONS
from sscl.utils.errors import DataError


@FUNCTIONS.register_module()
def semi_collate(data_batch: List[dict]) -> dict:
    """Group samples by kind: ``inputs`` a tensor → labeled, a dict of views → unlabeled.

    Returns:
        ``{'inputs': {'labeled': (B,3,H,W), 'weak': (μB,3,H,W), 'strong': (μB,3,H,W)},
        'data_samples': {'labeled': {'gt_label': (B,), 'sample_idx': (B,)},
        'unlabeled': {'gt_label': (μB,), 'sample_idx': (μB,)}}}``.
    """
    labeled = [s for s in data_batch if not isinstance(s['inputs'], dict)]
    unlabeled = [s for s in data_batch if isinstance(s['inputs'], dict)]
    if not labeled or not unlabeled:
        raise DataError('semi_collate needs labeled and unlabeled samples in every batch; '
                        'use SemiSupervisedSampler with a SemiDataset')
    lab, unl = default_collate(labeled), default_collate(unlabeled)
    return dict(
        inputs=dict(labeled=lab['inputs'], **unl['inputs']),
        data_samples=dict(labeled=lab['data_samples'], unlabeled=unl['data_samples']))
