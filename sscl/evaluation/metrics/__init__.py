from .accuracy import Accuracy
from .intra_class_similarity import IntraClassSimilarity, intra_class_similarity
from .per_class_accuracy import PerClassAccuracy, confusion_matrix
from .pseudo_label_diagnostics import PseudoLabelDiagnostics, pseudo_label_diagnostics

__all__ = [
    'Accuracy', 'IntraClassSimilarity', 'PerClassAccuracy', 'PseudoLabelDiagnostics',
    'confusion_matrix', 'intra_class_similarity', 'pseudo_label_diagnostics'
]
