"""What the training steps computed per sample, kept for a refresh that reuses it."""
import torch
import torch.nn as nn
from mmengine.dist import all_gather

from sscl.utils.errors import DataError


class StepRecords(nn.Module):
    """The latest per-sample outputs of the training steps, indexed by dataset sample index.

    Per labeled sample: its E_q embedding ``labeled_embed`` (N_l, D), stored in bfloat16.
    Per unlabeled sample: ``assigned`` (N_u,), the argmax of its calibrated pseudo label;
    ``nearest`` (N_u,), its nearest prototype; ``sim_assigned`` (N_u,), its cosine to the
    prototype of ``assigned`` (−1 / 0 where never recorded). Every rank writes every rank's
    batch (one all-gather per step), so the buffers are identical on all ranks and the
    checkpoint (written by rank 0) holds them whole.

    Empty and off until :meth:`resize` (CoCalibrationHook with ``source='steps'``); a
    checkpoint's records load with their own size (``CoCalibration.resizable_buffers``) but
    do not switch recording on.

    Args:
        dim: embedding size D.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.enabled = False
        self.register_buffer('labeled_embed', torch.zeros(0, dim, dtype=torch.bfloat16))
        self.register_buffer('assigned', torch.zeros(0, dtype=torch.long))
        self.register_buffer('nearest', torch.zeros(0, dtype=torch.long))
        self.register_buffer('sim_assigned', torch.zeros(0))

    def resize(self, num_labeled: int, num_unlabeled: int) -> None:
        """Size the records for the datasets (kept if already of that size) and record."""
        if max(num_labeled, num_unlabeled) >= 2**24:
            raise DataError('StepRecords gathers sample indices as float32: at most 2**24 '
                            f'samples, got {max(num_labeled, num_unlabeled)}')
        self.enabled = True
        dev = self.assigned.device
        if self.labeled_embed.size(0) != num_labeled:
            self.labeled_embed = self.labeled_embed.new_zeros(num_labeled,
                                                              self.labeled_embed.size(1))
        if self.assigned.numel() != num_unlabeled:
            self.assigned = torch.full((num_unlabeled, ), -1, dtype=torch.long, device=dev)
            self.nearest = torch.full((num_unlabeled, ), -1, dtype=torch.long, device=dev)
            self.sim_assigned = torch.zeros(num_unlabeled, device=dev)

    def complete(self) -> bool:
        """Whether every sample has a record (reads the device: call outside the step)."""
        if self.assigned.numel() == 0:
            return False
        labeled = bool((self.labeled_embed.float().abs().sum(dim=1) > 0).all())
        return labeled and bool((self.assigned >= 0).all())

    @torch.no_grad()
    def fill(self, labeled_embed: torch.Tensor, assigned: torch.Tensor, nearest: torch.Tensor,
             sim_assigned: torch.Tensor) -> None:
        """Overwrite every record (a refresh that embedded the whole datasets)."""
        self.labeled_embed.copy_(labeled_embed)
        self.assigned.copy_(assigned)
        self.nearest.copy_(nearest)
        self.sim_assigned.copy_(sim_assigned)

    @torch.no_grad()
    def record(self, labeled_idx: torch.Tensor, labeled_embed: torch.Tensor,
               unlabeled_idx: torch.Tensor, assigned: torch.Tensor, nearest: torch.Tensor,
               sim_assigned: torch.Tensor) -> None:
        """Record one step of every rank (device-side: no host synchronisation).

        Args:
            labeled_idx (B,), labeled_embed (B, D): the labeled samples' E_q embeddings.
            unlabeled_idx (μB,), assigned, nearest, sim_assigned (μB,): the unlabeled
                samples' :meth:`CoCalibration.assign_calibrated`.
        """
        # Two gathers per step: indices (< 2**24) and classes travel exactly as float32.
        labeled = torch.cat([labeled_idx[:, None].float(), labeled_embed.detach().float()], 1)
        unlabeled = torch.stack(
            [unlabeled_idx.float(),
             assigned.float(),
             nearest.float(),
             sim_assigned.float()], 1)
        labeled, unlabeled = (torch.cat(all_gather(t)) for t in (labeled, unlabeled))
        self.labeled_embed.index_copy_(0, labeled[:, 0].long(),
                                       labeled[:, 1:].to(self.labeled_embed.dtype))
        idx = unlabeled[:, 0].long()
        self.assigned.index_copy_(0, idx, unlabeled[:, 1].long())
        self.nearest.index_copy_(0, idx, unlabeled[:, 2].long())
        self.sim_assigned.index_copy_(0, idx, unlabeled[:, 3])
