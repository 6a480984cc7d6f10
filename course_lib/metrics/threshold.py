"""Choosing a decision threshold on predicted probabilities.

The rule throughout is ``probability >= threshold`` -> positive. These helpers need probabilities
in [0, 1] (not logits), because a threshold such as 0.5 only means something on that scale; they
refuse anything else with a hint to apply ``torch.sigmoid`` or ``softmax`` first. The curve
functions in :mod:`course_lib.metrics.ranking` accept any real score instead.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np
import torch

from ._checks import ArrayLike, UndefinedMetricWarning, check_scores, check_zero_division, warn
from .ranking import binary_clf_curve


def _check_unit_interval(value: Any, name: str) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name}={value!r} must be a number between 0 and 1 (a fraction: 0.9, not 90).")
    return float(value)


def _ratio(num: int, den: int, name: str, zero_division: Any) -> float:
    if den:
        return num / den
    if zero_division == "warn":
        warn(
            f"{name.capitalize()} is undefined (0/0) at this threshold; it is set to 0.0. Pass "
            f"zero_division=0, 1 or np.nan to choose the value and silence this warning.",
            UndefinedMetricWarning,
        )
    return check_zero_division(zero_division)


def metrics_at_threshold(
    y_true: ArrayLike,
    scores: ArrayLike,
    threshold: float,
    *,
    pos_label: Any = 1,
    zero_division: str | float = 0,
) -> dict[str, float | int]:
    """Confusion counts and scores when samples with ``score >= threshold`` are called positive.

    Parameters
    ----------
    y_true : list, numpy array or tensor, shape (n_samples,)
        True labels, two classes at most.
    scores : list, numpy array or tensor, shape (n_samples,)
        Probability of the positive class for each sample, in [0, 1] (e.g. ``probs[:, 1]``).
    threshold : float in [0, 1]
        The decision threshold.
    pos_label : int or str, default 1
        The positive class.
    zero_division : {'warn', 0, 1, np.nan}, default 0
        Value for a 0/0 score (e.g. precision when nothing is predicted positive). The default is
        a silent 0 so a threshold slider does not warn at its ends.

    Returns
    -------
    dict
        ``threshold, tp, fp, fn, tn`` (ints but the threshold) and ``accuracy, precision, recall, f1``
        (plain Python floats).

    Examples
    --------
    >>> m = metrics_at_threshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.5)
    >>> m["tp"], m["fp"], m["fn"], m["tn"], m["precision"], m["recall"]
    (1, 0, 1, 2, 1.0, 0.5)
    """
    threshold = _check_unit_interval(threshold, "threshold")
    check_zero_division(zero_division)
    positive, sc, _ = check_scores(
        y_true, scores, pos_label=pos_label, func="metrics_at_threshold", probabilities=True
    )
    cell = positive.to(torch.int64) * 2 + (sc >= threshold).to(torch.int64)
    tn, fp, fn, tp = torch.bincount(cell, minlength=4).tolist()
    return {
        "threshold": threshold,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "accuracy": (tp + tn) / (tp + fp + fn + tn),
        "precision": _ratio(tp, tp + fp, "precision", zero_division),
        "recall": _ratio(tp, tp + fn, "recall", zero_division),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn, "F1", zero_division),
    }


def _curve_with_positives(y_true: ArrayLike, scores: ArrayLike, pos_label: Any, func: str):
    positive, sc, _ = check_scores(y_true, scores, pos_label=pos_label, func=func, probabilities=True)
    tps, fps, thresholds = binary_clf_curve(positive, sc)
    if tps[-1] == 0:
        raise ValueError(
            f"{func}: y_true has no samples of the positive class (pos_label={pos_label!r}), so recall is "
            f"undefined; check pos_label or use data that contains positives."
        )
    return tps, fps, thresholds


def threshold_for_recall(
    y_true: ArrayLike, scores: ArrayLike, target_recall: float, *, pos_label: Any = 1
) -> float:
    """The highest threshold whose recall is at least ``target_recall``.

    Raising the threshold can only lose positives, so this is the strictest rule that still finds
    the share of positives you need (and so usually the one with the fewest false alarms).

    Parameters
    ----------
    y_true, scores : list, numpy array or tensor, shape (n_samples,)
        True labels and positive-class probabilities in [0, 1].
    target_recall : float in [0, 1]
        The recall to reach, e.g. 0.95 to miss at most 5% of positives.
    pos_label : int or str, default 1
        The positive class.

    Returns
    -------
    float
        One of the scores; ``metrics_at_threshold`` at this value has ``recall >= target_recall``.

    Examples
    --------
    >>> threshold_for_recall([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 1.0)
    0.35
    """
    target = _check_unit_interval(target_recall, "target_recall")
    tps, _, thresholds = _curve_with_positives(y_true, scores, pos_label, "threshold_for_recall")
    recall = tps / tps[-1]
    first = int(np.argmax(recall >= target))  # recall grows as the threshold falls; the last entry is 1.0
    return float(thresholds[first])


def best_f1_threshold(y_true: ArrayLike, scores: ArrayLike, *, pos_label: Any = 1) -> float:
    """The threshold with the highest F1 score (ties go to the highest threshold).

    Parameters
    ----------
    y_true, scores : list, numpy array or tensor, shape (n_samples,)
        True labels and positive-class probabilities in [0, 1].
    pos_label : int or str, default 1
        The positive class.

    Returns
    -------
    float
        One of the scores; pass it to :func:`metrics_at_threshold` to see its F1 and the rest.

    Examples
    --------
    >>> best_f1_threshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.35
    """
    tps, fps, thresholds = _curve_with_positives(y_true, scores, pos_label, "best_f1_threshold")
    f1 = 2 * tps / (tps + fps + tps[-1])  # 2 TP / (2 TP + FP + FN), as FN = P - TP; P > 0 here
    return float(thresholds[int(np.argmax(f1))])  # argmax takes the first maximum: the highest threshold
