"""SsCL: semi-supervised contrastive learning (paper section 3, SPEC sections 1-3)."""
import copy
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import all_reduce

from sscl.registry import MODELS
from ..utils import forward_with_shuffle_bn
from .base_classifier import BaseClassifier
from .labeled_queue import LabeledQueue

CALIBRATION_MODES = ('sample', 'global', None)


@MODELS.register_module()
class SsCL(BaseClassifier):
    """One backbone trained with ``L = L_sup + λ_pl L_pl + λ_ctr L_ctr`` (eq. 3).

    Query encoder E_q = ``backbone`` → pool → ``neck``; classifier = ``head`` on the pooled
    feature; key encoder E_k = ``momentum_encoder`` (a momentum copy of backbone + neck); a
    :class:`LabeledQueue` of keys with labels. ``loss_pl=None`` drops the pseudo-label branch
    (MoCo v2 baseline with ``num_positives=0``); ``loss_ctr=None`` drops the contrastive branch
    (FixMatch with ``calibration=dict(mode=None)``).

    Persistent state (registered buffers, so checkpoints and resume need no extra code):
    the queue, ``prototypes`` (C, D) and ``prototypes_ready``, the offline ``pseudo_labels``
    table (N_unlabeled,), and the calibration window ``calib_window`` (t, C) with
    ``calib_ptr``/``calib_count``. :class:`CoCalibrationHook` writes prototypes and table.

    Args:
        backbone, neck, head: component configs.
        num_classes: C.
        feat_dim: embedding size D of the neck.
        queue_len: K.
        momentum: key encoder momentum m.
        num_positives: P class positives per query taken from the queue.
        self_paced: weight class positives by α_p = clamp(cos(z, proto_c), 0, 1).
        loss_pl: pseudo-label loss config or None.
        loss_ctr: contrastive loss config or None.
        calibration: ``mode`` ('sample', 'global' or None), ``temperature`` T_s, ``window`` t.
        shuffle_bn: shuffle the key encoder's batch across ranks (no-op in one process).
    """

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict],
                 head: dict,
                 num_classes: int,
                 feat_dim: int = 128,
                 queue_len: int = 65536,
                 momentum: float = 0.999,
                 num_positives: int = 3,
                 self_paced: bool = True,
                 loss_pl: Optional[dict] = dict(
                     type='PseudoLabelCrossEntropyLoss', threshold=0.6, loss_weight=10.0),
                 loss_ctr: Optional[dict] = dict(
                     type='MultiPosMarginContrastiveLoss', gamma=10.0, margin=-0.25,
                     loss_weight=5.0),
                 calibration: dict = dict(mode='sample', temperature=0.1, window=128),
                 shuffle_bn: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(backbone, head, data_preprocessor, init_cfg)
        if calibration.get('mode') not in CALIBRATION_MODES:
            raise ValueError(f'calibration.mode must be one of {CALIBRATION_MODES}, '
                             f'got {calibration.get("mode")!r}')
        if loss_ctr is not None and neck is None:
            raise ValueError('the contrastive loss needs a neck')
        self.neck = MODELS.build(neck) if neck is not None else None
        self.num_classes = num_classes
        self.momentum = momentum
        self.num_positives = num_positives
        self.self_paced = self_paced
        self.shuffle_bn = shuffle_bn
        self.loss_pl = MODELS.build(loss_pl) if loss_pl is not None else None
        self.loss_ctr = MODELS.build(loss_ctr) if loss_ctr is not None else None
        self.calib_mode = calibration.get('mode')
        self.calib_temperature = calibration.get('temperature', 0.1)

        if self.loss_ctr is not None:
            self.momentum_encoder = nn.ModuleDict(
                dict(backbone=copy.deepcopy(self.backbone), neck=copy.deepcopy(self.neck)))
            self.momentum_encoder.requires_grad_(False)
            self.queue = LabeledQueue(queue_len, feat_dim)
        self.register_buffer('prototypes', torch.zeros(num_classes, feat_dim))
        self.register_buffer('prototypes_ready', torch.zeros((), dtype=torch.bool))
        self.register_buffer('pseudo_labels', torch.zeros(0, dtype=torch.long))
        self.register_buffer('calib_window', torch.zeros(calibration.get('window', 128),
                                                         num_classes))
        self.register_buffer('calib_ptr', torch.zeros((), dtype=torch.long))
        self.register_buffer('calib_count', torch.zeros((), dtype=torch.long))

    # ---- state written by CoCalibrationHook -------------------------------------------
    def init_pseudo_label_table(self, num_unlabeled: int) -> None:
        """Size the offline pseudo-label table (−1 = not assigned yet)."""
        if self.pseudo_labels.numel() != num_unlabeled:
            self.pseudo_labels = torch.full((num_unlabeled, ), -1, dtype=torch.long,
                                            device=self.prototypes.device)

    @torch.no_grad()
    def set_prototypes(self, prototypes: torch.Tensor) -> None:
        """Args: prototypes (C, D), L2-normalised here."""
        self.prototypes.copy_(F.normalize(prototypes.float(), dim=1))
        self.prototypes_ready.fill_(True)

    @torch.no_grad()
    def set_pseudo_labels(self, labels: torch.Tensor) -> None:
        """Args: labels (N_unlabeled,) assigned class of every unlabeled sample."""
        self.init_pseudo_label_table(labels.numel())
        self.pseudo_labels.copy_(labels)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # The table's size comes from the dataset, not the config: take the checkpoint's.
        table = state_dict.get(prefix + 'pseudo_labels')
        if table is not None:
            self.init_pseudo_label_table(table.numel())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # ---- embeddings and co-calibration (SPEC §2) ------------------------------------------
    @torch.no_grad()
    def embed(self, inputs: torch.Tensor):
        """E_q embeddings and classifier probabilities without gradient.

        Args: inputs (N, 3, H, W) normalised images.
        Returns: z (N, D) L2-normalised, probs (N, C).
        """
        feats = self.extract_feat(inputs)
        return F.normalize(self.neck(feats), dim=1), self.head(feats).softmax(dim=1)

    def similarity_distribution(self, z: torch.Tensor) -> torch.Tensor:
        """p_s = softmax(cos(z, proto) / T_s). Args: z (N, D) normalised. Returns: (N, C)."""
        return (z @ self.prototypes.t() / self.calib_temperature).softmax(dim=1)

    @torch.no_grad()
    def _update_window(self, p_s: torch.Tensor) -> None:
        """Push the batch-mean p_s (averaged over ranks) into the t-batch ring buffer."""
        batch_mean = p_s.mean(dim=0)
        all_reduce(batch_mean, op='mean')
        self.calib_window[self.calib_ptr] = batch_mean
        self.calib_ptr.copy_((self.calib_ptr + 1) % self.calib_window.size(0))
        self.calib_count.copy_((self.calib_count + 1).clamp(max=self.calib_window.size(0)))

    @torch.no_grad()
    def calibrate(self, probs: torch.Tensor, z: Optional[torch.Tensor]) -> torch.Tensor:
        """p̂_b = normalise(p_b ⊙ w) (SPEC §2).

        ``mode='sample'``: w = p_s(u) / p̄_s; ``'global'``: w = p̄_s; None or no prototypes
        yet: p̂_b = p_b. p̄_s is the mean of the filled rows of the window (uniform while it
        is empty), so the result does not depend on which samples share the batch.

        Args: probs (N, C) classifier probabilities, z (N, D) normalised E_q embeddings.
        Returns: (N, C) calibrated probabilities.
        """
        if self.calib_mode is None or z is None or not bool(self.prototypes_ready):
            return probs
        p_s = self.similarity_distribution(z)
        # An empty window (the first refresh) counts as uniform: p̄_s = 1/C.
        p_bar = self.calib_window[:self.calib_count].mean(dim=0) if bool(
            self.calib_count > 0) else torch.full_like(p_s[0], 1.0 / p_s.size(1))
        weight = p_s / p_bar.clamp(min=1e-12) if self.calib_mode == 'sample' else p_bar
        calibrated = probs * weight
        return calibrated / calibrated.sum(dim=1, keepdim=True).clamp(min=1e-12)

    # ---- training step ------------------------------------------------------------------
    @torch.no_grad()
    def _momentum_update(self) -> None:
        """E_k ← m E_k + (1 − m) E_q, parameters only (E_k keeps its own BN statistics)."""
        query = list(self.backbone.parameters()) + list(self.neck.parameters())
        key = list(self.momentum_encoder.parameters())
        torch._foreach_mul_(key, self.momentum)
        torch._foreach_add_(key, query, alpha=1 - self.momentum)

    def _encode_keys(self, x: torch.Tensor) -> torch.Tensor:
        def key_encoder(imgs: torch.Tensor) -> torch.Tensor:
            feats = self.momentum_encoder['backbone'](imgs)[-1].mean(dim=(2, 3))
            return F.normalize(self.momentum_encoder['neck'](feats), dim=1)

        if self.shuffle_bn:
            return forward_with_shuffle_bn(key_encoder, x)
        with torch.no_grad():
            return key_encoder(x)

    def _contrastive_loss(self, q: torch.Tensor, k: torch.Tensor,
                          classes: torch.Tensor) -> torch.Tensor:
        """L_ctr (eq. 5) of queries q (N, D) with own keys k (N, D) against the queue.

        Positives: the own key (α = 1) and up to P queue keys labeled ``classes`` (α_p =
        clamp(cos(q, proto_c), 0, 1) when self-paced). Negatives: queue entries whose label is
        not the query's class (all entries for class −1).
        """
        # A copy: the enqueue after this loss overwrites the queue before backward.
        queue, queue_labels = self.queue.queue.clone(), self.queue.queue_labels.clone()
        neg_sim = q @ queue.t()
        idx, valid = self.queue.class_positives(classes, self.num_positives)
        own = (q * k).sum(dim=1, keepdim=True)
        pos_sim = torch.cat([own, neg_sim.gather(1, idx)], dim=1)
        pos_mask = torch.cat([torch.ones_like(own, dtype=torch.bool), valid], dim=1)
        alpha = torch.ones_like(pos_sim)
        if self.self_paced and self.num_positives > 0 and bool(self.prototypes_ready):
            proto = self.prototypes[classes.clamp(min=0)]
            alpha[:, 1:] = (q.detach() * proto).sum(dim=1, keepdim=True).clamp(0, 1)
        neg_mask = (queue_labels[None, :] != classes[:, None]) | (classes[:, None] < 0)
        return self.loss_ctr(pos_sim, alpha, pos_mask, neg_sim, neg_mask)

    def loss(self, inputs: Dict[str, torch.Tensor],
             data_samples: Dict[str, Dict[str, torch.Tensor]]) -> Dict[str, torch.Tensor]:
        """One SsCL step on a semi-supervised batch (docs/design.md).

        Args:
            inputs: ``labeled`` (B,3,H,W), ``weak`` and ``strong`` (μB,3,H,W), normalised.
            data_samples: ``labeled``/``unlabeled`` dicts of ``gt_label`` and ``sample_idx``.

        Returns:
            Losses (``loss_sup``, ``loss_pl``, ``loss_ctr``) and logged scalars
            (``pl_mask_rate``, ``pl_acc``), all tensors: nothing here syncs with the host.
        """
        x, weak, strong = inputs['labeled'], inputs['weak'], inputs['strong']
        labels = data_samples['labeled']['gt_label']
        unlabeled = data_samples['unlabeled']
        b = x.size(0)

        feats = self.extract_feat(torch.cat([x, strong]))
        logits = self.head(feats)
        losses = dict(loss_sup=self.head.loss_module(logits[:b], labels))

        if self.loss_pl is not None:
            with torch.no_grad():
                feats_w = self.extract_feat(weak)
                probs = self.head(feats_w).softmax(dim=1)
                z_w = F.normalize(self.neck(feats_w), dim=1) if self.neck is not None else None
                if z_w is not None and self.calib_mode is not None and bool(
                        self.prototypes_ready):
                    self._update_window(self.similarity_distribution(z_w))
                probs = self.calibrate(probs, z_w)
            losses['loss_pl'], mask = self.loss_pl(logits[b:], probs)
            losses.update(self._pseudo_label_stats(probs, mask, unlabeled['gt_label']))

        if self.loss_ctr is not None:
            q = F.normalize(self.neck(feats), dim=1)
            with torch.no_grad():
                self._momentum_update()
                k = self._encode_keys(torch.cat([x, weak]))
            assigned = self.pseudo_labels[unlabeled['sample_idx']] if self.pseudo_labels.numel(
            ) else torch.full_like(unlabeled['sample_idx'], -1)
            losses['loss_ctr'] = self._contrastive_loss(q, k, torch.cat([labels, assigned]))
            self.queue.enqueue(k, torch.cat([labels, torch.full_like(assigned, -1)]))
        return losses

    @staticmethod
    @torch.no_grad()
    def _pseudo_label_stats(probs: torch.Tensor, mask: torch.Tensor,
                            gt: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Mask rate, and accuracy of the confident pseudo labels where ground truth is known."""
        known = (gt >= 0).float() * mask
        correct = (probs.argmax(dim=1) == gt).float() * known
        return dict(pl_mask_rate=mask.mean(), pl_acc=correct.sum() / known.sum().clamp(min=1))
