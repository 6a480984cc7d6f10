"""Metrics over every threshold at once: precision-recall and ROC curves, average precision, ROC AUC.

These take one real-valued score per sample for the positive class (a probability, a logit or any
other score: only the order matters, as in scikit-learn). The sort and the running counts run in
torch on the scores' device; the curves come back as numpy arrays equal to scikit-learn's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ._checks import ArrayLike, UndefinedMetricWarning, check_scores, warn


def binary_clf_curve(
    positive: torch.Tensor, scores: torch.Tensor
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True and false positive counts at each distinct score, highest score first.

    With the rule ``score >= threshold`` -> positive, ``tps[i]``/``fps[i]`` are the counts at
    ``thresholds[i]``.
    """
    sorted_scores, order = torch.sort(scores, descending=True, stable=True)
    is_pos = positive[order]
    last_of_run = torch.nonzero(sorted_scores[1:] != sorted_scores[:-1]).flatten()
    idx = torch.cat([last_of_run, last_of_run.new_tensor([len(scores) - 1])])
    tps = torch.cumsum(is_pos, 0, dtype=torch.int64)[idx]
    thresholds = sorted_scores[idx]
    idx_np, tps_np = idx.cpu().numpy(), tps.cpu().numpy()
    return tps_np, 1 + idx_np - tps_np, thresholds.cpu().numpy()


def precision_recall_curve(
    y_true: ArrayLike, scores: ArrayLike, *, pos_label: Any = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall for every threshold on the scores (rule: ``score >= threshold``).

    Same result as ``sklearn.metrics.precision_recall_curve``: thresholds are the distinct scores in
    increasing order; ``precision`` and ``recall`` have one more entry, a final (1.0, 0.0) point
    for "predict nothing positive". Any real scores work (probabilities, logits).

    Parameters
    ----------
    y_true : list, numpy array or tensor, shape (n_samples,)
        True labels, two classes at most.
    scores : list, numpy array or tensor, shape (n_samples,)
        Score of the positive class for each sample, e.g. ``probs[:, 1]``.
    pos_label : int or str, default 1
        The positive class.

    Returns
    -------
    precision, recall, thresholds : numpy arrays

    Examples
    --------
    >>> p, r, t = precision_recall_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> t.tolist(), p.tolist(), r.tolist()
    ([0.1, 0.35, 0.4, 0.8], [0.5, 0.6666666666666666, 0.5, 1.0, 1.0], [1.0, 1.0, 0.5, 0.5, 0.0])
    """
    positive, sc, _ = check_scores(
        y_true, scores, pos_label=pos_label, func="precision_recall_curve", probabilities=False
    )
    tps, fps, thresholds = binary_clf_curve(positive, sc)
    tps_f, fps_f = tps.astype(np.float64), fps.astype(np.float64)
    predicted = tps_f + fps_f
    precision = np.divide(tps_f, predicted, out=np.zeros_like(tps_f), where=predicted != 0)
    if tps[-1] == 0:
        warn(
            "y_true has no positive samples, so recall is undefined; it is set to 1.0 at every threshold.",
            UndefinedMetricWarning,
        )
        recall = np.ones_like(tps_f)
    else:
        recall = tps_f / tps_f[-1]
    return (
        np.concatenate([precision[::-1], [1.0]]),
        np.concatenate([recall[::-1], [0.0]]),
        thresholds[::-1].copy(),
    )


def roc_curve(
    y_true: ArrayLike, scores: ArrayLike, *, pos_label: Any = 1, drop_intermediate: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False and true positive rates for every threshold (the ROC curve), like scikit-learn's.

    Parameters
    ----------
    y_true, scores : list, numpy array or tensor, shape (n_samples,)
        True labels (two classes at most) and the positive class's scores.
    pos_label : int or str, default 1
        The positive class.
    drop_intermediate : bool, default True
        Leave out thresholds whose point lies on a straight segment (the area is unchanged).

    Returns
    -------
    fpr, tpr, thresholds : numpy arrays; ``thresholds[0]`` is ``inf`` (nothing predicted positive).

    Examples
    --------
    >>> fpr, tpr, t = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    positive, sc, _ = check_scores(y_true, scores, pos_label=pos_label, func="roc_curve", probabilities=False)
    return _roc(positive, sc, drop_intermediate=drop_intermediate)


def _roc(
    positive: torch.Tensor, scores: torch.Tensor, *, drop_intermediate: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tps, fps, thresholds = binary_clf_curve(positive, scores)
    tps, fps = tps.astype(np.float64), fps.astype(np.float64)
    if drop_intermediate and len(fps) > 2:
        corner = np.logical_or(np.diff(fps, 2), np.diff(tps, 2))
        keep = np.flatnonzero(np.concatenate([[True], corner, [True]]))
        tps, fps, thresholds = tps[keep], fps[keep], thresholds[keep]
    tps, fps = np.concatenate([[0.0], tps]), np.concatenate([[0.0], fps])
    thresholds = np.concatenate([[np.inf], thresholds.astype(np.float64)])
    rates = []
    for counts, kind, rate in (
        (fps, "negative", "false positive rate"),
        (tps, "positive", "true positive rate"),
    ):
        if counts[-1] <= 0:
            warn(
                f"y_true has no {kind} samples, so the {rate} is undefined (set to NaN).",
                UndefinedMetricWarning,
            )
            rates.append(np.full(counts.shape, np.nan))
        else:
            rates.append(counts / counts[-1])
    return rates[0], rates[1], thresholds


def roc_auc_score(y_true: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve: the chance that a random positive scores above a random negative.

    Binary only; the larger of the two labels is the positive class (as in scikit-learn). 0.5 is
    a coin toss, 1.0 a perfect ranking. Any real scores work. With one class in ``y_true`` the area
    is undefined: it warns and returns NaN, like scikit-learn.

    Examples
    --------
    >>> roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    positive, sc, n_classes = check_scores(
        y_true, scores, pos_label=None, func="roc_auc_score", probabilities=False
    )
    if n_classes != 2:
        warn(
            "y_true holds only one class, so the ROC AUC is undefined; returning NaN.",
            UndefinedMetricWarning,
        )
        return math.nan
    fpr, tpr, _ = _roc(positive, sc, drop_intermediate=True)
    return float(np.trapezoid(tpr, fpr))


def average_precision_score(y_true: ArrayLike, scores: ArrayLike, *, pos_label: Any = 1) -> float:
    """Average precision: precision averaged over the recall levels of the precision-recall curve.

    Equals ``sum((R[n] - R[n-1]) * P[n])`` (no interpolation), like scikit-learn's.

    Examples
    --------
    >>> round(average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
    0.8333
    """
    precision, recall, _ = precision_recall_curve(y_true, scores, pos_label=pos_label)
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))
