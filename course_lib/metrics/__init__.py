"""Classification metrics computed in torch, with scikit-learn's names, arguments and results.

What you learn here carries over to ``sklearn.metrics`` unchanged, while the counting runs in torch
on the tensors' device (GPU tensors stay on the GPU). Inputs may be Python lists, numpy arrays or
torch tensors; scalar results are Python floats, tables are numpy arrays.

>>> from course_lib.metrics import confusion_matrix, precision_score, recall_score
>>> y_true = [1] * 100 + [0] * 100                          # 100 positives, 100 negatives
>>> y_pred = [1] * 80 + [0] * 20 + [1] * 10 + [0] * 90      # TP 80, FN 20, FP 10, TN 90
>>> round(precision_score(y_true, y_pred), 2), recall_score(y_true, y_pred)
(0.89, 0.8)

Modules: ``confusion`` (the confusion matrix and label counting), ``classification`` (accuracy,
precision, recall, F-scores), ``report`` (``classification_report``), ``ranking`` (curves and areas
over all thresholds), ``threshold`` (choosing a threshold on probabilities) and ``calibration`` (do the
probabilities mean what they say; undoing a rebalanced training prior).
"""

from ._checks import UndefinedMetricWarning
from .calibration import calibration_curve, expected_calibration_error, prior_correction
from .classification import (
    accuracy_score,
    f1_score,
    fbeta_score,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
)
from .confusion import confusion_matrix
from .ranking import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve
from .report import classification_report
from .threshold import best_f1_threshold, metrics_at_threshold, threshold_for_recall

__all__ = [
    "UndefinedMetricWarning",
    "accuracy_score",
    "average_precision_score",
    "best_f1_threshold",
    "calibration_curve",
    "classification_report",
    "confusion_matrix",
    "expected_calibration_error",
    "f1_score",
    "fbeta_score",
    "metrics_at_threshold",
    "precision_recall_curve",
    "precision_recall_fscore_support",
    "precision_score",
    "prior_correction",
    "recall_score",
    "roc_auc_score",
    "roc_curve",
    "threshold_for_recall",
]
