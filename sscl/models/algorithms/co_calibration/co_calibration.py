"""Co-calibration state and rules of SsCL (paper section 3.3, docs/method.md)."""
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import all_reduce

from sscl.utils.errors import ConfigError
from .step_records import StepRecords

CALIBRATION_MODES = ('sample', 'global', None)
SIMILARITIES = ('softmax', 'cosine')


class CoCalibration(nn.Module):
    """Prototypes, calibration window, offline pseudo-label table and step records, with
    the rules that read and write them.

    The training step calls :meth:`update_window_and_calibrate` (its pseudo-label
    targets), :meth:`record`, :meth:`table_classes` and :meth:`self_paced_weight`;
    :class:`CoCalibrationHook` calls :meth:`calibrate_and_assign` on embedded data, then
    :meth:`update_prototypes` and :meth:`set_pseudo_labels`. :meth:`assign_calibrated` is
    the one rule that gives a sample its class, nearest prototype and similarity, for both.

    State (registered buffers: checkpoints and exact resume need no extra code):
    ``prototypes`` (C, D) and ``prototypes_ready``; ``pseudo_labels`` (N_u,), −1 until
    assigned; the window of batch-mean similarity distributions ``calib_window`` (t, C)
    with ``calib_ptr`` and ``calib_count``; the :class:`StepRecords` ``step_records``.

    Every similarity and calibration is computed in float32 with autocast off, also inside
    an ``--amp`` step (T_s = 0.1 would magnify bf16 rounding, as γ does in L_ctr).

    Args:
        num_classes: C.
        feat_dim: embedding size D.
        mode: 'sample' (w = p_s(z) / p̄_s), 'global' (w = p̄_s) or None (no calibration).
        temperature: T_s of the similarity distribution.
        window: t, the number of batches p̄_s averages over.
        similarity: the form of p_s: ``'softmax'`` (softmax(cos / T_s)) or ``'cosine'``
            (the cosines themselves, negative ones clamped at 0: a prototype the sample
            points away from gets no weight; ``temperature`` is not used).
    """

    # Sized by the datasets, not the config: may change shape between checkpoints.
    resizable_buffers = ('pseudo_labels', 'step_records.labeled_embed', 'step_records.assigned',
                         'step_records.nearest', 'step_records.sim_assigned')

    def __init__(self,
                 num_classes: int,
                 feat_dim: int,
                 mode: Optional[str] = 'sample',
                 temperature: float = 0.1,
                 window: int = 128,
                 similarity: str = 'softmax'):
        super().__init__()
        if mode not in CALIBRATION_MODES:
            raise ConfigError(f'calibration.mode must be one of {CALIBRATION_MODES}, '
                              f'got {mode!r}')
        if similarity not in SIMILARITIES:
            raise ConfigError(f'calibration.similarity must be one of {SIMILARITIES}, '
                              f'got {similarity!r}')
        self.num_classes, self.mode, self.temperature = num_classes, mode, temperature
        self.similarity = similarity
        self.register_buffer('prototypes', torch.zeros(num_classes, feat_dim))
        self.register_buffer('prototypes_ready', torch.zeros((), dtype=torch.bool))
        self.register_buffer('pseudo_labels', torch.zeros(0, dtype=torch.long))
        self.register_buffer('calib_window', torch.zeros(window, num_classes))
        self.register_buffer('calib_ptr', torch.zeros((), dtype=torch.long))
        self.register_buffer('calib_count', torch.zeros((), dtype=torch.long))
        self.step_records = StepRecords(feat_dim)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Buffers sized by the datasets take the checkpoint's size (before the submodules,
        # which load after this, read theirs).
        for name in self.resizable_buffers:
            saved = state_dict.get(prefix + name)
            owner_name, _, buffer_name = name.rpartition('.')
            owner = self.get_submodule(owner_name)
            current = getattr(owner, buffer_name)
            if saved is not None and saved.shape != current.shape:
                setattr(owner, buffer_name, current.new_zeros(saved.shape))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # ---- sizes, set by CoCalibrationHook before training ------------------------------------
    def init_table(self, num_unlabeled: int) -> None:
        """Size the pseudo-label table (−1 = not assigned yet); kept if already that size."""
        if self.pseudo_labels.numel() != num_unlabeled:
            self.pseudo_labels = torch.full((num_unlabeled, ),
                                            -1,
                                            dtype=torch.long,
                                            device=self.prototypes.device)

    def init_records(self, num_labeled: int, num_unlabeled: int) -> None:
        """Record the steps' per-sample outputs for a refresh that reuses them."""
        self.step_records.resize(num_labeled, num_unlabeled)

    # ---- calibration (eq. 4 of docs/method.md) ----------------------------------------------
    def cosines(self, z: torch.Tensor) -> torch.Tensor:
        """cos(z, proto) (N, C) in float32, autocast off. Args: z (N, D) normalised."""
        with torch.autocast(z.device.type, enabled=False):
            return z.float() @ self.prototypes.t().float()

    def similarity_distribution(self, z: torch.Tensor) -> torch.Tensor:
        """p_s (N, C) of z (N, D) normalised: softmax(cos(z, proto) / T_s), or with
        ``similarity='cosine'`` max(cos(z, proto), 0); float32."""
        cos = self.cosines(z)
        if self.similarity == 'cosine':
            return cos.clamp(min=0)
        return (cos / self.temperature).softmax(dim=1)

    def window_mean(self) -> torch.Tensor:
        """p̄_s (C,): mean of the filled rows of the window; uniform 1/C while it is empty,
        so the first refresh does not depend on which samples share a batch."""
        size = self.calib_window.size(0)
        filled = torch.arange(size, device=self.calib_window.device) < self.calib_count
        mean = (self.calib_window * filled[:, None]).sum(dim=0) / self.calib_count.clamp(min=1)
        return torch.where(self.calib_count > 0, mean, torch.full_like(mean, 1 / mean.numel()))

    @torch.no_grad()
    def update_window(self, p_s: torch.Tensor) -> None:
        """Push the batch-mean p_s (C,), averaged over ranks, into the t-batch ring buffer.
        Only once prototypes exist (before that p_s is uniform and meaningless)."""
        batch_mean = p_s.float().mean(dim=0)
        all_reduce(batch_mean, op='mean')
        ready, ptr = self.prototypes_ready, self.calib_ptr.view(1)
        row = torch.where(ready, batch_mean, self.calib_window.index_select(0, ptr)[0])
        self.calib_window.index_copy_(0, ptr, row[None])
        size = self.calib_window.size(0)
        self.calib_ptr.copy_((self.calib_ptr + ready.long()) % size)
        self.calib_count.copy_((self.calib_count + ready.long()).clamp(max=size))

    @torch.no_grad()
    def calibrate(self, probs: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """p̂_b = normalise(p_b ⊙ w): ``'sample'``: w = p_s(z) / p̄_s; ``'global'``:
        w = p̄_s; mode None, or no prototypes yet: p̂_b = p_b. The window is not updated.

        Args: probs (N, C) classifier probabilities, z (N, D) normalised E_q embeddings.
        Returns: (N, C) calibrated probabilities.
        """
        if self.mode is None:
            return probs
        with torch.autocast(probs.device.type, enabled=False):
            probs, p_bar = probs.float(), self.window_mean()
            tiny = torch.finfo(p_bar.dtype).tiny
            if self.mode == 'sample':
                weight = self.similarity_distribution(z) / p_bar.clamp(min=tiny)
            else:
                weight = p_bar[None]
            calibrated = probs * weight
            total = calibrated.sum(dim=1, keepdim=True)
            # A zero weight everywhere (raw cosines all <= 0) leaves p_b uncalibrated.
            calibrated = torch.where(total > 0, calibrated / total.clamp(min=tiny), probs)
            # A device-side choice instead of `if prototypes_ready:` keeps the step sync-free.
            return torch.where(self.prototypes_ready, calibrated, probs)

    @torch.no_grad()
    def update_window_and_calibrate(self, probs: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The step's pseudo-label targets: update the window with this batch's p_s, then
        :meth:`calibrate`. Args: probs (μB, C), z (μB, D). Returns: (μB, C)."""
        if self.mode is not None:
            self.update_window(self.similarity_distribution(z))
        return self.calibrate(probs, z)

    # ---- assignment -------------------------------------------------------------------------
    @torch.no_grad()
    def assign_calibrated(self, calibrated: torch.Tensor,
                          z: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The class of each sample and its relation to the prototypes.

        Args: calibrated (N, C) calibrated probabilities, z (N, D) normalised embeddings.
        Returns: ``assigned`` (N,) argmax of ``calibrated``; ``nearest`` (N,) the nearest
        prototype; ``sim_assigned`` (N,) the cosine to the prototype of ``assigned``.
        """
        sim = self.cosines(z)
        assigned = calibrated.argmax(dim=1)
        return dict(
            assigned=assigned,
            nearest=sim.argmax(dim=1),
            sim_assigned=sim.gather(1, assigned[:, None])[:, 0])

    @torch.no_grad()
    def calibrate_and_assign(self, probs: torch.Tensor,
                             z: torch.Tensor) -> Dict[str, torch.Tensor]:
        """:meth:`assign_calibrated` of classifier probabilities (N, C), calibrated first (the
        offline refresh: the window is read, not updated)."""
        return self.assign_calibrated(self.calibrate(probs, z), z)

    @torch.no_grad()
    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        """The nearest prototype (N,) of embeddings z (N, D); −1 before the first refresh."""
        nearest = self.cosines(z).argmax(dim=1)
        return torch.where(self.prototypes_ready, nearest, torch.full_like(nearest, -1))

    @torch.no_grad()
    def record(self, labeled_idx: torch.Tensor, labeled_embed: torch.Tensor,
               unlabeled_idx: torch.Tensor, calibrated: torch.Tensor,
               embed: torch.Tensor) -> None:
        """Write one step of every rank into the step records (see :class:`StepRecords`)."""
        self.step_records.record(labeled_idx, labeled_embed, unlabeled_idx,
                                 **self.assign_calibrated(calibrated, embed))

    # ---- what the contrastive loss reads ----------------------------------------------------
    def table_classes(self, sample_idx: torch.Tensor) -> torch.Tensor:
        """The table's class (μB,) of unlabeled samples; −1 for all before it is sized."""
        if len(self.pseudo_labels) == 0:
            return torch.full_like(sample_idx, -1)
        return self.pseudo_labels[sample_idx]

    @torch.no_grad()
    def self_paced_weight(self, q: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """α_p = clamp(cos(q, proto_c), 0, 1) of each query's class c (N, 1); 1 before the
        first refresh. Args: q (N, D) normalised queries, classes (N,) (−1 reads class 0,
        whose queries have no class positives to weight)."""
        cos = (q.detach() * self.prototypes[classes.clamp(min=0)].to(q.dtype)).sum(
            dim=1, keepdim=True)
        return torch.where(self.prototypes_ready, cos.clamp(0, 1), torch.ones_like(cos))

    # ---- the refresh writes -----------------------------------------------------------------
    @torch.no_grad()
    def update_prototypes(self,
                          labels: torch.Tensor,
                          embeds: torch.Tensor,
                          mixed_sums: Optional[torch.Tensor] = None) -> None:
        """proto_c = normalise(Σ_{labeled i of c} z_i + Σ_{mixed j of c} z_j) (eq. 4).

        Args: labels (N_l,), embeds (N_l, D) of the labeled set; mixed_sums (C, D) the
        per-class sums of the mixed images' embeddings, or None (no mixture).
        """
        sums = torch.zeros_like(self.prototypes).index_add_(0, labels, embeds.float())
        if mixed_sums is not None:
            sums = sums + mixed_sums.float()
        self.set_prototypes(sums)

    @torch.no_grad()
    def set_prototypes(self, sums: torch.Tensor) -> None:
        """Args: sums (C, D) per-class embedding sums, L2-normalised into the prototypes."""
        self.prototypes.copy_(F.normalize(sums.float(), dim=1))
        self.prototypes_ready.fill_(True)

    @torch.no_grad()
    def set_pseudo_labels(self, labels: torch.Tensor) -> None:
        """Args: labels (N_u,) assigned class of every unlabeled sample, by index."""
        self.init_table(labels.numel())
        self.pseudo_labels.copy_(labels)
