"""A per-class table of precision, recall, F1 and support (scikit-learn's ``classification_report``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._checks import ArrayLike, check_labels, check_targets, check_zero_division, warn
from .classification import scores_from_counts
from .confusion import count_labels

_HEADERS = ["precision", "recall", "f1-score", "support"]


def classification_report(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    target_names: Sequence[str] | None = None,
    digits: int = 2,
    output_dict: bool = False,
    zero_division: str | float = "warn",
) -> str | dict[str, Any]:
    """Precision, recall, F1 and support for each class, plus accuracy and the averages.

    The text (or dict) is the same as ``sklearn.metrics.classification_report`` gives. The
    'accuracy' row appears when every label is scored; otherwise a 'micro avg' row takes its place.

    Parameters
    ----------
    y_true, y_pred : list, numpy array or tensor, shape (n_samples,)
        True and predicted class labels.
    labels : list, optional
        Labels to include, in this order (default: all that occur, sorted).
    target_names : list of str, optional
        Display names matching ``labels`` (e.g. ``dataset.classes``).
    digits : int, default 2
        Decimals shown for the scores (text output only).
    output_dict : bool, default False
        Return a nested dict instead of text.
    zero_division : {'warn', 0, 1, np.nan}, default 'warn'
        Value used when a score is 0/0, as in :func:`precision_score`.

    Returns
    -------
    str or dict

    Examples
    --------
    >>> y_true = [1] * 100 + [0] * 100
    >>> y_pred = [1] * 80 + [0] * 20 + [1] * 10 + [0] * 90
    >>> print(classification_report(y_true, y_pred, target_names=["ok", "defect"]))
                  precision    recall  f1-score   support
    <BLANKLINE>
              ok       0.82      0.90      0.86       100
          defect       0.89      0.80      0.84       100
    <BLANKLINE>
        accuracy                           0.85       200
       macro avg       0.85      0.85      0.85       200
    weighted avg       0.85      0.85      0.85       200
    <BLANKLINE>
    """
    check_zero_division(zero_division)
    if not isinstance(digits, int) or isinstance(digits, bool) or digits < 0:
        raise ValueError(f"digits={digits!r} must be a whole number >= 0.")
    targets = check_targets(y_true, y_pred)
    wanted = check_labels(labels, targets.classes)
    counts = count_labels(targets, need_matrix=False)
    labels_given = wanted is not None
    shown = counts.labels if wanted is None else wanted
    micro_is_accuracy = not labels_given or set(shown.tolist()) >= set(counts.labels.tolist())

    if target_names is not None and len(shown) != len(target_names):
        if labels_given:
            warn(
                f"labels has {len(shown)} entries but target_names has {len(target_names)}; "
                f"rows are paired up to the shorter one.",
                UserWarning,
            )
        else:
            raise ValueError(
                f"The data hold {len(shown)} classes ({shown.tolist()}) but target_names has "
                f"{len(target_names)} names; pass labels=... to say which classes the names belong to."
            )
    names = (
        [f"{label}" for label in shown.tolist()] if target_names is None else [str(n) for n in target_names]
    )

    tp, true_sum, pred_sum = counts.select(wanted)
    label_names = [str(v) for v in shown.tolist()]
    p, r, f1, support = scores_from_counts(
        tp, true_sum, pred_sum, average=None, names=label_names, zero_division=zero_division
    )
    rows = list(zip(names, p, r, f1, support, strict=False))  # sklearn pairs up to the shorter
    averages = []
    for average in ("micro", "macro", "weighted"):
        heading = "accuracy" if average == "micro" and micro_is_accuracy else f"{average} avg"
        ap, ar, af, _ = scores_from_counts(
            tp, true_sum, pred_sum, average=average, names=label_names, zero_division=zero_division
        )
        averages.append((heading, ap, ar, af, int(np.sum(support))))

    if output_dict:
        report: dict[str, Any] = {
            name: dict(zip(_HEADERS, [float(v) for v in values], strict=True)) for name, *values in rows
        }
        for heading, *values in averages:
            report[heading] = dict(zip(_HEADERS, [float(v) for v in values], strict=True))
        if "accuracy" in report:
            report["accuracy"] = report["accuracy"]["precision"]
        return report

    width = max(max(len(n) for n in names), len("weighted avg"), digits)
    text = ("{:>{width}s} " + " {:>9}" * len(_HEADERS)).format("", *_HEADERS, width=width) + "\n\n"
    row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    for row in rows:
        text += row_fmt.format(*row, width=width, digits=digits)
    text += "\n"
    for heading, ap, ar, af, sup in averages:
        if heading == "accuracy":
            fmt = "{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f}" + " {:>9}\n"
            text += fmt.format(heading, "", "", af, sup, width=width, digits=digits)
        else:
            text += row_fmt.format(heading, ap, ar, af, sup, width=width, digits=digits)
    return text
