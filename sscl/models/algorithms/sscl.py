"""SsCL: semi-supervised contrastive learning (paper section 3, docs/method.md)."""
import copy
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from sscl.functional import mean_pairwise_cosine
from sscl.registry import MODELS
from sscl.utils.errors import ConfigError
from ..classifiers import BaseClassifier
from ..utils import forward_with_shuffle_bn
from .co_calibration import CoCalibration
from .labeled_queue import LabeledQueue

UNLABELED_POSITIVES = ('table', 'confident')
NEGATIVES = ('all', 'other_classes')


def _build_loss(cfg: Optional[dict]) -> Optional[nn.Module]:
    """Build a loss branch; ``None`` or ``loss_weight=0`` switches the branch off."""
    if cfg is None or cfg.get('loss_weight', 1.0) == 0:
        return None
    return MODELS.build(cfg)


def _resolve_negatives(negatives: Optional[str], num_positives: int) -> str:
    """SsCL's ``negatives`` with None resolved: ``'all'`` (MoCo) for P = 0, else
    ``'other_classes'``."""
    if negatives is None:
        negatives = 'all' if num_positives == 0 else 'other_classes'
    if negatives not in NEGATIVES:
        raise ConfigError(f'negatives must be one of {NEGATIVES} or None, got {negatives!r}')
    if negatives == 'all' and num_positives > 0:
        raise ConfigError("negatives='all' (the MoCo loss) needs num_positives=0, got "
                          f'num_positives={num_positives}')
    return negatives


@MODELS.register_module()
class SsCL(BaseClassifier):
    """One backbone trained with ``L = L_sup + λ_pl L_pl + λ_ctr L_ctr`` (eq. 3).

    Query encoder E_q = ``backbone`` → pool → ``neck``; classifier = ``head`` on the pooled
    feature (its ``loss`` config is L_sup, eq. 1); key encoder E_k = ``momentum_encoder``
    (a momentum copy of backbone + neck); a :class:`LabeledQueue` of keys with labels.
    A loss branch set to None (or ``loss_weight=0``) is off: FixMatch is ``loss_ctr=None,
    calibration=dict(mode=None)``; the MoCo v2 baseline is ``loss_pl=None, num_positives=0``.

    Persistent state (registered buffers, so checkpoints and resume need no extra code):
    the queue, and ``co_calibration`` (:class:`CoCalibration`: prototypes, calibration
    window, offline pseudo-label table and step records), which :class:`CoCalibrationHook`
    refreshes. The shuffle-BN permutations come from the model's own generator, saved as
    extra state, so a resumed run draws the same ones. Nothing in the training step reads a
    tensor back to the host.

    Args:
        backbone, neck, head: component configs (``neck`` may be None without ``loss_ctr``).
        num_classes: C.
        feat_dim: embedding size D of the neck.
        queue_len: K.
        momentum: key encoder momentum m.
        num_positives: P class positives per query taken from the queue.
        self_paced: weight class positives by α_p = clamp(cos(q, proto_c), 0, 1).
        loss_pl: pseudo-label loss config (eq. 2) or None.
        loss_ctr: contrastive loss config (eq. 5) or None.
        calibration: ``mode`` ('sample', 'global' or None), ``temperature`` T_s, ``window`` t.
        shuffle_bn: shuffle the key encoder's batch across ranks (no-op in one process).
        joint_forward: labeled, weak and strong views pass E_q as one batch, the weak rows
            detached (FixMatch's reference step): BN normalises the three views together
            and updates its running statistics once per step. False: the weak view is a
            separate no-grad pass in train mode (its own batch statistics).
        unlabeled_positives: the class whose P labeled keys an unlabeled query takes as
            positives. ``'table'``: its entry in the offline pseudo-label table of the last
            refresh, for every query. ``'confident'``: the step's calibrated pseudo label,
            only where its confidence is at least ``positive_threshold``; the other queries
            keep only their own key as positive (docs/method.md, "Class positives").
        positive_threshold: confidence for ``'confident'``; None = the threshold of
            ``loss_pl``.
        negatives: which queue keys are a query's negatives. ``'other_classes'``: all but
            the labeled keys of the query's class (SsCL). ``'all'``: every key, the own key
            the only positive, i.e. the original MoCo loss; only with ``num_positives=0``.
            None: ``'all'`` when ``num_positives=0`` (the paper's Table 7 "0"), else
            ``'other_classes'``; ``num_positives=0, negatives='other_classes'`` keeps the
            own key the only positive but takes same-class keys out of the negatives.
    """

    # Sized by the datasets, not the config: may change shape between checkpoints.
    resizable_buffers = tuple(f'co_calibration.{name}'
                              for name in CoCalibration.resizable_buffers)

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
                     type='MultiPosMarginContrastiveLoss',
                     gamma=10.0,
                     margin=-0.25,
                     loss_weight=5.0),
                 calibration: dict = dict(mode='sample', temperature=0.1, window=128),
                 shuffle_bn: bool = True,
                 joint_forward: bool = True,
                 unlabeled_positives: str = 'table',
                 positive_threshold: Optional[float] = None,
                 negatives: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(backbone, head, data_preprocessor, init_cfg)
        self.co_calibration = CoCalibration(num_classes, feat_dim, **calibration)
        self.loss_pl = _build_loss(loss_pl)
        self.loss_ctr = _build_loss(loss_ctr)
        if neck is None and (self.loss_ctr is not None or self.co_calibration.mode is not None):
            raise ConfigError('the contrastive loss and co-calibration need a neck (E_q)')
        self.neck = MODELS.build(neck) if neck is not None else None
        self.num_classes = num_classes
        self.momentum = momentum
        self.num_positives = num_positives
        self.self_paced = self_paced
        self.shuffle_bn = shuffle_bn
        self.joint_forward = joint_forward
        if unlabeled_positives not in UNLABELED_POSITIVES:
            raise ConfigError(f'unlabeled_positives must be one of {UNLABELED_POSITIVES}, '
                              f'got {unlabeled_positives!r}')
        if (unlabeled_positives == 'confident' and self.loss_pl is None
                and self.loss_ctr is not None and num_positives > 0):
            raise ConfigError("unlabeled_positives='confident' needs loss_pl (its pseudo "
                              'labels choose the positives) or num_positives=0')
        self.unlabeled_positives = unlabeled_positives
        self.negatives = _resolve_negatives(negatives, num_positives)
        if positive_threshold is None and self.loss_pl is not None:
            positive_threshold = self.loss_pl.threshold
        self.positive_threshold = positive_threshold

        if self.loss_ctr is not None:
            self.momentum_encoder = nn.ModuleDict(
                dict(backbone=copy.deepcopy(self.backbone), neck=copy.deepcopy(self.neck)))
            self.momentum_encoder.requires_grad_(False)
            self.queue = LabeledQueue(queue_len, feat_dim)
        # Seeded from the run's seed (mmengine seeds torch before building the model).
        self.shuffle_generator = torch.Generator().manual_seed(torch.initial_seed())

    def init_weights(self) -> None:
        """Initialise E_q, then start E_k as its exact copy (MoCo)."""
        super().init_weights()
        if self.loss_ctr is not None:
            self.momentum_encoder['backbone'].load_state_dict(self.backbone.state_dict())
            self.momentum_encoder['neck'].load_state_dict(self.neck.state_dict())

    def init_step_records(self, num_labeled: int, num_unlabeled: int) -> None:
        """Record the steps' per-sample outputs in ``co_calibration`` for a refresh that
        reuses them instead of embedding the datasets again."""
        if self.loss_pl is None or self.neck is None:
            raise ConfigError("CoCalibrationHook(source='steps') reuses the pseudo-label "
                              'pass of the step: the model needs loss_pl and a neck')
        self.co_calibration.init_records(num_labeled, num_unlabeled)

    def get_extra_state(self) -> torch.Tensor:
        """The shuffle-BN generator's state (uint8), saved as ``_extra_state``."""
        return self.shuffle_generator.get_state()

    def set_extra_state(self, state: torch.Tensor) -> None:
        self.shuffle_generator.set_state(state.cpu())

    def predict(self, inputs: torch.Tensor, data_samples: Dict[str, torch.Tensor]) -> List[dict]:
        """:meth:`BaseClassifier.predict` plus, with a neck, the L2-normalised embedding
        ``embed`` (D,) and ``proto_label``, the class of the nearest prototype (-1 before the
        first co-calibration refresh), for the Table 4/5 metrics."""
        results = super().predict(inputs, data_samples)
        if self.neck is None:
            return results
        z = self._project(torch.stack([r['feat'] for r in results]))
        nearest = self.co_calibration.nearest(z)
        for r, e, p in zip(results, z, nearest):
            r.update(embed=e, proto_label=p)
        return results

    # ---- embeddings for the refresh -------------------------------------------------------
    @torch.no_grad()
    def embed(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """E_q embeddings and classifier probabilities without gradient.

        Args: inputs (N, 3, H, W) normalised images.
        Returns: z (N, D) L2-normalised, probs (N, C).
        """
        feats = self.extract_feat(inputs)
        return self._project(feats), self.head(feats).softmax(dim=1)

    def _project(self, feats: torch.Tensor, neck: Optional[nn.Module] = None) -> torch.Tensor:
        """normalise(neck(feats)): pooled features (N, F) → embeddings (N, D), by E_q's
        neck or the given one (E_k's)."""
        return F.normalize((self.neck if neck is None else neck)(feats), dim=1)

    # ---- training step ------------------------------------------------------------------
    @torch.no_grad()
    def _momentum_update(self) -> None:
        """E_k ← m E_k + (1 − m) E_q, parameters only (E_k keeps its own BN statistics)."""
        query = list(self.backbone.parameters()) + list(self.neck.parameters())
        key = list(self.momentum_encoder['backbone'].parameters()) + list(
            self.momentum_encoder['neck'].parameters())
        torch._foreach_lerp_(key, query, 1 - self.momentum)

    def _encode_keys(self, x: torch.Tensor) -> torch.Tensor:
        """k = normalise(E_k(x)) (N, D), with shuffle-BN across ranks when enabled."""

        def key_encoder(imgs: torch.Tensor) -> torch.Tensor:
            feats = self.pool(self.momentum_encoder['backbone'](imgs))
            return self._project(feats, self.momentum_encoder['neck'])

        if self.shuffle_bn:
            return forward_with_shuffle_bn(key_encoder, x, self.shuffle_generator)
        return key_encoder(x)

    @torch.no_grad()
    def _pseudo_label_targets(self, logits: torch.Tensor,
                              feats: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """p̂_b (μB, C), the calibrated classifier probabilities of the weak view (eq. 2, 4),
        and its E_q embedding z (μB, D) (None when neither calibration nor the step
        records need it).

        Args: logits (μB, C) and pooled features (μB, F) of the weak view.
        """
        probs = logits.detach().softmax(dim=1)
        co = self.co_calibration
        if co.mode is None and not co.step_records.enabled:
            return probs, None
        z = self._project(feats.detach())
        return co.update_window_and_calibrate(probs, z), z

    def _unlabeled_classes(self, sample_idx: torch.Tensor,
                           targets: Optional[torch.Tensor]) -> torch.Tensor:
        """The class (μB,) whose labeled keys each unlabeled query takes as positives, −1
        for none (see ``unlabeled_positives``).

        Args: sample_idx (μB,) unlabeled indices; targets (μB, C) calibrated probabilities.
        """
        if self.unlabeled_positives == 'confident':
            if targets is None:  # no pseudo labels (P = 0): no class for any query
                return torch.full_like(sample_idx, -1)
            confidence, label = targets.max(dim=1)
            return torch.where(confidence >= self.positive_threshold, label,
                               torch.full_like(label, -1))
        return self.co_calibration.table_classes(sample_idx)

    def _contrastive_loss(self, q: torch.Tensor, k: torch.Tensor,
                          classes: torch.Tensor) -> torch.Tensor:
        """L_ctr (eq. 5) of queries q (N, D) with own keys k (N, D) against the queue.

        Positives: the own key (α = 1) and up to P queue keys labeled ``classes`` (α_p =
        clamp(cos(q, proto_c), 0, 1) when self-paced, 1 before the first refresh). Negatives:
        queue entries whose label is not the query's class (all entries for class −1, and
        for every query with ``negatives='all'``).
        """
        if self.negatives == 'all':  # MoCo: no query has a class
            classes = torch.full_like(classes, -1)
        # Similarities in float32 even under AMP: γ = 10 magnifies bf16 rounding.
        with torch.autocast(q.device.type, enabled=False):
            q, k = q.float(), k.float()
            # A copy: the enqueue after this loss overwrites the queue before backward.
            queue = self.queue.queue.to(q.dtype, copy=True)
            queue_labels = self.queue.queue_labels
            neg_sim = q @ queue.t()
            neg_mask = (queue_labels[None, :] != classes[:, None]) | (classes[:, None] < 0)
            idx, valid = self.queue.class_positives(classes, self.num_positives)
            own = (q * k).sum(dim=1, keepdim=True)
            pos_sim = torch.cat([own, neg_sim.gather(1, idx)], dim=1)
            pos_mask = torch.cat([torch.ones_like(own, dtype=torch.bool), valid], dim=1)
            alpha = torch.ones_like(idx, dtype=pos_sim.dtype)
            if self.self_paced:
                alpha = self.co_calibration.self_paced_weight(q, classes).expand_as(alpha)
            pos_weight = torch.cat([torch.ones_like(own), alpha], dim=1)
            return self.loss_ctr(pos_sim, pos_weight, pos_mask, neg_sim, neg_mask)

    def loss(self, inputs: Dict[str, torch.Tensor],
             data_samples: Dict[str, Dict[str, torch.Tensor]]) -> Dict[str, torch.Tensor]:
        """One SsCL step on a semi-supervised batch (docs/design.md).

        Args:
            inputs: ``labeled`` (B,3,H,W), ``weak`` and ``strong`` (μB,3,H,W), normalised.
            data_samples: ``labeled``/``unlabeled`` dicts of ``gt_label`` and ``sample_idx``.

        Returns:
            Losses (``loss_sup``, ``loss_pl``, ``loss_ctr``) and logged scalars
            (``pl_mask_rate``, ``pl_acc``; ``key_mean_cos``, the mean pairwise cosine of the
            queued keys: 1 when the contrastive embedding has collapsed), all tensors:
            nothing here syncs with the host.
        """
        labeled, unlabeled = data_samples['labeled'], data_samples['unlabeled']
        labels, b = labeled['gt_label'], labeled['gt_label'].size(0)
        feats, logits, weak = self._features(inputs)
        losses = dict(loss_sup=self.head.loss_from_logits(logits[:b], labels))  # eq. 1
        targets = z_weak = None
        if self.loss_pl is not None:  # eq. 2
            targets, z_weak = self._pseudo_label_targets(*weak)
            losses.update(self._pseudo_label_loss(logits[b:], targets, unlabeled['gt_label']))
        # The labeled set has one (weak) view per sample: its queries and keys both come
        # from it; unlabeled queries are strong views, their keys the weak views.
        q = self._project(feats) if self.loss_ctr is not None else None
        if self.co_calibration.step_records.enabled:  # with loss_pl: see init_step_records
            z_lab = q[:b] if q is not None else self._project(feats[:b])
            self.co_calibration.record(labeled['sample_idx'], z_lab, unlabeled['sample_idx'],
                                       targets, z_weak)
        if self.loss_ctr is not None:  # eq. 5
            k = self._keys(torch.cat([inputs['labeled'], inputs['weak']]))
            classes = self._unlabeled_classes(unlabeled['sample_idx'], targets)
            losses['loss_ctr'] = self._contrastive_loss(q, k, torch.cat([labels, classes]))
            losses['key_mean_cos'] = self._update_queue(k, labels, unlabeled['sample_idx'])
        return losses

    def _features(
        self, inputs: Dict[str, torch.Tensor]
    ) -> Tuple[torch.Tensor, torch.Tensor, Optional[Tuple[torch.Tensor, torch.Tensor]]]:
        """E_q's pooled features (B + μB, F) and classifier logits (B + μB, C) of the labeled
        and strong views, and the weak view's ``(logits, feats)`` that only make targets
        (no gradient reaches the model through them; None without ``loss_pl``)."""
        x, weak, strong = inputs['labeled'], inputs['weak'], inputs['strong']
        if self.loss_pl is not None and self.joint_forward:
            b, n_u = x.size(0), weak.size(0)
            feats = self.extract_feat(torch.cat([x, weak, strong]))
            logits = self.head(feats)
            weak_out = logits[b:b + n_u], feats[b:b + n_u]
            return (torch.cat([feats[:b], feats[b + n_u:]]),
                    torch.cat([logits[:b], logits[b + n_u:]]), weak_out)
        feats = self.extract_feat(torch.cat([x, strong]))
        logits = self.head(feats)
        if self.loss_pl is None:
            return feats, logits, None
        with torch.no_grad():
            weak_feats = self.extract_feat(weak)
            return feats, logits, (self.head(weak_feats), weak_feats)

    def _pseudo_label_loss(self, strong_logits: torch.Tensor, targets: torch.Tensor,
                           gt: torch.Tensor) -> Dict[str, torch.Tensor]:
        """L_pl (eq. 2) of the strong view's logits (μB, C) against the targets (μB, C), with
        its logged mask rate and accuracy (``gt`` (μB,) the unlabeled ground truth, −1 when
        unknown)."""
        loss, mask = self.loss_pl(strong_logits, targets)
        return dict(loss_pl=loss, **self._pseudo_label_stats(targets, mask, gt))

    @torch.no_grad()
    def _keys(self, x: torch.Tensor) -> torch.Tensor:
        """Keys (N, D) of the labeled and weak views. MoCo's order: update E_k, then encode
        (the paper lists the update after the loss; across iterations the two orders differ
        only by one step)."""
        self._momentum_update()
        return self._encode_keys(x)

    def _update_queue(self, k: torch.Tensor, labels: torch.Tensor,
                      unlabeled_idx: torch.Tensor) -> torch.Tensor:
        """Enqueue the keys (B + μB, D) with ground truth (labeled) or −1 (unlabeled); returns
        ``key_mean_cos``, the queue's mean pairwise cosine (1 when collapsed)."""
        self.queue.enqueue(k, torch.cat([labels, torch.full_like(unlabeled_idx, -1)]))
        return mean_pairwise_cosine(self.queue.queue)

    @staticmethod
    @torch.no_grad()
    def _pseudo_label_stats(probs: torch.Tensor, mask: torch.Tensor,
                            gt: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Mask rate, and accuracy of the confident pseudo labels where ground truth is known
        (a diagnostic: the unlabeled ground truth never enters a loss)."""
        known = (gt >= 0).float() * mask
        correct = (probs.argmax(dim=1) == gt).float() * known
        return dict(pl_mask_rate=mask.mean(), pl_acc=correct.sum() / known.sum().clamp(min=1))
