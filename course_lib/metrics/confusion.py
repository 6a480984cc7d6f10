"""The confusion matrix, and the label counting every label metric is built on.

All the per-sample work happens in torch on the input's device: integer labels in a small range
are counted with a single ``bincount`` of ``y_true * K + y_pred`` (K = size of the label range).
Only the K x K table of counts comes back to the CPU, where it becomes numpy like scikit-learn's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._checks import ArrayLike, Targets, check_labels, check_targets, warn

# Labels whose range fits in this many values are counted with one joint bincount (K * K bins).
_DENSE_MAX = 1024
# On the CPU the joint codes are built and counted in slices this long: each slice stays in cache,
# runs in one thread (below torch's parallel grain size) and reuses one small buffer, so no
# array as long as the input is ever allocated.
_CPU_CHUNK = 1 << 15

NORMALIZE_OPTIONS = (None, "true", "pred", "all")


@dataclass(frozen=True)
class Counts:
    """Counts over the labels present in ``y_true`` or ``y_pred`` (sorted, like scikit-learn)."""

    labels: np.ndarray
    tp: np.ndarray
    true_sum: np.ndarray
    pred_sum: np.ndarray
    matrix: np.ndarray | None = None  # rows = true label, columns = predicted label

    def positions(self, labels: np.ndarray) -> np.ndarray:
        """Index of each requested label in ``self.labels``, or -1 when it does not occur."""
        idx = np.searchsorted(self.labels, labels)
        idx = np.minimum(idx, len(self.labels) - 1)
        return np.where(self.labels[idx] == labels, idx, -1)

    def select(self, labels: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(tp, true_sum, pred_sum)`` for the requested labels (zeros for labels absent from the data)."""
        if labels is None:
            return self.tp, self.true_sum, self.pred_sum
        pos = self.positions(labels)
        found = pos >= 0
        out = []
        for arr in (self.tp, self.true_sum, self.pred_sum):
            out.append(np.where(found, arr[np.maximum(pos, 0)], 0).astype(np.int64))
        return out[0], out[1], out[2]


def _joint_counts(yt: torch.Tensor, yp: torch.Tensor, k: int) -> torch.Tensor:
    """``bincount(yt * k + yp, minlength=k * k)``: the flattened k x k confusion matrix.

    Labels must lie in [0, k). On the CPU this runs slice by slice into one small buffer.
    """
    n = len(yt)
    if yt.device.type != "cpu" or n <= _CPU_CHUNK:
        return torch.bincount(torch.add(yp, yt, alpha=k), minlength=k * k)
    joint_buf = torch.empty(_CPU_CHUNK, dtype=torch.int64)
    ones = torch.ones(_CPU_CHUNK, dtype=torch.int64)
    counts = torch.zeros(k * k, dtype=torch.int64)
    for start in range(0, n, _CPU_CHUNK):
        m = min(_CPU_CHUNK, n - start)
        joint = torch.add(yp[start : start + m], yt[start : start + m], alpha=k, out=joint_buf[:m])
        counts.scatter_add_(0, joint, ones[:m])
    return counts


def _cpu_class_index_table(yt: torch.Tensor, yp: torch.Tensor) -> torch.Tensor | None:
    """One pass over CPU labels that are class indices 0..K-1: the K x K table (K = largest + 1).

    Each slice is range-checked while it is in cache, and the table grows when a larger label
    shows up. Returns None as soon as a label is negative or >= ``_DENSE_MAX`` (the caller then
    takes the general route).
    """
    n, k = len(yt), 0
    table = torch.zeros(0, dtype=torch.int64)
    joint_buf = torch.empty(_CPU_CHUNK, dtype=torch.int64)
    ones = torch.ones(_CPU_CHUNK, dtype=torch.int64)
    for start in range(0, n, _CPU_CHUNK):
        a, b = yt[start : start + _CPU_CHUNK], yp[start : start + _CPU_CHUNK]
        lo_a, hi_a = torch.aminmax(a)
        lo_b, hi_b = torch.aminmax(b)
        lo, hi = min(int(lo_a), int(lo_b)), max(int(hi_a), int(hi_b))
        if lo < 0 or hi >= _DENSE_MAX:
            return None
        if hi >= k:  # a larger label than seen so far: re-lay the table out for K = hi + 1
            grown = torch.zeros((hi + 1, hi + 1), dtype=torch.int64)
            grown[:k, :k] = table.view(k, k)
            table, k = grown.view(-1), hi + 1
        joint = torch.add(b, a, alpha=k, out=joint_buf[: len(a)])
        table.scatter_add_(0, joint, ones[: len(a)])
    return table.view(k, k)


def count_labels(t: Targets, *, need_matrix: bool = True) -> Counts:
    """Count true positives, true and predicted totals per label (and the full matrix when asked)."""
    yt, yp = t.y_true, t.y_pred
    values: np.ndarray | None = t.classes
    table = None
    if values is not None:
        k = len(values)
    elif yt.device.type == "cpu" and len(yt) > _CPU_CHUNK:
        table = _cpu_class_index_table(yt, yp)  # the hot path: one pass over memory
    if table is not None:
        k = table.shape[0]
        values = np.arange(k, dtype=np.int64)
    elif values is None:
        lo_t, hi_t = torch.aminmax(yt)
        lo_p, hi_p = torch.aminmax(yp)
        lo_t, hi_t, lo_p, hi_p = torch.stack([v.to(torch.int64) for v in (lo_t, hi_t, lo_p, hi_p)]).tolist()
        lo, hi = min(lo_t, lo_p), max(hi_t, hi_p)
        if lo >= 0 and hi < _DENSE_MAX:  # the common case: class indices 0..K-1
            k = hi + 1
        elif hi - lo < _DENSE_MAX:  # e.g. labels -1/+1: shift them to start at 0
            yt, yp, k = yt - lo, yp - lo, hi - lo + 1
            values = np.arange(lo, hi + 1, dtype=np.int64)
        else:  # few labels spread over a wide range: number them 0..K-1
            values_t, codes = torch.unique(
                torch.cat([yt.to(torch.int64), yp.to(torch.int64)]), return_inverse=True
            )
            yt, yp = codes[: len(yt)], codes[len(yt) :]
            values, k = values_t.cpu().numpy(), len(values_t)
        if values is None:
            values = np.arange(k, dtype=np.int64)

    if table is not None or need_matrix or k <= _DENSE_MAX:
        if table is None:
            table = _joint_counts(yt, yp, k).reshape(k, k)
        matrix = table.cpu().numpy()
        true_sum, pred_sum, tp = matrix.sum(axis=1), matrix.sum(axis=0), np.diagonal(matrix).copy()
    else:  # many classes and no matrix wanted: three 1-D counts instead of K * K bins
        matrix = None
        tp = torch.bincount(yt[yt == yp], minlength=k).cpu().numpy()
        true_sum = torch.bincount(yt, minlength=k).cpu().numpy()
        pred_sum = torch.bincount(yp, minlength=k).cpu().numpy()

    present = (true_sum + pred_sum) > 0
    if not present.all():
        if matrix is not None:
            matrix = matrix[np.ix_(present, present)]
        tp, true_sum, pred_sum, values = tp[present], true_sum[present], pred_sum[present], values[present]
    return Counts(values, tp, true_sum, pred_sum, matrix)


def confusion_matrix(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    normalize: str | None = None,
) -> np.ndarray:
    """Count how often each true class was predicted as each class.

    Rows are true classes and columns predicted classes, both in the order of ``labels``
    (default: every label in ``y_true`` or ``y_pred``, sorted). Same arguments and result as
    ``sklearn.metrics.confusion_matrix``; the counting runs in torch on the input's device.

    Parameters
    ----------
    y_true, y_pred : list, numpy array or tensor, shape (n_samples,)
        True and predicted class labels (integers, bools or strings).
    labels : list, optional
        Which labels to show, in this order. Samples whose true or predicted label is not listed
        are left out. At least one of them must occur in ``y_true``.
    normalize : {'true', 'pred', 'all'}, optional
        Divide by the row sums ('true': each row shows recall-like rates), the column sums
        ('pred': precision-like) or the total ('all'). Empty rows/columns give 0.

    Returns
    -------
    numpy.ndarray of shape (n_labels, n_labels)
        int64 counts, or float64 rates when ``normalize`` is set.

    Examples
    --------
    The worked example: 100 positives of which 80 are found, 100 negatives of which 10 are
    flagged by mistake.

    >>> y_true = [1] * 100 + [0] * 100
    >>> y_pred = [1] * 80 + [0] * 20 + [1] * 10 + [0] * 90
    >>> confusion_matrix(y_true, y_pred)   # rows: true 0, true 1
    array([[90, 10],
           [20, 80]])
    >>> tn, fp, fn, tp = confusion_matrix(y_true, y_pred).ravel()
    >>> int(tp), int(fn), int(fp), int(tn)
    (80, 20, 10, 90)
    """
    if normalize not in NORMALIZE_OPTIONS:
        raise ValueError(
            f"normalize={normalize!r} is not supported; use one of {', '.join(map(repr, NORMALIZE_OPTIONS))}."
        )
    targets = check_targets(y_true, y_pred)
    wanted = check_labels(labels, targets.classes)
    counts = count_labels(targets, need_matrix=True)
    assert counts.matrix is not None
    if wanted is None:
        cm = counts.matrix
    else:
        pos = counts.positions(wanted)
        if not np.any((pos >= 0) & (counts.true_sum[np.maximum(pos, 0)] > 0)):
            raise ValueError(
                f"None of labels={wanted.tolist()} occurs in y_true, so the matrix would be empty; "
                f"y_true holds {counts.labels[counts.true_sum > 0].tolist()}."
            )
        cm = np.zeros((len(wanted), len(wanted)), dtype=np.int64)
        found = np.flatnonzero(pos >= 0)
        cm[np.ix_(found, found)] = counts.matrix[np.ix_(pos[found], pos[found])]

    cm = cm.astype(np.int64, copy=False)
    if normalize is not None:
        with np.errstate(all="ignore"):
            if normalize == "true":
                cm = cm / cm.sum(axis=1, keepdims=True)
            elif normalize == "pred":
                cm = cm / cm.sum(axis=0, keepdims=True)
            else:
                cm = cm / cm.sum()
        cm = np.nan_to_num(cm)
    if cm.shape == (1, 1):
        warn(
            "Only one label occurs in y_true and y_pred, so the confusion matrix is 1 x 1. Pass every class "
            "with the labels parameter (e.g. labels=[0, 1]) to get the full table.",
            UserWarning,
        )
    return cm
