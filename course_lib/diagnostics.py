"""Honest verdicts on a fine-tuned model, and checks for the pitfalls that make good numbers lie.

* :func:`report_card` turns predictions into a verdict ("good", "needs work", "bad") using the course's rules,
  compares accuracy with the majority-class baseline (the accuracy paradox), flags rare classes the model misses,
  and says which metric matters for the task at hand.
* :func:`find_near_duplicates` looks for test images that are near-copies of training images (data leakage).
* :func:`overfitting_report` reads a training ``History`` and says whether, and from which epoch, the model
  started to memorise its training images.

Every number is computed with :mod:`course_lib.metrics`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_lib import metrics as M

__all__ = [
    "ReportCard",
    "report_card",
    "verdict_from_scores",
    "DuplicatePair",
    "find_near_duplicates",
    "perceptual_hash",
    "thumbnail_fingerprint",
    "OverfittingReport",
    "overfitting_report",
    "GOOD_ACCURACY",
    "GOOD_PRECISION_RECALL",
    "GOOD_F1",
    "BAD_ACCURACY",
    "BAD_PRECISION_RECALL",
    "LARGE_GAP",
    "IMBALANCE_RATIO",
    "RULE_TOL",
    "above",
    "below",
]

# ---------------------------------------------------------------------------------------------------------------
# The rules (from the course's subject matter). Strict inequalities, as written in the docstrings.
GOOD_ACCURACY = 0.85  #: good needs accuracy above this
GOOD_PRECISION_RECALL = 0.80  #: good needs precision and recall above this
GOOD_F1 = 0.80  #: good needs F1 above this
BAD_ACCURACY = 0.70  #: bad when accuracy is below this
BAD_PRECISION_RECALL = 0.50  #: bad when precision or recall is below this
LARGE_GAP = 0.20  #: bad when |precision - recall| is above this ("a large precision/recall gap")
#: a class with less than this fraction of an equal share (1/k of the samples, k classes) makes the data
#: "imbalanced": below 20 % of the samples with two classes, below 8 % with five, below 4 % with ten
IMBALANCE_RATIO = 0.40

VERDICTS = ("good", "needs work", "bad")

#: Absolute tolerance of every rule comparison. Scores are floats, so 0.9 - 0.7 is 0.20000000000000007: without
#: it, precision 0.90 / recall 0.70 would have a gap "more than 0.20". "Above 0.8" means more than 0.8 + RULE_TOL,
#: "below 0.5" means less than 0.5 - RULE_TOL; a score within RULE_TOL of a limit counts as equal to it.
RULE_TOL = 1e-9


def above(x: float, limit: float) -> bool:
    """``x`` is strictly above ``limit`` by more than :data:`RULE_TOL` (the rules' "above"/"more than").

    >>> above(0.9 - 0.7, 0.20), above(0.21, 0.20), above(0.80, 0.80)
    (False, True, False)
    """
    return x > limit + RULE_TOL


def below(x: float, limit: float) -> bool:
    """``x`` is strictly below ``limit`` by more than :data:`RULE_TOL` (the rules' "below").

    >>> below(0.5 - 1e-12, 0.50), below(0.49, 0.50)
    (False, True)
    """
    return x < limit - RULE_TOL

# task name -> (metric that matters, why)
_TASKS: dict[str, tuple[str, str]] = {
    "defects": (
        "precision",
        "For defect inspection precision matters most: each false alarm stops the line or scraps a good part, "
        "so when the model says 'defect' it should be right.",
    ),
    "tumours": (
        "recall",
        "For tumour screening recall matters most: a missed tumour costs far more than a false alarm, "
        "which a second look can clear.",
    ),
}
_TASK_ALIASES = {
    "defects": "defects",
    "defect": "defects",
    "defect inspection": "defects",
    "precision": "defects",
    "tumours": "tumours",
    "tumour": "tumours",
    "tumors": "tumours",
    "tumor": "tumours",
    "tumour screening": "tumours",
    "recall": "tumours",
}



def verdict_from_scores(accuracy: float, precision: float, recall: float, f1: float) -> str:
    """The course's verdict from four numbers (the binary rules of :func:`report_card`).

    Examples
    --------
    >>> verdict_from_scores(0.98, 0.29, 0.12, 0.17)
    'bad'
    >>> verdict_from_scores(0.85, 0.89, 0.80, 0.84)   # the course's worked example: accuracy is not > 85 %
    'needs work'
    >>> verdict_from_scores(0.90, 0.90, 0.70, 0.79)   # gap 0.9 - 0.7 = 0.20000000000000007 is not more than 0.20
    'needs work'
    """
    if (
        below(accuracy, BAD_ACCURACY)
        or below(precision, BAD_PRECISION_RECALL)
        or below(recall, BAD_PRECISION_RECALL)
        or above(abs(precision - recall), LARGE_GAP)
    ):
        return "bad"
    if (above(accuracy, GOOD_ACCURACY) and above(precision, GOOD_PRECISION_RECALL)
            and above(recall, GOOD_PRECISION_RECALL) and above(f1, GOOD_F1)):
        return "good"
    return "needs work"


# ---------------------------------------------------------------------------------------------------------------
# Input checks
def _to_numpy(x: Any, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (list, tuple, range)):
        return np.asarray(x)
    raise TypeError(
        f"{name} must be a list, a NumPy array or a torch tensor, got {type(x).__name__}. "
        f"Convert it first, e.g. {name} = list({name})."
    )


def _check_labels(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    yt = _to_numpy(y_true, "y_true")
    yp = _to_numpy(y_pred, "y_pred")
    for name, y in (("y_true", yt), ("y_pred", yp)):
        if y.ndim != 1:
            hint = (
                " It looks like class probabilities: take y_pred = probs.argmax(1) and pass the probabilities as scores=."
                if name == "y_pred" and y.ndim == 2
                else ""
            )
            raise ValueError(f"{name} must be one label per sample (1-D), got shape {y.shape}.{hint}")
        if y.size == 0:
            raise ValueError(f"{name} is empty: a report card needs at least one prediction.")
        if y.dtype.kind == "f":
            if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
                hint = " Threshold the scores first (y_pred = scores >= 0.5) and pass them as scores=." if name == "y_pred" else ""
                raise ValueError(f"{name} must hold class labels (integers), but it holds fractional values.{hint}")
            y = y.astype(np.int64)
        elif y.dtype.kind == "b":
            y = y.astype(np.int64)
        elif y.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}.")
        if name == "y_true":
            yt = y
        else:
            yp = y
    if yt.shape != yp.shape:
        raise ValueError(
            f"y_true and y_pred must have the same length, got {yt.shape[0]} and {yp.shape[0]}. "
            "Pass the predictions for exactly the samples you have labels for."
        )
    return yt.astype(np.int64), yp.astype(np.int64)


def _class_name(label: int, class_names: Sequence[str] | Mapping[int, str] | None) -> str:
    if class_names is None:
        return str(label)
    if isinstance(class_names, Mapping):
        return str(class_names.get(label, label))
    if 0 <= label < len(class_names):
        return str(class_names[label])
    return str(label)


def _pct(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


# ---------------------------------------------------------------------------------------------------------------
# Report card
@dataclass
class ReportCard:
    """The verdict on a set of predictions, the numbers behind it and plain-language warnings.

    Attributes
    ----------
    verdict : {"good", "needs work", "bad"}
    metrics : dict
        ``n``, ``accuracy``, ``baseline_accuracy`` (always predicting the majority class), ``precision``,
        ``recall``, ``f1`` (positive class when binary, macro averages when multiclass) and, when binary,
        ``tp``, ``fp``, ``fn``, ``tn``, ``positive_rate``; with ``scores``, also ``average_precision``,
        ``best_f1`` and ``best_f1_threshold``.
    warnings : list of str
        One sentence per problem found; empty for a clean "good".
    checks : list of (str, bool)
        Each rule of the verdict and whether the predictions pass it.
    per_class : dict
        ``{class name: {"precision", "recall", "f1", "support"}}``.
    kind : {"binary", "multiclass"}
    task, advice : str or None
        The task given to :func:`report_card` and the sentence on which metric matters for it.
    """

    verdict: str
    metrics: dict[str, float]
    warnings: list[str] = field(default_factory=list)
    checks: list[tuple[str, bool]] = field(default_factory=list)
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)
    kind: str = "binary"
    task: str | None = None
    advice: str | None = None

    def __str__(self) -> str:
        m = self.metrics
        avg = "" if self.kind == "binary" else " (macro)"
        lines = [
            f"Verdict: {self.verdict.upper()}",
            f"accuracy {m['accuracy']:.2f} (majority-class baseline {m['baseline_accuracy']:.2f}) | "
            f"precision{avg} {m['precision']:.2f} | recall{avg} {m['recall']:.2f} | F1{avg} {m['f1']:.2f} | "
            f"n = {int(m['n'])}",
        ]
        if "average_precision" in m:
            lines.append(
                f"average precision {m['average_precision']:.2f} | best F1 {m['best_f1']:.2f} "
                f"at threshold {m['best_f1_threshold']:.2f}"
            )
        if self.kind == "multiclass":
            lines.append("per class (recall): " + ", ".join(f"{k} {v['recall']:.2f}" for k, v in self.per_class.items()))
        if self.advice:
            lines.append(self.advice)
        if self.warnings:
            lines.append("Warnings:")
            lines += [f"  - {w}" for w in self.warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        m = self.metrics
        return (
            f"ReportCard(verdict={self.verdict!r}, accuracy={m['accuracy']:.3f}, precision={m['precision']:.3f}, "
            f"recall={m['recall']:.3f}, f1={m['f1']:.3f}, warnings={len(self.warnings)})"
        )

    def _repr_html_(self) -> str:
        colour = {"good": "#1b7f3b", "needs work": "#b26a00", "bad": "#b3261e"}[self.verdict]
        m = self.metrics
        avg = "" if self.kind == "binary" else " (macro)"
        rows = [
            ("accuracy", m["accuracy"]),
            ("majority-class baseline", m["baseline_accuracy"]),
            (f"precision{avg}", m["precision"]),
            (f"recall{avg}", m["recall"]),
            (f"F1{avg}", m["f1"]),
        ]
        if "average_precision" in m:
            rows.append(("average precision (from scores)", m["average_precision"]))
        table = "".join(
            f"<tr><td style='padding:1px 8px'>{html.escape(k)}</td>"
            f"<td style='padding:1px 8px;text-align:right'>{v:.2f}</td></tr>"
            for k, v in rows
        )
        checks = "".join(
            f"<li>{'&#10003;' if ok else '&#10007;'} {html.escape(rule)}</li>" for rule, ok in self.checks
        )
        parts = [
            "<div class='course-report-card' style='font-family:sans-serif;line-height:1.35'>",
            f"<div style='font-size:1.2em'><b>Verdict: <span style='color:{colour}'>{self.verdict}</span></b>"
            f" <span style='color:#666'>({int(m['n'])} samples, {self.kind})</span></div>",
            f"<table style='border-collapse:collapse;margin:4px 0'>{table}</table>",
        ]
        if self.kind == "multiclass":
            pad = "padding:1px 8px;text-align:right"
            head = "".join(f"<th style='{pad}'>{h}</th>" for h in ("class", "precision", "recall", "F1", "support"))
            body = "".join(
                f"<tr><td style='{pad};text-align:left'>{html.escape(k)}</td><td style='{pad}'>{v['precision']:.2f}</td>"
                f"<td style='{pad}'>{v['recall']:.2f}</td><td style='{pad}'>{v['f1']:.2f}</td>"
                f"<td style='{pad}'>{int(v['support'])}</td></tr>"
                for k, v in self.per_class.items()
            )
            head = f"<tr>{head}</tr>"
            parts.append(f"<table style='border-collapse:collapse;margin:4px 0'>{head}{body}</table>")
        if self.advice:
            parts.append(f"<p><i>{html.escape(self.advice)}</i></p>")
        if self.warnings:
            parts.append("<b>Warnings</b><ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings) + "</ul>")
        parts.append(f"<details><summary>Rules checked</summary><ul style='list-style:none'>{checks}</ul></details>")
        parts.append("</div>")
        return "".join(parts)


def _resolve_task(task: str | None) -> str | None:
    if task is None:
        return None
    if not isinstance(task, str) or task.strip().lower() not in _TASK_ALIASES:
        raise ValueError(
            f"task={task!r} is not known. Use task='defects' (precision matters), task='tumours' "
            "(recall matters) or task=None."
        )
    return _TASK_ALIASES[task.strip().lower()]


def _score_column(scores: Any, n: int, labels: list[int], pos_label: int) -> np.ndarray:
    s = _to_numpy(scores, "scores").astype(np.float64)
    if s.ndim == 2:
        if s.shape[1] == 1:
            s = s[:, 0]
        elif s.shape[1] == 2 and pos_label in (0, 1):
            s = s[:, pos_label]
        else:
            raise ValueError(
                f"scores has shape {s.shape}; for a binary problem pass one score per sample (the positive "
                "class's probability), e.g. scores = probs[:, 1]."
            )
    if s.ndim != 1 or s.shape[0] != n:
        raise ValueError(f"scores must hold one value per sample ({n}), got shape {s.shape}.")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contains NaN or infinite values; check the model's outputs.")
    if s.min() < 0 or s.max() > 1:
        raise ValueError(
            "scores must be probabilities in [0, 1]; turn logits into probabilities first, e.g. "
            "torch.softmax(logits, 1)[:, 1] or torch.sigmoid(logit)."
        )
    return s


def report_card(
    y_true: Any,
    y_pred: Any,
    *,
    scores: Any = None,
    pos_label: int = 1,
    class_names: Sequence[str] | Mapping[int, str] | None = None,
    task: str | None = None,
) -> ReportCard:
    """Judge predictions the way the course does: balanced precision and recall, not accuracy alone.

    Rules (binary: for the positive class ``pos_label``; multiclass: on macro averages):

    * **good**: accuracy > 85 %, precision > 0.80, recall > 0.80 and F1 > 0.80 (multiclass: and every
      class's recall > 0.80);
    * **bad**: accuracy < 70 %, or recall < 0.50, or precision < 0.50, or a *large precision/recall gap*,
      defined here as ``|precision - recall| > 0.20`` (multiclass: also any single class with recall or
      precision < 0.50);
    * **needs work**: everything in between.

    Every comparison allows :data:`RULE_TOL` (1e-9) of float rounding (:func:`above`, :func:`below`): precision
    0.90 with recall 0.70 has a gap of 0.20, not "more than 0.20", although ``0.9 - 0.7`` is 0.20000000000000007.

    Warnings also cover the accuracy paradox (accuracy compared with always predicting the majority class),
    class imbalance (a class with under 40 % of an equal share: under 20 % of the samples with two
    classes, under 4 % with ten), a model that never predicts a class, and - with
    ``scores`` - a decision threshold that leaves F1 on the table.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (n,)
        True and predicted class labels (lists, NumPy arrays or tensors).
    scores : array-like of float, shape (n,) or (n, 2), optional
        Binary only: the model's score for the positive class (higher = more positive).
    pos_label : int
        The positive class of a binary problem (e.g. ``1`` = defect, tumour).
    class_names : sequence or mapping, optional
        Names for the labels, used in sentences and tables.
    task : {"defects", "tumours", None}
        Say which metric matters: precision for defect inspection, recall for tumour screening.

    Returns
    -------
    ReportCard

    Examples
    --------
    >>> y_true = [1] * 100 + [0] * 100                       # the course's worked example:
    >>> y_pred = [1] * 80 + [0] * 20 + [1] * 10 + [0] * 90   # TP 80, FN 20, FP 10, TN 90
    >>> card = report_card(y_true, y_pred)
    >>> card.verdict, round(card.metrics["precision"], 2), card.metrics["recall"]
    ('needs work', 0.89, 0.8)
    """
    yt, yp = _check_labels(y_true, y_pred)
    task_key = _resolve_task(task)
    if not isinstance(pos_label, (int, np.integer)) or isinstance(pos_label, bool):
        raise TypeError(f"pos_label must be an integer class label, got {pos_label!r}.")
    pos_label = int(pos_label)

    present = sorted(set(np.unique(yt).tolist()) | set(np.unique(yp).tolist()))
    n_names = len(class_names) if class_names is not None else 0
    binary = len(present) <= 2 and n_names <= 2
    if binary:
        if pos_label not in present and not set(present) <= {0, 1}:
            raise ValueError(
                f"pos_label={pos_label} is not one of the labels present ({present}). "
                "Pass the label of the positive class, e.g. pos_label=" + str(present[-1]) + "."
            )
        if set(present) <= {0, 1}:
            labels = [0, 1]
        elif len(present) == 2:
            labels = present
        else:  # a single label, which is pos_label
            labels = [pos_label]
    else:
        labels = sorted(set(present) | set(range(n_names)))
        if scores is not None:
            raise ValueError(
                "scores= is only used for binary problems (one score per sample for the positive class). "
                "For several classes, leave scores out."
            )

    n = int(yt.shape[0])
    counts = {lab: int(np.sum(yt == lab)) for lab in labels}
    majority = max(counts, key=lambda lab: (counts[lab], -lab))
    baseline = counts[majority] / n
    accuracy = float(M.accuracy_score(yt, yp))

    metrics: dict[str, float] = {"n": float(n), "accuracy": accuracy, "baseline_accuracy": baseline}
    warnings: list[str] = []
    checks: list[tuple[str, bool]] = []

    per_p = np.asarray(M.precision_score(yt, yp, labels=labels, average=None, zero_division=0), dtype=float)
    per_r = np.asarray(M.recall_score(yt, yp, labels=labels, average=None, zero_division=0), dtype=float)
    per_f = np.asarray(M.f1_score(yt, yp, labels=labels, average=None, zero_division=0), dtype=float)
    per_class = {
        _class_name(lab, class_names): {
            "precision": float(per_p[i]),
            "recall": float(per_r[i]),
            "f1": float(per_f[i]),
            "support": float(counts[lab]),
        }
        for i, lab in enumerate(labels)
    }

    if binary:
        i_pos = labels.index(pos_label) if pos_label in labels else None
        precision = float(per_p[i_pos]) if i_pos is not None else 0.0
        recall = float(per_r[i_pos]) if i_pos is not None else 0.0
        f1 = float(per_f[i_pos]) if i_pos is not None else 0.0
        tp = int(np.sum((yt == pos_label) & (yp == pos_label)))
        fp = int(np.sum((yt != pos_label) & (yp == pos_label)))
        fn = int(np.sum((yt == pos_label) & (yp != pos_label)))
        tn = n - tp - fp - fn
        metrics.update(
            precision=precision, recall=recall, f1=f1, tp=tp, fp=fp, fn=fn, tn=tn, positive_rate=(tp + fn) / n
        )
    else:
        precision, recall, f1 = (float(np.mean(a)) for a in (per_p, per_r, per_f))
        metrics.update(precision=precision, recall=recall, f1=f1)

    pos_name = _class_name(pos_label, class_names) if binary else None
    maj_name = _class_name(majority, class_names)

    # -- the "bad" rules ------------------------------------------------------------------------------------
    gap = abs(precision - recall)
    avg = "" if binary else " (macro average)"
    rule_bad = {
        f"accuracy >= {BAD_ACCURACY:.0%}": not below(accuracy, BAD_ACCURACY),
        f"recall{avg} >= {BAD_PRECISION_RECALL:.2f}": not below(recall, BAD_PRECISION_RECALL),
        f"precision{avg} >= {BAD_PRECISION_RECALL:.2f}": not below(precision, BAD_PRECISION_RECALL),
        f"precision/recall gap <= {LARGE_GAP:.2f}": not above(gap, LARGE_GAP),
    }
    bad = not all(rule_bad.values())
    if below(accuracy, BAD_ACCURACY):
        warnings.append(f"Accuracy is {_pct(accuracy)}, below {BAD_ACCURACY:.0%}: the model has not adapted to this task.")
    if binary:
        if tp + fn == 0:
            warnings.append(
                f"y_true holds no '{pos_name}' case, so recall cannot be measured (reported as 0): judge the "
                f"model on data that contains '{pos_name}' cases."
            )
        elif below(recall, BAD_PRECISION_RECALL):
            warnings.append(
                f"Recall for '{pos_name}' is only {recall:.2f}: the model misses {_pct(1 - recall)} of the "
                f"real '{pos_name}' cases ({fn} of {tp + fn})."
            )
        if below(precision, BAD_PRECISION_RECALL):
            if tp + fp == 0:
                warnings.append(
                    f"The model never predicts '{pos_name}': precision is undefined (reported as 0) and no "
                    f"'{pos_name}' case is ever found."
                )
            else:
                warnings.append(
                    f"Precision for '{pos_name}' is only {precision:.2f}: {_pct(1 - precision)} of its "
                    f"'{pos_name}' alarms are false ({fp} of {tp + fp})."
                )
    else:
        if below(recall, BAD_PRECISION_RECALL):
            warnings.append(f"Macro-averaged recall is only {recall:.2f}: many classes are mostly missed.")
        if below(precision, BAD_PRECISION_RECALL):
            warnings.append(f"Macro-averaged precision is only {precision:.2f}: many predictions are false alarms.")
    if above(gap, LARGE_GAP):
        if precision > recall:
            how = "it is cautious: what it flags is usually right, but it misses many real cases"
        else:
            how = "it flags generously: it finds most real cases, but raises many false alarms"
        warnings.append(
            f"Precision ({precision:.2f}) and recall ({recall:.2f}) differ by {gap:.2f}, more than "
            f"{LARGE_GAP:.2f}: the model is unbalanced - {how}."
        )

    # -- multiclass: each class is someone's positive class -----------------------------------------------
    weak_classes: list[str] = []
    if not binary:
        missed, shaky, false_alarms = [], [], []
        for i, lab in enumerate(labels):
            if counts[lab] == 0:
                continue
            name = _class_name(lab, class_names)
            r, p = float(per_r[i]), float(per_p[i])
            if below(r, BAD_PRECISION_RECALL):
                missed.append((name, r, counts[lab]))
            elif not above(r, GOOD_PRECISION_RECALL):
                shaky.append((name, r))
            if below(p, BAD_PRECISION_RECALL) and np.any(yp == lab):
                false_alarms.append((name, p))
        weak_classes = [c[0] for c in missed + shaky]
        if missed:
            bad = True
            if len(missed) == 1:
                name, r, k = missed[0]
                warnings.append(
                    f"Class '{name}' has recall {r:.2f}: the model misses {_pct(1 - r)} of its {k} images, "
                    f"which the overall accuracy ({_pct(accuracy)}) hides."
                )
            else:
                listed = ", ".join(f"'{name}' (recall {r:.2f})" for name, r, _k in missed)
                warnings.append(f"Classes {listed} are mostly missed, which the overall accuracy ({_pct(accuracy)}) hides.")
        if shaky:
            listed = ", ".join(f"'{name}' ({r:.2f})" for name, r in shaky)
            warnings.append(
                f"Recall is not above {GOOD_PRECISION_RECALL:.2f} for {listed}: "
                "these classes are still missed too often for a good model."
            )
        if false_alarms:
            bad = True
            listed = ", ".join(f"'{name}' ({p:.2f})" for name, p in false_alarms)
            warnings.append(f"Precision is below {BAD_PRECISION_RECALL:.2f} for {listed}: most predictions of these are wrong.")
        never = [
            _class_name(lab, class_names) for lab in labels if counts[lab] > 0 and not np.any(yp == lab)
        ]
        if never:
            warnings.append("The model never predicts " + ", ".join(f"'{c}'" for c in never) + ".")
        rule_bad[f"every class: recall and precision >= {BAD_PRECISION_RECALL:.2f}"] = not (missed or false_alarms)

    # -- the "good" rules ---------------------------------------------------------------------------------
    rule_good = {
        f"accuracy > {GOOD_ACCURACY:.0%}": above(accuracy, GOOD_ACCURACY),
        f"precision{avg} > {GOOD_PRECISION_RECALL:.2f}": above(precision, GOOD_PRECISION_RECALL),
        f"recall{avg} > {GOOD_PRECISION_RECALL:.2f}": above(recall, GOOD_PRECISION_RECALL),
        f"F1{avg} > {GOOD_F1:.2f}": above(f1, GOOD_F1),
    }
    if not binary:
        rule_good[f"every class: recall > {GOOD_PRECISION_RECALL:.2f}"] = not weak_classes
    good = all(rule_good.values()) and not bad
    verdict = "bad" if bad else "good" if good else "needs work"
    if verdict == "needs work":
        misses = [rule for rule, ok in rule_good.items() if not ok]
        warnings.append("Not yet good: it fails " + "; ".join(misses) + ".")
    checks = [(f"bad if not: {k}", v) for k, v in rule_bad.items()] + [(f"good needs: {k}", v) for k, v in rule_good.items()]

    # -- the accuracy paradox and class imbalance ---------------------------------------------------------
    minority_share = min(c for c in counts.values()) / n if counts else 0.0
    imbalanced = len(counts) > 1 and minority_share < IMBALANCE_RATIO / len(counts)
    paradox = accuracy <= baseline or (imbalanced and above(accuracy, GOOD_ACCURACY) and verdict != "good")
    if paradox:
        lead = (
            f"accuracy {_pct(accuracy)} looks good but is misleading"
            if above(accuracy, GOOD_ACCURACY)
            else f"accuracy {_pct(accuracy)} says little"
        )
        if accuracy <= baseline:
            beat = "the model does no better than that"
        else:
            beat = f"the model beats that by only {100 * (accuracy - baseline):.1f} percentage points"
        if binary:
            sentence = (
                f"Accuracy paradox: {lead}. Always predicting the majority class '{maj_name}' already scores "
                f"{_pct(baseline)} (the baseline) and {beat}; recall for '{pos_name}' is {recall:.2f} and "
                f"precision {precision:.2f}."
            )
        elif accuracy <= baseline:
            sentence = (
                f"Accuracy {_pct(accuracy)} is no better than always predicting the majority class '{maj_name}' "
                f"({_pct(baseline)}, the baseline): the model has not learnt to tell the classes apart."
            )
        else:
            worst = int(np.argmin(np.where([counts[lab] > 0 for lab in labels], per_r, np.inf)))
            sentence = (
                f"Accuracy paradox: {lead}: the large classes dominate it (always predicting '{maj_name}' "
                f"scores {_pct(baseline)}, the baseline), while class '{_class_name(labels[worst], class_names)}' "
                f"has recall {per_r[worst]:.2f}."
            )
        warnings.insert(0, sentence)
    if imbalanced:
        rare = min(counts, key=lambda lab: counts[lab])
        warnings.append(
            f"The classes are imbalanced: '{_class_name(rare, class_names)}' is only {_pct(minority_share)} "
            "of the samples, so judge the model by precision, recall and F1 rather than accuracy."
        )

    # -- scores: is the threshold the problem? ------------------------------------------------------------
    if binary and scores is not None:
        s = _score_column(scores, n, labels, pos_label)
        if (tp + fn) > 0 and (tp + fn) < n:
            y_bin = (yt == pos_label).astype(np.int64)
            metrics["average_precision"] = float(M.average_precision_score(y_bin, s))
            t_best = float(M.best_f1_threshold(y_bin, s))
            metrics["best_f1"] = float(M.metrics_at_threshold(y_bin, s, t_best)["f1"])
            metrics["best_f1_threshold"] = t_best
            if metrics["best_f1"] - f1 > 0.10:
                warnings.append(
                    f"The scores rank the cases better than the current decisions show: at threshold "
                    f"{t_best:.3g} F1 would be {metrics['best_f1']:.2f} instead of {f1:.2f}. "
                    "Try threshold_explorer to pick the operating point."
                )

    # -- which metric matters for the task ---------------------------------------------------------------
    advice = None
    if task_key is not None:
        key, why = _TASKS[task_key]
        advice = why
        if binary:
            value = precision if key == "precision" else recall
            if value <= GOOD_PRECISION_RECALL:
                consequence = (
                    f"{_pct(1 - precision)} of the flagged parts are actually fine"
                    if key == "precision"
                    else f"{_pct(1 - recall)} of the tumours would be missed"
                )
                move = "raising" if key == "precision" else "lowering"
                warnings.append(
                    f"For this task {key} is the metric that matters, and it is only {value:.2f}: {consequence}. "
                    f"Consider {move} the decision threshold."
                )
        else:
            advice += f" (With several classes, read the {key} of the class you care about in the per-class table.)"

    return ReportCard(
        verdict=verdict,
        metrics=metrics,
        warnings=warnings,
        checks=checks,
        per_class=per_class,
        kind="binary" if binary else "multiclass",
        task=task_key,
        advice=advice,
    )


# ---------------------------------------------------------------------------------------------------------------
# Leakage: near-duplicates between train and test
class DuplicatePair(NamedTuple):
    """A test image and the training image it nearly copies."""

    train_index: int
    test_index: int
    similarity: float


def _as_image_batch(x: Any, name: str) -> torch.Tensor:
    images = getattr(x, "images", x)
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(images)
    if not isinstance(images, torch.Tensor):
        raise TypeError(
            f"{name} must be an ImageDataset or a tensor of images shaped N x C x H x W, got {type(x).__name__}."
        )
    if images.ndim == 3:
        images = images.unsqueeze(1)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or images.shape[0] == 0:
        raise ValueError(
            f"{name} must hold images shaped N x C x H x W with C = 1 or 3 and N > 0, got {tuple(images.shape)}."
        )
    return images.float()


def _dct_matrix(n: int) -> torch.Tensor:
    """Orthonormal DCT-II matrix ``D`` such that ``D @ x`` is ``scipy.fft.dct(x, norm='ortho')``."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    d = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    d[0] /= math.sqrt(2.0)
    return d.float()


def perceptual_hash(images: Any, *, hash_size: int = 8, highfreq_factor: int = 4) -> torch.Tensor:
    """DCT perceptual hash (pHash) of each image, as a boolean tensor ``N x hash_size**2``.

    Each image is turned grey, resized to ``(hash_size * highfreq_factor)`` pixels square, transformed
    with a 2-D DCT; the ``hash_size x hash_size`` lowest frequencies are compared with their median
    (the constant term left out of the median). Small shifts, noise, colour or brightness changes flip
    few bits; a different picture flips about half of them.

    Examples
    --------
    >>> x = torch.rand(2, 3, 32, 32)
    >>> perceptual_hash(x).shape
    torch.Size([2, 64])
    """
    x = _as_image_batch(images, "images")
    if x.shape[1] == 3:
        grey = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)
    else:
        grey = x
    size = hash_size * highfreq_factor
    h, w = grey.shape[-2:]
    antialias = h > size or w > size
    small = F.interpolate(grey, size=(size, size), mode="bilinear", align_corners=False, antialias=antialias)[:, 0]
    d = _dct_matrix(size)
    coeffs = d @ small @ d.T
    low = coeffs[:, :hash_size, :hash_size].reshape(x.shape[0], -1)
    median = low[:, 1:].median(dim=1, keepdim=True).values
    return low > median


@torch.no_grad()
def _embeddings(model: nn.Module | Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, batch_size: int) -> torch.Tensor:
    device = torch.device("cpu")
    was_training = False
    if isinstance(model, nn.Module):
        params = list(model.parameters())
        device = params[0].device if params else device
        was_training = model.training
        model.eval()
    fn = getattr(model, "forward_features", model)
    out = []
    try:
        for start in range(0, x.shape[0], batch_size):
            xb = x[start : start + batch_size].to(device)
            if xb.shape[1] == 1:
                xb = xb.expand(-1, 3, -1, -1)
            out.append(torch.as_tensor(fn(xb)).flatten(1).float().cpu())
    finally:
        if was_training:
            model.train()
    return torch.cat(out)


def thumbnail_fingerprint(images: Any, *, size: int = 8) -> torch.Tensor:
    """Colour thumbnail fingerprint: each image shrunk to ``size x size`` pixels, every colour channel
    shifted to mean 0, the whole vector scaled to length 1.

    The dot product of two fingerprints is their correlation: 1 for the same picture (up to contrast and a
    colour cast, i.e. an offset per channel), near 0 for unrelated pictures.

    Examples
    --------
    >>> x = torch.rand(3, 3, 32, 32)
    >>> f = thumbnail_fingerprint(x)
    >>> f.shape, round(float(f[0] @ thumbnail_fingerprint(0.5 * x[:1] + 0.2)[0]), 4)
    (torch.Size([3, 192]), 1.0)
    """
    x = _as_image_batch(images, "images")
    h, w = x.shape[-2:]
    small = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=h > size or w > size)
    small = small.flatten(2)
    small = small - small.mean(dim=2, keepdim=True)
    return F.normalize(small.flatten(1), dim=1)


_METHODS = ("thumbnail", "phash", "embedding")
_DEFAULT_THRESHOLD = {"thumbnail": 0.88, "phash": 0.875, "embedding": 0.95}


def _fingerprints(method: str, train: torch.Tensor, test: torch.Tensor, model: Any, batch_size: int
                  ) -> tuple[torch.Tensor, torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
    """Vectors for both sets and the map from their dot product to a similarity."""
    if method == "thumbnail":
        return thumbnail_fingerprint(train), thumbnail_fingerprint(test), lambda dot: dot
    if method == "phash":
        a = perceptual_hash(train).float() * 2 - 1  # bits as +-1: dot = agreeing - disagreeing bits
        b = perceptual_hash(test).float() * 2 - 1
        bits = a.shape[1]
        return a, b, lambda dot: (dot + bits) / (2 * bits)  # share of agreeing bits
    a = _embeddings(model, train, batch_size)
    b = _embeddings(model, test, batch_size)
    centre = a.mean(dim=0, keepdim=True)  # features after ReLU are all positive: centre them, or all look alike
    return F.normalize(a - centre, dim=1), F.normalize(b - centre, dim=1), lambda dot: dot


def find_near_duplicates(
    train: Any,
    test: Any,
    *,
    threshold: float | None = None,
    method: str | None = None,
    model: nn.Module | Callable[[torch.Tensor], torch.Tensor] | None = None,
    batch_size: int = 1024,
) -> list[DuplicatePair]:
    """Find test images that are near-copies of training images (data leakage).

    Three ways to compare images (``method``):

    * ``"thumbnail"`` (default): shrink each image to an 8 x 8 colour thumbnail, remove each channel's mean
      and correlate (:func:`thumbnail_fingerprint`). Model-free, fast, and easy to explain: two photos of the
      same scene keep the same coarse layout of colours even when the object moves a little, the lighting
      changes or noise is added.
    * ``"phash"``: the classic 64-bit DCT perceptual hash (:func:`perceptual_hash`), compared by the share of
      equal bits (1 - Hamming distance / 64). Finds near-exact copies, but its bits flip when the object
      moves or turns, so it misses most second photos of the same object.
    * ``"embedding"`` (or just pass ``model=``): cosine similarity of the backbone's features
      (``model.forward_features`` when it exists, else ``model(x)``), centred on the training set's mean.
      Can also catch flipped or rotated copies, but depends on what the backbone learned.

    Why the thumbnail is the default - measured on ``shapes_target(views=4)`` (several photos of each
    object), ``leaky_split`` vs ``group_split``, three seeds: the thumbnail at 0.88 finds all 180 planted
    copies and 384 of the 420 other photos of a test object that sit in training, with no false pair in 600
    group-split test images (1 in 750 with one photo per object); phash at 0.875 finds 174 of the 180 copies
    but only 176 of the 420 other photos, with 18 false pairs in 600. Limits: where different samples
    genuinely look alike (the 8 x 8 handwritten ``digits``) or are textures (``defects``) the thumbnail
    flags look-alikes too; there ``method="phash"`` (no false pair on ``defects``) or a higher threshold
    works better.

    Parameters
    ----------
    train, test : ImageDataset or tensor N x C x H x W
    threshold : float, optional
        Report pairs at least this similar. Defaults: thumbnail 0.88, phash 0.875 (at most 8 of 64 bits
        differ), embedding 0.95.
    method : {"thumbnail", "phash", "embedding"}, optional
        Default ``"embedding"`` when a model is given, else ``"thumbnail"``.
    model : torch.nn.Module or callable, optional
        The backbone for ``method="embedding"``.
    batch_size : int
        Test images compared at a time (memory: ``batch_size x len(train)`` floats).

    Returns
    -------
    list of DuplicatePair
        For each test image whose most similar training image reaches ``threshold``:
        ``(train_index, test_index, similarity)``, most similar first.

    Examples
    --------
    >>> train = torch.rand(10, 3, 32, 32)
    >>> test = torch.cat([train[3:4] * 0.9, torch.rand(2, 3, 32, 32)])
    >>> find_near_duplicates(train, test)[0][:2]
    (3, 0)
    """
    x_train = _as_image_batch(train, "train")
    x_test = _as_image_batch(test, "test")
    if method is None:
        method = "embedding" if model is not None else "thumbnail"
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}.")
    if method == "embedding" and model is None:
        raise ValueError("method='embedding' needs a backbone: pass model=... (e.g. course_cnn(weights='DEFAULT')).")
    if model is not None and method != "embedding":
        raise ValueError(f"model= is only used with method='embedding', not method={method!r}.")
    if model is not None and not callable(model):
        raise TypeError(f"model must be a torch.nn.Module or a callable, got {type(model).__name__}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    if threshold is None:
        threshold = _DEFAULT_THRESHOLD[method]
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not -1.0 <= float(threshold) <= 1.0:
        raise ValueError(f"threshold must be a similarity between -1 and 1 (usually near 1), got {threshold!r}.")

    a, b, to_similarity = _fingerprints(method, x_train, x_test, model, batch_size)
    pairs: list[DuplicatePair] = []
    for start in range(0, b.shape[0], batch_size):
        sim = to_similarity(b[start : start + batch_size] @ a.T)
        best, idx = sim.max(dim=1)
        for j in torch.nonzero(best >= float(threshold) - 1e-6).flatten().tolist():
            pairs.append(DuplicatePair(int(idx[j]), start + j, round(float(best[j]), 6)))
    pairs.sort(key=lambda p: (-p.similarity, p.test_index))
    return pairs


# ---------------------------------------------------------------------------------------------------------------
# Overfitting
@dataclass
class OverfittingReport:
    """What the training curves say about overfitting.

    Attributes
    ----------
    overfitting : bool
    best_epoch : int
        Epoch with the lowest validation loss.
    turn_epoch : int or None
        Epoch after which validation loss turned upwards for good (``None`` if it never did).
    loss_gap, accuracy_gap : float
        At the last epoch: ``val_loss - train_loss`` and ``train_acc - val_acc`` (NaN when unknown).
    val_loss_rise : float
        Last validation loss minus the lowest one.
    message : str
        One or two plain sentences.
    """

    overfitting: bool
    best_epoch: int
    turn_epoch: int | None
    loss_gap: float
    accuracy_gap: float
    val_loss_rise: float
    message: str
    diverged: bool = False

    def __str__(self) -> str:
        return self.message

    def _repr_html_(self) -> str:
        colour = "#b3261e" if self.overfitting or self.diverged else "#1b7f3b"
        return f"<div style='color:{colour};font-family:sans-serif'>{html.escape(self.message)}</div>"


_HISTORY_COLUMNS = ("train_loss", "val_loss", "train_acc", "val_acc")


def _history_columns(history: Any) -> tuple[list[int], dict[str, list[float]]]:
    records = getattr(history, "records", None)
    if records is None and isinstance(history, Sequence) and history and isinstance(history[0], Mapping):
        records = list(history)
    if records is not None:
        if not records:
            raise ValueError("The history is empty: train for at least one epoch first.")
        cols = {
            k: [float(r[k]) if r.get(k) is not None else math.nan for r in records]
            for k in _HISTORY_COLUMNS
            if k in records[0]
        }
        epochs = [int(r.get("epoch", i)) for i, r in enumerate(records)]
        return epochs, cols
    if isinstance(history, Mapping):
        cols = {
            k: [float(v) if v is not None else math.nan for v in history[k]] for k in _HISTORY_COLUMNS if k in history
        }
        n = len(next(iter(cols.values()))) if cols else 0
        epochs = [int(e) for e in history.get("epoch", range(n))]
        return epochs, cols
    raise TypeError(
        "history must be a course_lib.training.History, a list of per-epoch dicts, or a dict of lists "
        f"(with at least train_loss and val_loss), got {type(history).__name__}."
    )


def overfitting_report(history: Any, *, tolerance: float = 0.10, max_accuracy_gap: float = 0.10) -> OverfittingReport:
    """Say whether a training run overfitted, and from which epoch.

    Overfitting is reported when the validation loss ended more than ``tolerance`` (relative, default 10 %)
    above its lowest value, at least two epochs after that low point, while the training loss kept
    falling; or when training accuracy ended more than ``max_accuracy_gap`` above validation accuracy.

    Parameters
    ----------
    history : History, list of dict or dict of lists
        Needs ``train_loss`` and ``val_loss``; ``train_acc``/``val_acc`` are used when present.

    Examples
    --------
    >>> h = {"train_loss": [1.0, 0.6, 0.4, 0.2, 0.1, 0.05], "val_loss": [1.0, 0.7, 0.6, 0.7, 0.8, 0.9]}
    >>> rep = overfitting_report(h)
    >>> rep.overfitting, rep.turn_epoch
    (True, 2)
    """
    epochs, cols = _history_columns(history)
    for key in ("train_loss", "val_loss"):
        if key not in cols:
            raise ValueError(f"history has no '{key}' column; train with a validation set so both losses are recorded.")
    train_loss = np.asarray(cols["train_loss"], dtype=float)
    val_loss = np.asarray(cols["val_loss"], dtype=float)
    train_acc = np.asarray(cols.get("train_acc", [math.nan] * len(epochs)), dtype=float)
    val_acc = np.asarray(cols.get("val_acc", [math.nan] * len(epochs)), dtype=float)
    if not (train_loss.size == val_loss.size == len(epochs)):
        raise ValueError("history columns have different lengths; record every column once per epoch.")

    diverged = bool(np.any(~np.isfinite(train_loss)) or np.any(~np.isfinite(val_loss)))
    finite = np.isfinite(val_loss)
    if not finite.any():
        return OverfittingReport(False, epochs[0], None, math.nan, math.nan, math.nan,
                                 "Training diverged from the start (the losses are NaN or infinite): lower the learning rate.",
                                 diverged=True)
    best_i = int(np.nanargmin(np.where(finite, val_loss, np.inf)))
    last = len(epochs) - 1
    best_val = float(val_loss[best_i])
    val_rise = float(val_loss[last] - best_val) if np.isfinite(val_loss[last]) else math.inf
    loss_gap = float(val_loss[last] - train_loss[last])
    acc_gap = float(train_acc[last] - val_acc[last])

    rising = (
        last - best_i >= 2
        and val_rise > tolerance * max(abs(best_val), 1e-12)
        and train_loss[last] < train_loss[best_i]
    )
    gap_too_large = np.isfinite(acc_gap) and acc_gap > max_accuracy_gap
    overfitting = bool(rising or gap_too_large)
    turn = epochs[best_i] if rising else None

    if diverged:
        message = (
            f"Training diverged (a loss became NaN or infinite); the best validation loss was "
            f"{best_val:.3f} at epoch {epochs[best_i]}. Lower the learning rate."
        )
    elif rising:
        message = (
            f"Overfitting: validation loss was lowest at epoch {epochs[best_i]} ({best_val:.3f}) and rose to "
            f"{val_loss[last]:.3f} by epoch {epochs[last]}, while training loss kept falling "
            f"({train_loss[best_i]:.3f} -> {train_loss[last]:.3f}). Keep the weights from epoch {epochs[best_i]} "
            "(early stopping), or add data augmentation or freeze more layers."
        )
        if gap_too_large:
            message += f" Training accuracy ends {acc_gap:.0%} above validation accuracy."
    elif gap_too_large:
        message = (
            f"Overfitting: training accuracy ends {acc_gap:.0%} above validation accuracy "
            f"({train_acc[last]:.2f} vs {val_acc[last]:.2f}): the model memorises training images it cannot "
            "generalise from."
        )
    elif best_i == last:
        message = (
            f"No sign of overfitting: validation loss was still falling at the last epoch ({epochs[last]}, "
            f"{best_val:.3f}); training longer may help."
        )
    else:
        message = (
            f"No clear overfitting: validation loss was lowest at epoch {epochs[best_i]} ({best_val:.3f}) and "
            f"ended within {tolerance:.0%} of it."
        )
    return OverfittingReport(overfitting, epochs[best_i], turn, loss_gap, acc_gap, val_rise, message, diverged)
