"""Accuracy, precision, recall and F-scores from predicted class labels.

One core routine, :func:`precision_recall_fscore_support`, turns the label counts into scores;
``precision_score``, ``recall_score``, ``f1_score`` and ``fbeta_score`` are thin wrappers around it,
as in scikit-learn, whose names, argument order and results these functions share.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from numbers import Real
from typing import Any

import numpy as np
import torch

from ._checks import (
    ArrayLike,
    UndefinedMetricWarning,
    check_average,
    check_labels,
    check_pos_label,
    check_targets,
    check_zero_division,
    warn,
)
from .confusion import count_labels

_ALL_METRICS = ("precision", "recall", "f-score")


def accuracy_score(y_true: ArrayLike, y_pred: ArrayLike, *, normalize: bool = True) -> float:
    """Fraction of samples whose predicted label equals the true label.

    Parameters
    ----------
    y_true, y_pred : list, numpy array or tensor, shape (n_samples,)
        True and predicted class labels.
    normalize : bool, default True
        If False, return the number of correct predictions instead of the fraction.

    Returns
    -------
    float

    Examples
    --------
    >>> y_true = [1] * 100 + [0] * 100
    >>> y_pred = [1] * 80 + [0] * 20 + [1] * 10 + [0] * 90
    >>> accuracy_score(y_true, y_pred)   # (80 + 90) / 200
    0.85
    """
    targets = check_targets(y_true, y_pred)
    correct = int(torch.count_nonzero(targets.y_true == targets.y_pred))
    return correct / len(targets.y_true) if normalize else float(correct)


def _divide(
    numerator: np.ndarray,
    denominator: np.ndarray,
    *,
    metric: str,
    reason: str,
    names: list[str] | None,
    warn_for: Collection[str],
    zero_division: Any,
) -> np.ndarray:
    """numerator / denominator; 0/0 entries get ``zero_division`` (and a warning if it is 'warn')."""
    mask = denominator == 0
    denominator = np.asarray(denominator, dtype=np.float64).copy()
    denominator[mask] = 1
    result = np.asarray(numerator, dtype=np.float64) / denominator
    if not mask.any():
        return result
    result[mask] = check_zero_division(zero_division)
    if zero_division == "warn" and metric in warn_for:
        where = "" if names is None else f" for labels {[n for n, m in zip(names, mask, strict=True) if m]}"
        warn(
            f"{metric.capitalize()} is undefined (0/0){where}: there are {reason}. It is set to 0.0; "
            f"pass zero_division=0, 1 or np.nan to choose the value and silence this warning.",
            UndefinedMetricWarning,
        )
    return result


def _nanaverage(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Average ignoring NaN (from zero_division=np.nan); weights summing to 0 are ignored."""
    mask = np.isnan(values)
    if values.size == 0 or mask.all():
        return math.nan
    if weights is None:
        return float(np.nanmean(values))
    values, weights = values[~mask], weights[~mask]
    if weights.sum() == 0:
        return float(np.average(values))
    return float(np.average(values, weights=weights))


def scores_from_counts(
    tp: np.ndarray,
    true_sum: np.ndarray,
    pred_sum: np.ndarray,
    *,
    average: str | None,
    beta: float = 1.0,
    names: list[str] | None = None,
    warn_for: Collection[str] = _ALL_METRICS,
    zero_division: Any = "warn",
) -> tuple[Any, Any, Any, np.ndarray | None]:
    """Precision, recall, F-beta and support from per-label counts (scikit-learn's formulas)."""
    if average == "micro":
        tp, true_sum, pred_sum = (np.array([a.sum()]) for a in (tp, true_sum, pred_sum))
        names = None
    opts = {"names": names, "warn_for": warn_for, "zero_division": zero_division}
    precision = _divide(tp, pred_sum, metric="precision", reason="no predicted samples", **opts)
    recall = _divide(tp, true_sum, metric="recall", reason="no true samples", **opts)
    if math.isinf(beta):
        f_score = recall
    elif beta == 0:
        f_score = precision
    else:
        beta2 = beta**2
        f_score = _divide(
            (1 + beta2) * tp.astype(np.float64),
            beta2 * true_sum.astype(np.float64) + pred_sum.astype(np.float64),
            metric="f-score",
            reason="neither true nor predicted samples",
            **opts,
        )
    if average is None:
        return precision, recall, f_score, true_sum
    weights = true_sum if average == "weighted" else None
    return _nanaverage(precision, weights), _nanaverage(recall, weights), _nanaverage(f_score, weights), None


def precision_recall_fscore_support(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    beta: float = 1.0,
    labels: ArrayLike | None = None,
    pos_label: Any = 1,
    average: str | None = None,
    warn_for: Collection[str] = _ALL_METRICS,
    zero_division: str | float = "warn",
) -> tuple[Any, Any, Any, np.ndarray | None]:
    """Precision, recall, F-beta score and support, per label or averaged.

    Precision = TP / (TP + FP): of the samples predicted as a class, the share that are right.
    Recall = TP / (TP + FN): of the samples of a class, the share that are found.
    F-beta = (1 + beta**2) * TP / ((1 + beta**2) * TP + beta**2 * FN + FP); beta=1 gives F1, the
    harmonic mean of precision and recall. Support is the number of true samples per label.

    Parameters
    ----------
    y_true, y_pred : list, numpy array or tensor, shape (n_samples,)
        True and predicted class labels.
    beta : float, default 1.0
        Weight of recall against precision in the F-score.
    labels : list, optional
        Labels to score (default: all labels that occur), in this order for ``average=None``.
    pos_label : int or str, default 1
        The positive class when ``average='binary'``; ignored (with a warning) otherwise.
    average : {'binary', 'micro', 'macro', 'weighted'} or None, default None
        None returns one score per label. 'binary' scores ``pos_label`` only (two-class data);
        'micro' pools the counts of all labels; 'macro' is the plain mean of the per-label scores;
        'weighted' weights that mean by support.
    warn_for : collection of {'precision', 'recall', 'f-score'}
        Which 0/0 cases warn when ``zero_division='warn'``.
    zero_division : {'warn', 0, 1, np.nan}, default 'warn'
        Value used when a score is 0/0; 'warn' uses 0.0 and warns with ``UndefinedMetricWarning``.

    Returns
    -------
    precision, recall, fbeta : float, or numpy arrays when ``average=None``
    support : numpy int64 array when ``average=None``, else None

    Examples
    --------
    >>> y_true = [1] * 100 + [0] * 100
    >>> y_pred = [1] * 80 + [0] * 20 + [1] * 10 + [0] * 90
    >>> p, r, f1, _ = precision_recall_fscore_support(y_true, y_pred, average="binary")
    >>> round(p, 2), round(r, 2), round(f1, 3)   # 80/90, 80/100, 2*80/(2*80+10+20)
    (0.89, 0.8, 0.842)
    """
    check_average(average)
    check_zero_division(zero_division)
    targets = check_targets(y_true, y_pred)
    wanted = check_labels(labels, targets.classes)
    counts = count_labels(targets, need_matrix=False)

    if average == "binary":
        if len(counts.labels) > 2:
            raise ValueError(
                f"y_true and y_pred hold {len(counts.labels)} classes but average='binary' scores one "
                f"positive class of two. Pick an average for several classes: 'macro', 'weighted', 'micro' "
                f"or None (one score per class)."
            )
        pos = check_pos_label(pos_label, targets.classes)
        present = counts.labels.tolist()
        if pos not in present and len(present) == 2:
            raise ValueError(f"pos_label={pos_label!r} is not a valid label; it should be one of {present}.")
        wanted = np.array([pos])
    elif pos_label not in (None, 1):
        warn(
            f"pos_label={pos_label!r} only matters for average='binary' and is ignored for "
            f"average={average!r}. To score that one class use labels=[{pos_label!r}].",
            UserWarning,
        )

    tp, true_sum, pred_sum = counts.select(wanted)
    names = [str(v) for v in (counts.labels if wanted is None else wanted)]
    return scores_from_counts(
        tp,
        true_sum,
        pred_sum,
        average=average,
        beta=beta,
        names=names,
        warn_for=warn_for,
        zero_division=zero_division,
    )


def precision_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    pos_label: Any = 1,
    average: str | None = "binary",
    zero_division: str | float = "warn",
) -> Any:
    """Precision TP / (TP + FP): how many of the predicted positives are right.

    Arguments as in :func:`precision_recall_fscore_support`. Returns a float, or a numpy array
    per label when ``average=None``.

    Examples
    --------
    >>> y_true = [1] * 100 + [0] * 100
    >>> y_pred = [1] * 80 + [0] * 20 + [1] * 10 + [0] * 90
    >>> round(precision_score(y_true, y_pred), 2)   # 80 / (80 + 10)
    0.89
    """
    p, _, _, _ = precision_recall_fscore_support(
        y_true,
        y_pred,
        labels=labels,
        pos_label=pos_label,
        average=average,
        warn_for=("precision",),
        zero_division=zero_division,
    )
    return p


def recall_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    pos_label: Any = 1,
    average: str | None = "binary",
    zero_division: str | float = "warn",
) -> Any:
    """Recall TP / (TP + FN): how many of the real positives are found.

    Arguments as in :func:`precision_recall_fscore_support`. Returns a float, or a numpy array
    per label when ``average=None``.

    Examples
    --------
    >>> y_true = [1] * 100 + [0] * 100
    >>> y_pred = [1] * 80 + [0] * 20 + [1] * 10 + [0] * 90
    >>> recall_score(y_true, y_pred)   # 80 / (80 + 20)
    0.8
    """
    _, r, _, _ = precision_recall_fscore_support(
        y_true,
        y_pred,
        labels=labels,
        pos_label=pos_label,
        average=average,
        warn_for=("recall",),
        zero_division=zero_division,
    )
    return r


def fbeta_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    beta: float,
    labels: ArrayLike | None = None,
    pos_label: Any = 1,
    average: str | None = "binary",
    zero_division: str | float = "warn",
) -> Any:
    """F-beta score: beta > 1 favours recall, beta < 1 favours precision.

    Arguments as in :func:`precision_recall_fscore_support`.

    Examples
    --------
    >>> y_true = [1] * 100 + [0] * 100
    >>> y_pred = [1] * 80 + [0] * 20 + [1] * 10 + [0] * 90
    >>> round(fbeta_score(y_true, y_pred, beta=2), 3)   # 5*80 / (5*80 + 4*20 + 10)
    0.816
    """
    if not isinstance(beta, Real) or isinstance(beta, bool) or not beta >= 0:
        raise ValueError(f"beta={beta!r} must be a number >= 0 (1 gives F1).")
    _, _, f, _ = precision_recall_fscore_support(
        y_true,
        y_pred,
        beta=beta,
        labels=labels,
        pos_label=pos_label,
        average=average,
        warn_for=("f-score",),
        zero_division=zero_division,
    )
    return f


def f1_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    pos_label: Any = 1,
    average: str | None = "binary",
    zero_division: str | float = "warn",
) -> Any:
    """F1 score, the harmonic mean of precision and recall: 2 TP / (2 TP + FP + FN).

    Arguments as in :func:`precision_recall_fscore_support`. Returns a float, or a numpy array
    per label when ``average=None``.

    Examples
    --------
    >>> y_true = [1] * 100 + [0] * 100
    >>> y_pred = [1] * 80 + [0] * 20 + [1] * 10 + [0] * 90
    >>> round(f1_score(y_true, y_pred), 3)   # 2*80 / (2*80 + 10 + 20)
    0.842
    """
    return fbeta_score(
        y_true,
        y_pred,
        beta=1.0,
        labels=labels,
        pos_label=pos_label,
        average=average,
        zero_division=zero_division,
    )
