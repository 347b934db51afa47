from .cross_entropy_loss import CrossEntropyLoss
from .multi_pos_margin_contrastive_loss import MultiPosMarginContrastiveLoss
from .pseudo_label_loss import PseudoLabelCrossEntropyLoss

__all__ = ['CrossEntropyLoss', 'MultiPosMarginContrastiveLoss', 'PseudoLabelCrossEntropyLoss']
