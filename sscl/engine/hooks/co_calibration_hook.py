"""Offline refresh of prototypes, pseudo-label table and prototype mixture (docs/method.md)."""
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.dist import all_reduce, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from sscl.evaluation.metrics import pseudo_label_diagnostics
from sscl.functional import mean_pairwise_cosine
from sscl.models.algorithms.co_calibration import CoCalibration, MixturePairs, PrototypeMixture
from sscl.models.utils import sync_bn_statistics
from sscl.registry import HOOKS
from sscl.utils.errors import ConfigError
from ..utils import PipelineView, bf16_autocast, embed_dataset, inference_loader, is_training

SOURCES = ('offline', 'steps')


@HOOKS.register_module()
class CoCalibrationHook(Hook):
    """Rebuild SsCL's prototypes and offline pseudo-label table, with prototype mixture.

    Before training (unless a resumed checkpoint already holds prototypes) and then every
    ``interval`` epochs (or iterations with ``by_epoch=False``), on all ranks together:

    1. embed the labeled set with E_q: prototype_c = normalised mean of class c;
    2. embed the unlabeled set: table[u] = argmax of the calibrated classifier probability;
    3. prototype mixture (eq. 4): Ω_c = the ``num_nearest`` unlabeled samples assigned to c
       that are nearest proto_c; n_c (labeled count of c) pairs x̂ = λ x_c + (1 − λ) x_near,
       λ ~ Beta(α, α), are embedded and proto_c is recomputed over labeled + mixed embeddings;
    4. push prototypes and table into the model on every rank and log pseudo-label accuracy,
       nearest-prototype accuracy and the overlap (IoU) of their correct sets (Table 5).

    Each rank embeds a shard with BN running statistics first averaged over ranks
    (:func:`sync_bn_statistics`); results are gathered and keyed by sample index, so every
    rank ends with identical state. The samples are read through ``pipeline`` (the test pipeline).
    The state and its rules (assignment, calibration, prototype update, the mixture's
    draws) are the model's (``model.co_calibration``, :class:`PrototypeMixture`); the
    embedding passes are :func:`embed_dataset`'s; the hook decides when a refresh runs and
    in which order its steps do.

    ``source='steps'`` skips the two embedding passes (1 and 2), which cost about a fifth
    of an ImageNet epoch, and reuses what the training steps computed instead: the model
    keeps, per sample, the latest labeled E_q embedding and unlabeled calibrated pseudo
    label, nearest prototype and similarity (:class:`StepRecords`, filled by every step and
    by each full refresh). The prototypes then come from training-mode embeddings of
    augmented labeled views, the table from weak views under the prototypes of the previous
    refresh, and Ω_c from those similarities; only the mixture pass (n_l images) embeds.
    The first refresh, and any refresh whose records are incomplete (e.g. resumed from a
    checkpoint without them), embeds everything as with ``'offline'``.

    Args:
        pipeline: test pipeline used to read both sets (and the mixture's images).
        interval: refresh period in epochs (or iterations).
        by_epoch: count ``interval`` in epochs.
        batch_size: embedding batch size per rank.
        num_workers: dataloader workers of the refresh.
        mixture: enable the prototype mixture.
        mixture_alpha: α of Beta(α, α).
        num_nearest: size of Ω_c; None = the labeled count of c.
        seed: base seed of the mixture draws; a refresh at iteration i draws with seed + i,
            identically on every rank and after a resume.
        amp: embed under bfloat16 autocast on a GPU (prototype sums and similarities stay
            float32); no effect on the CPU.
        source: ``'offline'`` (embed every image) or ``'steps'`` (reuse the
            training steps' records, see above).
    """
    priority = 'HIGH'  # size the table before EMAHook copies the model

    def __init__(self,
                 pipeline: Sequence[dict],
                 interval: int = 5,
                 by_epoch: bool = True,
                 batch_size: int = 256,
                 num_workers: int = 2,
                 mixture: bool = True,
                 mixture_alpha: float = 1.0,
                 num_nearest: Optional[int] = None,
                 seed: int = 0,
                 amp: bool = True,
                 source: str = 'offline'):
        if source not in SOURCES:
            raise ConfigError(f'CoCalibrationHook: source must be one of {SOURCES}, '
                              f'got {source!r}')
        self.source = source
        self.pipeline = Compose(pipeline)
        self.amp = amp
        self.interval = interval
        self.by_epoch = by_epoch
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.mixture = PrototypeMixture(mixture_alpha, num_nearest) if mixture else None
        self.seed = seed
        self._labels: Optional[List[torch.Tensor]] = None  # (labeled, unlabeled) ground truth

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    @classmethod
    def _co_calibration(cls, runner) -> CoCalibration:
        co = getattr(cls._model(runner), 'co_calibration', None)
        if not isinstance(co, CoCalibration):
            raise ConfigError(f'CoCalibrationHook needs a model with a CoCalibration '
                              f'(SsCL), got {type(cls._model(runner)).__name__}')
        return co

    def before_run(self, runner) -> None:
        """Size the table before EMAHook copies the model (a test run loads its size with
        the checkpoint instead, without building the training set)."""
        if is_training(runner):
            semi = runner.train_dataloader.dataset
            self._co_calibration(runner).init_table(len(semi.unlabeled))
            if self.source == 'steps':
                self._model(runner).init_step_records(len(semi.labeled), len(semi.unlabeled))

    def before_train(self, runner) -> None:
        if not bool(self._co_calibration(runner).prototypes_ready):
            self.refresh(runner)

    def after_train_epoch(self, runner) -> None:
        last = runner.epoch + 1 >= runner.max_epochs  # nothing left to train with it
        if self.by_epoch and self.every_n_epochs(runner, self.interval) and not last:
            self.refresh(runner)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        last = runner.iter + 1 >= runner.max_iters
        if not self.by_epoch and self.every_n_train_iters(runner, self.interval) and not last:
            self.refresh(runner)

    # ---- the refresh ----------------------------------------------------------------------
    def _embed(self, runner, model, dataset, desc: str, assign: bool) -> Dict[str, torch.Tensor]:
        """Embed a dataset through the test pipeline: per sample ``gt_label`` and, with
        ``assign``, its :meth:`CoCalibration.calibrate_and_assign` row, else its embedding
        ``z`` (the rows keep ImageNet's unlabeled pass O(N) in memory)."""
        runner.logger.info(f'CoCalibrationHook: embedding the {desc} set ({len(dataset)})')

        def rows(data: dict) -> Dict[str, torch.Tensor]:
            with bf16_autocast(data['inputs'].device, self.amp):
                z, probs = model.embed(data['inputs'])
            z, probs = z.float(), probs.float()
            row = dict(gt_label=data['data_samples']['gt_label'])
            row.update(model.co_calibration.calibrate_and_assign(probs, z) if assign else dict(z=z))
            return row

        loader = inference_loader(
            PipelineView(dataset, self.pipeline), self.batch_size, self.num_workers)
        return embed_dataset(model.data_preprocessor, loader, rows, len(dataset))

    @torch.no_grad()
    def _mixed_sums(self, model, labeled, unlabeled, pairs: np.ndarray,
                    device) -> torch.Tensor:
        """Per-class sums (C, D) of the E_q embeddings of the mixed images (eq. 4); each rank
        embeds every world_size-th pair."""
        sums = torch.zeros_like(model.co_calibration.prototypes, device=device)
        shard = pairs[get_rank()::get_world_size()]
        if len(shard):
            dataset = MixturePairs(
                PipelineView(labeled, self.pipeline), PipelineView(unlabeled, self.pipeline),
                shard)
            for batch in inference_loader(dataset, self.batch_size, self.num_workers,
                                          shard=False):
                images = PrototypeMixture.mix(model.data_preprocessor, batch)
                with bf16_autocast(images.device, self.amp):
                    z, _ = model.embed(images)
                sums.index_add_(0, batch['cls'].to(device), z.float())
        all_reduce(sums, op='sum')
        return sums

    def refresh(self, runner) -> None:
        """Recompute prototypes and the pseudo-label table on every rank."""
        start = time.perf_counter()
        model, co = self._model(runner), self._co_calibration(runner)
        # Every rank embeds its shard with the same, rank-averaged BN statistics.
        sync_bn_statistics(model)
        was_training = model.training
        model.eval()
        semi = runner.train_dataloader.dataset
        records = co.step_records
        from_steps = self.source == 'steps' and records.complete()

        if from_steps:
            labels, unl = self._from_records(records, semi)
            lab_z = records.labeled_embed.float()
        else:
            lab = self._embed(runner, model, semi.labeled, 'labeled', assign=False)
            labels, lab_z = lab['gt_label'], lab['z']
        co.update_prototypes(labels, lab_z)
        if not from_steps:
            # The order of docs/method.md: the table (step 2) and Ω_c (step 3) both use the
            # labeled-only prototypes of this refresh; the mixture then refines the
            # prototypes the step uses.
            unl = self._embed(runner, model, semi.unlabeled, 'unlabeled', assign=True)
            if records.enabled:
                records.fill(lab_z, unl['assigned'], unl['nearest'], unl['sim_assigned'])
        if self.mixture:
            pairs = self.mixture.draw_pairs(labels.cpu().numpy(), unl['assigned'].cpu().numpy(),
                                            unl['sim_assigned'].cpu().numpy(), co.num_classes,
                                            self.seed + runner.iter)
            mixed = self._mixed_sums(model, semi.labeled, semi.unlabeled, pairs, lab_z.device)
            co.update_prototypes(labels, lab_z, mixed)
        co.set_pseudo_labels(unl['assigned'])
        model.train(was_training)
        source = "the training steps' records" if from_steps else 'embedding both sets'
        self._log(runner, unl, lab_z, time.perf_counter() - start, source)

    def _from_records(self, records, semi) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Labeled labels (N_l,) and the unlabeled rows of :meth:`_embed` from the records
        (ground truth read from the datasets' annotations, no image decoded)."""
        if self._labels is None:
            self._labels = [
                torch.from_numpy(d.get_gt_labels()) for d in (semi.labeled, semi.unlabeled)
            ]
        device = records.assigned.device
        labels, gt = (t.to(device) for t in self._labels)
        return labels, dict(
            assigned=records.assigned.clone(),
            nearest=records.nearest.clone(),
            sim_assigned=records.sim_assigned.clone(),
            gt_label=gt)

    @staticmethod
    def _log(runner, unl: Dict[str, torch.Tensor], lab_z: torch.Tensor, seconds: float,
             source: str) -> None:
        """Refresh time, the mean pairwise cosine of the labeled embeddings (1 when the
        embedding has collapsed to one point, near 0 when spread) and the Table 5
        diagnostics where the unlabeled ground truth is known."""
        runner.message_hub.update_scalar('train/refresh_time', seconds)
        stats = dict(embed_mean_cos=float(mean_pairwise_cosine(lab_z)))
        known = unl['gt_label'] >= 0
        if known.any():
            stats.update(
                pseudo_label_diagnostics(unl['assigned'][known], unl['nearest'][known],
                                         unl['gt_label'][known]))
        for k, v in stats.items():
            runner.message_hub.update_scalar(f'train/refresh_{k}', v)
        runner.logger.info(f'CoCalibrationHook: refresh from {source} took {seconds:.1f} s, ' +
                           ', '.join(f'refresh_{k}: {v:.2f}' for k, v in stats.items()))
