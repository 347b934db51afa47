from .accuracy import Accuracy
from .intra_class_similarity import IntraClassSimilarity, intra_class_similarity
from .pseudo_label_diagnostics import PseudoLabelDiagnostics, pseudo_label_diagnostics

__all__ = [
    'Accuracy', 'IntraClassSimilarity', 'PseudoLabelDiagnostics', 'intra_class_similarity',
    'pseudo_label_diagnostics'
]
