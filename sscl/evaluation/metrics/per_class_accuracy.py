"""Per-class accuracy, the confusion matrix as a PNG and, optionally, every prediction."""
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric
from mmengine.fileio import dump
from mmengine.logging import print_log

from sscl.registry import METRICS


def confusion_matrix(labels: torch.Tensor, preds: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(K, K) counts: row = true class, column = predicted class."""
    return torch.bincount(labels * num_classes + preds,
                          minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def plot_confusion_matrix(matrix: torch.Tensor, class_names: Sequence[str], out: str) -> None:
    """A heat map of ``matrix`` normalised per true class, counts written in the cells when
    there are at most 20 classes."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    k = matrix.size(0)
    rates = matrix.double() / matrix.sum(dim=1, keepdim=True).clamp(min=1)
    size = min(4 + 0.4 * k, 24)
    fig, ax = plt.subplots(figsize=(size, size))
    image = ax.imshow(rates.numpy(), cmap='Blues', vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label='fraction of the true class')
    if k <= 50:
        ax.set_xticks(range(k), class_names, rotation=90)
        ax.set_yticks(range(k), class_names)
    if k <= 20:
        for i in range(k):
            for j in range(k):
                if matrix[i, j]:
                    ax.text(j, i, int(matrix[i, j]), ha='center', va='center',
                            color='white' if rates[i, j] > 0.5 else 'black', fontsize=8)
    ax.set_xlabel('predicted class')
    ax.set_ylabel('true class')
    ax.set_title(f'confusion matrix ({int(matrix.sum())} samples)')
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)


@METRICS.register_module()
class PerClassAccuracy(BaseMetric):
    """Accuracy of every class, logged as a table, with its mean (``mean_accuracy``).

    Consumes the per-sample dicts of the models' ``predict`` (``pred_score`` (C,),
    ``pred_label``, ``gt_label``, ``sample_idx``). Class names come from the dataset's
    ``classes`` where it has them.

    Args:
        confusion_png: where to write the confusion matrix as a PNG; None = no file.
        dump_file: where to write every sample's ``sample_idx``, ``gt_label``,
            ``pred_label`` and ``pred_score`` (format by suffix: .json/.pkl/.yaml); None =
            no file.
        **kwargs: ``collect_device`` and ``prefix`` of :class:`BaseMetric`.
    """
    default_prefix = 'per_class'

    def __init__(self, confusion_png: Optional[str] = None, dump_file: Optional[str] = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.confusion_png = confusion_png
        self.dump_file = dump_file

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            self.results.append(
                dict(sample_idx=int(sample['sample_idx']), gt_label=int(sample['gt_label']),
                     pred_label=int(sample['pred_label']),
                     pred_score=sample['pred_score'].detach().cpu().float()))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Returns: ``{'mean_accuracy': mean over the classes present of their accuracy}``;
        logs the per-class table and writes the requested files."""
        results = sorted({r['sample_idx']: r for r in results}.values(),
                         key=lambda r: r['sample_idx'])
        num_classes = results[0]['pred_score'].numel()
        names = list((self.dataset_meta or {}).get('classes') or range(num_classes))
        names = [str(n) for n in names]
        labels = torch.tensor([r['gt_label'] for r in results])
        preds = torch.tensor([r['pred_label'] for r in results])
        matrix = confusion_matrix(labels, preds, num_classes)
        counts = matrix.sum(dim=1)
        present = counts > 0
        accuracy = matrix.diag().double() / counts.clamp(min=1) * 100
        width = max(len('class'), *(len(n) for n in names))
        lines = [f'{"class":<{width}}  samples  correct  accuracy (%)']
        lines += [f'{names[k]:<{width}}  {int(counts[k]):>7}  {int(matrix[k, k]):>7}  '
                  + (f'{accuracy[k]:>12.2f}' if present[k] else f'{"-":>12}')
                  for k in range(num_classes)]
        print_log('per-class accuracy:\n' + '\n'.join(lines), logger='current')
        if self.confusion_png:
            plot_confusion_matrix(matrix, names, self.confusion_png)
            print_log(f'wrote the confusion matrix to {self.confusion_png}', logger='current')
        if self.dump_file:
            dump([dict(sample_idx=r['sample_idx'], gt_label=r['gt_label'],
                       pred_label=r['pred_label'], pred_score=r['pred_score'].tolist())
                  for r in results], self.dump_file)
            print_log(f'wrote {len(results)} predictions to {self.dump_file}', logger='current')
        return {'mean_accuracy': accuracy[present].mean().item()}
