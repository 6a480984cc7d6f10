"""Input checks shared by every metric (the course's counterpart of scikit-learn's ``_check_targets``).

Every public metric calls one of the checks below before doing any arithmetic, so bad input fails
early with a message that says what was wrong and how to fix it. The checks are cheap: for integer
tensors they only look at shapes and dtypes; floats get one pass to reject NaN/inf and non-integer
labels.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, TypeAlias

import numpy as np
import torch

ArrayLike: TypeAlias = torch.Tensor | np.ndarray | Sequence[Any]

AVERAGE_OPTIONS: tuple[str | None, ...] = ("binary", "micro", "macro", "weighted", None)


class UndefinedMetricWarning(UserWarning):
    """Warned when a metric is 0/0 and ``zero_division='warn'`` replaced it by 0.0.

    Pass ``zero_division=0``, ``1`` or ``np.nan`` to choose the value yourself and silence it.
    """


@dataclass(frozen=True)
class Targets:
    """Checked labels: two 1-D integer tensors on one device.

    ``classes`` is ``None`` when the tensors hold the labels themselves (integers; bools become 0/1),
    or the sorted array of string labels when the tensors hold positions in it.
    """

    y_true: torch.Tensor
    y_pred: torch.Tensor
    classes: np.ndarray | None = None


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` pointing at the first caller outside this package (the learner's line)."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


# ---------------------------------------------------------------------------------------------
# option checks (run before touching the data)
# ---------------------------------------------------------------------------------------------


def check_average(average: str | None) -> None:
    """Refuse an unknown ``average`` and name the allowed values."""
    allowed = AVERAGE_OPTIONS
    if not (average is None or isinstance(average, str)) or average not in allowed:
        hint = (
            " ('samples' is for multilabel targets, which the course does not use.)"
            if average == "samples"
            else ""
        )
        raise ValueError(
            f"average={average!r} is not supported; use one of {', '.join(map(repr, allowed))}.{hint}"
        )


def check_zero_division(zero_division: Any) -> float:
    """Return the value used for 0/0 (0.0 for 'warn'); refuse anything but 'warn', 0, 1, np.nan."""
    if isinstance(zero_division, str):
        if zero_division == "warn":
            return 0.0
    elif isinstance(zero_division, Real) and not isinstance(zero_division, bool):
        value = float(zero_division)
        if value in (0.0, 1.0) or math.isnan(value):
            return value
    raise ValueError(f"zero_division={zero_division!r} is not supported; use 'warn', 0, 1 or np.nan.")


# ---------------------------------------------------------------------------------------------
# conversion
# ---------------------------------------------------------------------------------------------


def _as_numpy_or_tensor(y: Any, name: str) -> np.ndarray | torch.Tensor:
    """Tensors pass through (detached); everything else becomes a numpy array."""
    if isinstance(y, torch.Tensor):
        return y.detach()
    if isinstance(y, np.ndarray):
        arr = y
    elif y is None or isinstance(y, (str, bytes, Real, np.generic)):
        raise TypeError(
            f"{name} must be a sequence with one value per sample (list, numpy array or torch tensor), "
            f"got {type(y).__name__} {y!r}."
        )
    else:
        try:
            arr = np.asarray(y)
        except (ValueError, TypeError) as err:
            raise ValueError(
                f"{name} could not be read as a 1-D array ({err}); pass a flat list, numpy array or tensor."
            ) from err
    if arr.dtype.kind == "O":  # e.g. a list mixing strings and numbers, or a pandas object column
        kinds = {type(v) for v in arr.ravel().tolist()}
        if all(issubclass(k, str) for k in kinds):
            arr = arr.astype(str)
        elif any(issubclass(k, str) for k in kinds):
            raise TypeError(
                f"{name} mixes strings and numbers; use one type of label (all strings or all integers)."
            )
        else:
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError) as err:
                raise TypeError(f"{name} holds values that are neither numbers nor strings ({err}).") from err
    return arr


def _to_tensor(arr: np.ndarray) -> torch.Tensor:
    """Zero-copy numpy -> torch where torch supports the dtype."""
    if arr.dtype.kind == "u" and arr.dtype.itemsize > 1:
        arr = arr.astype(np.int64)
    elif arr.dtype.kind == "f" and arr.dtype.itemsize not in (2, 4, 8):
        arr = arr.astype(np.float64)
    if any(s < 0 for s in arr.strides) or not arr.dtype.isnative:
        arr = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("="))
    with warnings.catch_warnings():  # read-only arrays: we never write into them
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(arr)


def _common_device(*tensors: torch.Tensor) -> torch.device:
    """The accelerator one of the inputs lives on, else the CPU."""
    for t in tensors:
        if t.device.type != "cpu":
            return t.device
    return torch.device("cpu")


def _check_1d(y: np.ndarray | torch.Tensor, name: str, *, what: str) -> None:
    shape = tuple(y.shape)
    if len(shape) == 1:
        return
    if len(shape) == 0:
        raise ValueError(f"{name} must be 1-D ({what}), got a single value; wrap it in a list.")
    if len(shape) == 2 and shape[1] == 1:
        raise ValueError(f"{name} must be 1-D ({what}), got shape {shape}; flatten it, e.g. {name}.ravel().")
    if what.startswith("one class label"):
        raise ValueError(
            f"{name} must be 1-D ({what}), got shape {shape}. If these are class scores or probabilities, "
            f"pass the predicted class indices instead, e.g. probs.argmax(1)."
        )
    raise ValueError(
        f"{name} must be 1-D ({what}), got shape {shape}. For two-class probabilities pass the "
        f"positive class's column, e.g. probs[:, 1]."
    )


def _check_lengths(a: Any, b: Any, name_a: str, name_b: str) -> None:
    if len(a) != len(b):
        raise ValueError(
            f"{name_a} and {name_b} must have the same length (one entry per sample), "
            f"got {len(a)} and {len(b)}."
        )
    if len(a) == 0:
        raise ValueError(f"{name_a} and {name_b} are empty; the metrics need at least one sample.")


def _integer_labels(y: torch.Tensor, name: str) -> torch.Tensor:
    """Labels as an int32/int64 tensor; floats must be finite whole numbers."""
    if y.dtype in (torch.int64, torch.int32):
        return y
    if y.dtype == torch.bool or not (y.is_floating_point() or y.is_complex()):
        return y.to(torch.int64)
    if y.is_complex():
        raise TypeError(f"{name} has complex dtype {y.dtype}; labels must be integers (class indices).")
    finite = torch.isfinite(y)
    if not bool(finite.all()):
        raise ValueError(f"{name} contains NaN or infinity; labels must be whole numbers (class indices).")
    whole = y == torch.trunc(y)
    if not bool(whole.all()):
        example = float(y[~whole][0])
        raise ValueError(
            f"{name} contains non-integer values such as {example:g}; these look like scores or probabilities. "
            f"Turn them into class labels first, e.g. (probs >= 0.5).long() or probs.argmax(1)."
        )
    return y.to(torch.int64)


# ---------------------------------------------------------------------------------------------
# the checks the metrics call
# ---------------------------------------------------------------------------------------------


def check_targets(y_true: ArrayLike, y_pred: ArrayLike) -> Targets:
    """Convert and check a pair of label arrays.

    Accepts lists, numpy arrays and tensors of integers, bools, whole-number floats or strings.
    Raises ``ValueError``/``TypeError`` with a fix for: different lengths, empty input, anything but
    1-D, NaN/inf, non-integer floats, and a mix of string and numeric labels.
    """
    yt = _as_numpy_or_tensor(y_true, "y_true")
    yp = _as_numpy_or_tensor(y_pred, "y_pred")
    _check_1d(yt, "y_true", what="one class label per sample")
    _check_1d(yp, "y_pred", what="one class label per sample")
    _check_lengths(yt, yp, "y_true", "y_pred")

    str_t = isinstance(yt, np.ndarray) and yt.dtype.kind in "US"
    str_p = isinstance(yp, np.ndarray) and yp.dtype.kind in "US"
    if str_t or str_p:
        if not (str_t and str_p):
            raise TypeError(
                f"y_true and y_pred must hold the same kind of label, got "
                f"{'strings' if str_t else 'numbers'} in y_true and {'strings' if str_p else 'numbers'} in y_pred."
            )
        classes, codes = np.unique(np.concatenate([yt.astype(str), yp.astype(str)]), return_inverse=True)
        codes = torch.from_numpy(codes.astype(np.int64))
        return Targets(codes[: len(yt)], codes[len(yt) :], classes)

    tt = yt if isinstance(yt, torch.Tensor) else _to_tensor(yt)
    tp = yp if isinstance(yp, torch.Tensor) else _to_tensor(yp)
    device = _common_device(tt, tp)
    tt = _integer_labels(tt.to(device), "y_true")
    tp = _integer_labels(tp.to(device), "y_pred")
    return Targets(tt, tp, None)


def check_labels(labels: ArrayLike | None, classes: np.ndarray | None) -> np.ndarray | None:
    """Check the ``labels`` argument against the kind of label in the data; refuse duplicates."""
    if labels is None:
        return None
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D list of class labels, got {labels!r}.")
    if classes is not None:
        if arr.dtype.kind not in "US":
            raise TypeError(
                f"labels must be strings like the data (e.g. {classes[:2].tolist()}), got {labels!r}."
            )
        arr = arr.astype(str)
    else:
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        if arr.dtype.kind not in "biu":
            raise TypeError(f"labels must be integers like the data, got {labels!r}.")
        arr = arr.astype(np.int64)
    uniq, counts = np.unique(arr, return_counts=True)
    if np.any(counts > 1):
        raise ValueError(
            f"labels must not repeat a label; {uniq[counts > 1].tolist()} appear more than once."
        )
    return arr


def check_pos_label(pos_label: Any, classes: np.ndarray | None) -> Any:
    """Refuse a ``pos_label`` of the wrong kind (a string for integer labels, or the reverse)."""
    if classes is not None:
        if not isinstance(pos_label, str):
            raise TypeError(
                f"pos_label={pos_label!r} must be one of the string labels, e.g. pos_label={classes[-1]!r}."
            )
        return pos_label
    if isinstance(pos_label, (bool, np.bool_)):
        return int(pos_label)
    if isinstance(pos_label, Integral):
        return int(pos_label)
    if isinstance(pos_label, Real) and float(pos_label).is_integer():
        return int(pos_label)
    raise TypeError(f"pos_label={pos_label!r} must be an integer class label (e.g. 1) for integer labels.")


def check_scores(
    y_true: ArrayLike,
    scores: ArrayLike,
    *,
    pos_label: Any,
    func: str,
    probabilities: bool,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Check one-score-per-sample input.

    Returns ``(is_positive, scores, n_classes)``: a bool tensor and the scores on one device, and how
    many classes ``y_true`` holds. ``y_true`` may hold at most two classes (``pos_label`` against the
    other; ``pos_label=None`` means the larger label, as scikit-learn's ``roc_auc_score`` does).
    ``scores`` must be finite, and inside [0, 1] when ``probabilities`` is true (``func`` names the
    function in the message).
    """
    yt = _as_numpy_or_tensor(y_true, "y_true")
    sc = _as_numpy_or_tensor(scores, "scores")
    _check_1d(yt, "y_true", what="one class label per sample")
    _check_1d(sc, "scores", what="one score per sample")
    _check_lengths(yt, sc, "y_true", "scores")
    if isinstance(sc, np.ndarray):
        if sc.dtype.kind in "USO":
            raise TypeError(f"scores must be numbers (one score per sample), got dtype {sc.dtype}.")
        sc = _to_tensor(sc)
    if sc.is_complex():
        raise TypeError(f"scores has complex dtype {sc.dtype}; pass real-valued scores.")
    if sc.dtype == torch.bool:
        sc = sc.to(torch.int64)

    if isinstance(yt, np.ndarray) and yt.dtype.kind in "US":
        present = np.unique(yt).tolist()
        if pos_label is None:
            pos_label = present[-1]
        if not isinstance(pos_label, str):
            raise TypeError(f"y_true holds strings, so pos_label must be one of them, got {pos_label!r}.")
        positive = torch.from_numpy(yt.astype(str) == pos_label)
    else:
        tt = yt if isinstance(yt, torch.Tensor) else _to_tensor(yt)
        tt = _integer_labels(tt, "y_true")
        present = torch.unique(tt).tolist()
        pos_label = present[-1] if pos_label is None else check_pos_label(pos_label, None)
        positive = tt == pos_label
    if len(present) > 2:
        raise ValueError(
            f"{func} scores one positive class against one other, but y_true holds {len(present)} classes: "
            f"{present[:10]}. To score class k against all the rest, pass (y_true == k) as y_true."
        )
    if len(present) == 2 and pos_label not in present:
        raise ValueError(f"pos_label={pos_label!r} is not a label of y_true; it should be one of {present}.")

    device = _common_device(positive, sc)
    positive, sc = positive.to(device), sc.to(device)
    if sc.is_floating_point():
        if not bool(torch.isfinite(sc).all()):
            raise ValueError("scores contains NaN or infinity; pass finite scores (one per sample).")
    if probabilities:
        lo, hi = (float(v) for v in torch.aminmax(sc))
        if lo < 0 or hi > 1:
            raise ValueError(
                f"{func} needs probabilities in [0, 1], but scores run from {lo:g} to {hi:g}. If these are logits, "
                f"convert them first: torch.sigmoid(logits) for one output, logits.softmax(1)[:, 1] for two."
            )
    return positive, sc, len(present)
