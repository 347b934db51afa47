"""Prototype mixture of co-calibration (eq. 4, docs/method.md): Ω_c, λ draws and mixing."""
from typing import Callable, Optional

import numpy as np
import torch
from torch.utils.data import Dataset


class MixturePairs(Dataset):
    """Pairs (labeled image of class c, unlabeled image near proto_c) with their λ and c."""

    def __init__(self, labeled: Dataset, unlabeled: Dataset, pairs: np.ndarray):
        self.labeled, self.unlabeled, self.pairs = labeled, unlabeled, pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> dict:
        li, ui, cls, lam = self.pairs[i]
        return dict(
            a=self.labeled[int(li)]['inputs'],
            b=self.unlabeled[int(ui)]['inputs'],
            cls=int(cls),
            lam=float(lam))


class PrototypeMixture:
    """Each labeled sample of class c is mixed once with a random member of Ω_c, the
    ``num_nearest`` unlabeled samples assigned to c that are nearest proto_c:
    x̂ = λ x_c + (1 − λ) x_near, λ ~ Beta(α, α).

    Args:
        alpha: α of Beta(α, α).
        num_nearest: size of Ω_c; None = the labeled count of c.
    """

    def __init__(self, alpha: float = 1.0, num_nearest: Optional[int] = None):
        self.alpha, self.num_nearest = alpha, num_nearest

    def draw_pairs(self, labels: np.ndarray, assigned: np.ndarray, sim: np.ndarray,
                   num_classes: int, seed: int) -> np.ndarray:
        """Rows (labeled index, unlabeled index, class, λ), identical on every rank.

        Args: labels (N_l,) of the labeled set; assigned (N_u,) and sim (N_u,), the
        unlabeled samples' assigned class and cosine to its prototype; seed of the draws.
        Returns: (n_l, 4) float64.
        """
        rng = np.random.default_rng(seed)
        order = np.lexsort((-sim, assigned))  # by class, nearest first
        starts = np.searchsorted(assigned[order], np.arange(num_classes + 1))
        rows = []
        for c in range(num_classes):
            members = np.flatnonzero(labels == c)
            omega = order[starts[c]:starts[c + 1]][:self.num_nearest or len(members)]
            if len(members) == 0 or len(omega) == 0:
                continue
            near = rng.choice(omega, size=len(members))
            lam = rng.beta(self.alpha, self.alpha, size=len(members))
            rows.append(np.stack([members, near, np.full(len(members), c), lam], axis=1))
        return np.concatenate(rows) if rows else np.zeros((0, 4))

    @staticmethod
    def mix(preprocess: Callable[[dict, bool], dict], batch: dict) -> torch.Tensor:
        """The mixed images (N, 3, H, W) of a :class:`MixturePairs` batch, normalised by
        ``preprocess`` (a data preprocessor): normalisation is affine, so mixing normalised
        pixels mixes raw pixels."""
        a = preprocess(dict(inputs=batch['a']), False)['inputs']
        b = preprocess(dict(inputs=batch['b']), False)['inputs']
        lam = batch['lam'].to(a.device, a.dtype).view(-1, 1, 1, 1)
        return lam * a + (1 - lam) * b
