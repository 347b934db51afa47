from .cross_entropy_loss import CrossEntropyLoss
from .pseudo_label_loss import PseudoLabelCrossEntropyLoss

__all__ = ['CrossEntropyLoss', 'PseudoLabelCrossEntropyLoss']
