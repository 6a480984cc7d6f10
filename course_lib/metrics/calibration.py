"""Calibration: do the predicted probabilities mean what they say?

A model is *calibrated* when, of all the samples it gives a score of about 0.3, about 30% are positive.
Ranking metrics (ROC-AUC, average precision) cannot see this: they only use the order of the scores.
Training on rebalanced data (``sampler="balanced"``, class weights) teaches the model a different prior,
so its scores come out too high on the real, imbalanced data; :func:`prior_correction` undoes that
without changing the order of the scores.

``calibration_curve`` returns what ``sklearn.calibration.calibration_curve`` returns (same bins, same
arguments). The binning runs in numpy on the CPU (it is one pass over the scores).
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
import torch

from ._checks import ArrayLike, _as_numpy_or_tensor, _check_1d, check_scores

__all__ = ["calibration_curve", "expected_calibration_error", "prior_correction"]

_STRATEGIES = ("uniform", "quantile")


def _check_bins(n_bins: Any, strategy: Any) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, Integral) or n_bins < 1:
        raise ValueError(f"n_bins={n_bins!r} must be a whole number of bins, at least 1 (e.g. n_bins=10).")
    if not isinstance(strategy, str) or strategy not in _STRATEGIES:
        raise ValueError(
            f"strategy={strategy!r} is not supported; use 'uniform' (bins of equal width) or 'quantile' "
            f"(bins holding equally many samples)."
        )
    return int(n_bins)


def _binary_positive(y_true: ArrayLike, y_prob: ArrayLike, pos_label: Any, func: str):
    """Checked ``(is_positive, y_prob)`` as numpy arrays; ``pos_label=None`` means 1 for 0/1 or -1/1 labels."""
    if pos_label is None:
        check_scores(y_true, y_prob, pos_label=None, func=func, probabilities=True)  # shapes, NaN, range first
        yt = _as_numpy_or_tensor(y_true, "y_true")
        if isinstance(yt, np.ndarray) and yt.dtype.kind in "US":
            labels = np.unique(yt).tolist()
            raise ValueError(
                f"y_true holds string labels {labels}; pass pos_label= the positive one, e.g. pos_label={labels[-1]!r}."
            )
        present = set(torch.unique(yt).tolist() if isinstance(yt, torch.Tensor) else np.unique(yt).tolist())
        if not (present <= {0, 1} or present <= {-1, 1}):
            raise ValueError(
                f"y_true takes the values {sorted(present)} and pos_label is not given: use labels 0/1 "
                f"(or -1/1), or pass pos_label= the positive class."
            )
        pos_label = 1
    positive, sc, _ = check_scores(y_true, y_prob, pos_label=pos_label, func=func, probabilities=True)
    return positive.cpu().numpy(), sc.cpu().numpy().astype(np.float64)


def _bin_stats(positive: np.ndarray, prob: np.ndarray, n_bins: int, strategy: str):
    if strategy == "quantile":
        edges = np.percentile(prob, np.linspace(0, 1, n_bins + 1) * 100)
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(edges[1:-1], prob)  # bin i holds edges[i] < p <= edges[i + 1] (the first bin also 0)
    sums = np.bincount(ids, weights=prob, minlength=n_bins)
    hits = np.bincount(ids, weights=positive.astype(np.float64), minlength=n_bins)
    counts = np.bincount(ids, minlength=n_bins)
    keep = counts != 0
    return hits[keep] / counts[keep], sums[keep] / counts[keep], counts[keep]


def calibration_curve(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    pos_label: Any = None,
    n_bins: int = 5,
    strategy: str = "uniform",
) -> tuple[np.ndarray, np.ndarray]:
    """Share of positives against mean predicted probability, bin by bin (the reliability diagram's points).

    Same result as ``sklearn.calibration.calibration_curve``. The scores are cut into ``n_bins`` bins;
    for each bin that holds at least one sample, ``prob_true`` is the share of positives in it and
    ``prob_pred`` the mean score. A calibrated model has ``prob_true`` close to ``prob_pred``.

    Parameters
    ----------
    y_true : list, numpy array or tensor, shape (n_samples,)
        True labels, two classes at most.
    y_prob : list, numpy array or tensor, shape (n_samples,)
        Probability of the positive class, in [0, 1] (e.g. ``probs[:, 1]``).
    pos_label : int or str, optional
        The positive class. By default 1, which needs labels 0/1 or -1/1.
    n_bins : int, default 5
        How many bins. Empty bins are left out, so fewer points may come back.
    strategy : {"uniform", "quantile"}, default "uniform"
        ``"uniform"``: bins of equal width on [0, 1]. ``"quantile"``: bins holding equally many samples
        (better when most scores crowd near 0, as on imbalanced data).

    Returns
    -------
    prob_true, prob_pred : numpy arrays, one entry per non-empty bin

    Examples
    --------
    >>> y_true = [0, 0, 0, 0, 1, 1, 1, 1, 1]
    >>> y_prob = [0.1, 0.2, 0.3, 0.4, 0.65, 0.7, 0.8, 0.9, 1.0]
    >>> prob_true, prob_pred = calibration_curve(y_true, y_prob, n_bins=3)   # bins [0, 1/3], (1/3, 2/3], (2/3, 1]
    >>> prob_true.tolist(), prob_pred.round(3).tolist()
    ([0.0, 0.5, 1.0], [0.2, 0.525, 0.85])
    """
    n_bins = _check_bins(n_bins, strategy)
    positive, prob = _binary_positive(y_true, y_prob, pos_label, "calibration_curve")
    prob_true, prob_pred, _ = _bin_stats(positive, prob, n_bins, strategy)
    return prob_true, prob_pred


def expected_calibration_error(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    pos_label: Any = None,
    n_bins: int = 10,
    strategy: str = "uniform",
) -> float:
    """Expected calibration error: the gap between score and share of positives, averaged over the bins.

    ``ECE = sum over bins of (samples in bin / all samples) * |share of positives - mean score|``, with the
    bins of :func:`calibration_curve`. 0 is perfect; it is in the units of a probability.

    Parameters
    ----------
    y_true, y_prob, pos_label, n_bins, strategy
        As for :func:`calibration_curve` (here ``n_bins`` defaults to 10).

    Returns
    -------
    float

    Examples
    --------
    >>> round(expected_calibration_error([0, 0, 1, 1], [0.2, 0.2, 0.8, 0.8], n_bins=2), 3)
    0.2
    """
    n_bins = _check_bins(n_bins, strategy)
    positive, prob = _binary_positive(y_true, y_prob, pos_label, "expected_calibration_error")
    prob_true, prob_pred, counts = _bin_stats(positive, prob, n_bins, strategy)
    return float(np.sum(counts * np.abs(prob_true - prob_pred)) / counts.sum())


def _check_prior(value: Any, name: str) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 < float(value) < 1.0:
        raise ValueError(
            f"{name}={value!r} must be a share of positives strictly between 0 and 1 (e.g. 0.05 for 5%, not 5)."
        )
    return float(value)


def prior_correction(y_prob: ArrayLike, *, train_prior: float, true_prior: float) -> np.ndarray:
    """Re-weight probabilities learned under one share of positives to another (Bayes' rule).

    A model trained on data with ``train_prior`` positives (0.5 with balanced sampling) learns scores
    for that world. On data with ``true_prior`` positives, the probability becomes

        ``p' = p * r / (p * r + (1 - p))``,  ``r = odds(true_prior) / odds(train_prior)``,

    with ``odds(q) = q / (1 - q)``. This moves every score by the same amount in log-odds, so the order of
    the scores, and with it ROC-AUC and average precision, does not change; a threshold ``t`` on the old
    scores is the threshold ``t * r / (t * r + 1 - t)`` on the new ones.

    Parameters
    ----------
    y_prob : list, numpy array or tensor, shape (n_samples,)
        Probabilities of the positive class, in [0, 1].
    train_prior, true_prior : float in (0, 1)
        Share of positives the model was trained on, and in the data it will score.

    Returns
    -------
    numpy array of float64, shape (n_samples,)

    Examples
    --------
    >>> prior_correction([0.5, 0.9], train_prior=0.5, true_prior=0.05).round(4).tolist()
    [0.05, 0.3214]
    """
    train_prior = _check_prior(train_prior, "train_prior")
    true_prior = _check_prior(true_prior, "true_prior")
    y = _as_numpy_or_tensor(y_prob, "y_prob")
    _check_1d(y, "y_prob", what="one probability per sample")
    p = (y.cpu().numpy() if isinstance(y, torch.Tensor) else y)
    if p.dtype.kind not in "biuf":
        raise TypeError(f"y_prob must hold numbers (probabilities), got dtype {p.dtype}.")
    p = p.astype(np.float64)
    if p.size and not np.all(np.isfinite(p)):
        raise ValueError("y_prob contains NaN or infinity; pass probabilities in [0, 1].")
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError(
            f"y_prob must be probabilities in [0, 1], but runs from {p.min():g} to {p.max():g}. If these are "
            f"logits, convert them first: torch.sigmoid(logits) for one output, logits.softmax(1)[:, 1] for two."
        )
    r = (true_prior / (1 - true_prior)) / (train_prior / (1 - train_prior))
    return p * r / (p * r + (1 - p))
