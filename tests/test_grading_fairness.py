"""Fairness of every exercise of every lesson, graded through the real pipeline.

For each exercise: at least one alternative-correct answer (must keep full marks), one plausible-wrong answer and one
cheating answer (objects that compare equal, subclasses of the expected types, lying ``__getitem__``, forbidden
calls, monkeypatching): both must lose marks, in the graded cells named here. Cases are written from the task texts.

Everything is graded in ONE ``grading/grade.py`` run over all seven lessons (sandboxed kernel, ``SafeExecute``, a real
sqlite gradebook). Each submission notebook carries one variant per exercise (graded cells test one function each,
so they do not interfere): three submissions per lesson rotate alternative / wrong / cheat over the exercises, lesson
3 has five (its two-stage exercise has two correct and two lenient variants beside the cheat). The table
exercise x variant -> points is printed and written to ``test-artifacts/fairness.md``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from grading.classroom import generate, new_course, release_notebooks, solution_sources, solved, submit  # noqa: E402
from grading.sandbox import ensure_bubblewrap  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800),
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]

GRADE = [sys.executable, str(REPO / "grading" / "grade.py")]
STUDENTS = ["fair_a", "fair_b", "fair_c", "fair_d", "fair_e"]


def _d(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


# A float / int / str / tuple that says it equals anything (the classic cheat), as source to paste in an answer.
SLY = _d("""
    class _Sly:
        def __eq__(self, other):
            return True
        def __ne__(self, other):
            return False
        __hash__ = object.__hash__
    class SlyFloat(_Sly, float):
        __hash__ = float.__hash__
        def __sub__(self, other):
            return 0.0
        def __rsub__(self, other):
            return 0.0
        def __abs__(self):
            return 0.0
    class SlyInt(_Sly, int):
        __hash__ = int.__hash__
    class SlyStr(_Sly, str):
        __hash__ = str.__hash__
        def __contains__(self, item):
            return True
    class SlyTuple(_Sly, tuple):
        __hash__ = tuple.__hash__
    class SlyList(_Sly, list):
        pass
    class LyingDict(dict):
        def __getitem__(self, key):
            return "recall" if key != "precision_keys" else []
        def get(self, key, default=None):
            return "recall"
    """)

# lesson -> exercise -> {"cells": {grade_id: points}, "solution": solution grade_id, "variants": {name: (kind,
# source or None for the reference, {grade_id: expected points} for cells that must lose or keep marks)}}
# kind is "alternative", "wrong" or "cheat"; alternative variants expect every cell full.
EXERCISES: dict[str, dict[str, dict]] = {
    "01_metrics": {
        "count_outcomes": dict(solution="count_outcomes", cells={"count_outcomes_tests": 2, "count_outcomes_lengths": 1}, variants={
            "loop over zip": ("alternative", _d("""
                def count_outcomes(y_true, y_pred, pos_label=1):
                    if len(y_true) != len(y_pred):
                        raise ValueError("y_true and y_pred have different lengths")
                    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
                    for t, p in zip(list(y_true), list(y_pred)):
                        real, said = t == pos_label, p == pos_label
                        key = ("t" if real == said else "f") + ("p" if said else "n")
                        counts[key] += 1
                    return counts
                """), {}),
            "FP and FN swapped": ("wrong", _d("""
                def count_outcomes(y_true, y_pred, pos_label=1):
                    if len(y_true) != len(y_pred):
                        raise ValueError("different lengths")
                    a, p = np.asarray(y_true) == pos_label, np.asarray(y_pred) == pos_label
                    return {"tp": int(np.sum(a & p)), "fp": int(np.sum(a & ~p)), "fn": int(np.sum(~a & p)),
                            "tn": int(np.sum(~a & ~p))}
                """), {"count_outcomes_tests": 0, "count_outcomes_lengths": 0}),
            "ints that equal anything": ("cheat", SLY + "\n" + _d("""
                def count_outcomes(y_true, y_pred, pos_label=1):
                    if len(y_true) != len(y_pred):
                        raise ValueError("different lengths")
                    return {k: SlyInt(0) for k in ("tp", "fp", "fn", "tn")}
                """), {"count_outcomes_tests": 0, "count_outcomes_lengths": 0}),
        }),
        "precision_recall_f1": dict(solution="precision_recall_f1", cells={"precision_recall_f1_tests": 2, "precision_recall_f1_zero": 1}, variants={
            "vectorised numpy (warns 0/0)": ("alternative", _d("""
                def precision_recall_f1(tp, fp, fn):
                    rates = np.array([tp, tp, 2 * tp], dtype=float) / np.array([tp + fp, tp + fn, 2 * tp + fp + fn])
                    rates = np.where(np.isfinite(rates), rates, 0.0)
                    return tuple(float(r) for r in rates)
                """), {}),
            "a list instead of a tuple": ("wrong", _d("""
                def precision_recall_f1(tp, fp, fn):
                    p = tp / (tp + fp) if tp + fp else 0.0
                    r = tp / (tp + fn) if tp + fn else 0.0
                    f = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
                    return [float(p), float(r), float(f)]
                """), {"precision_recall_f1_tests": 0, "precision_recall_f1_zero": 0}),
            "tuple subclass equal to anything": ("cheat", SLY + "\n" + _d("""
                def precision_recall_f1(tp, fp, fn):
                    return SlyTuple((SlyFloat(0.0), SlyFloat(0.0), SlyFloat(0.0)))
                """), {"precision_recall_f1_tests": 0, "precision_recall_f1_zero": 0}),
        }),
        "multiclass_confusion": dict(solution="multiclass_confusion", cells={"multiclass_confusion_tests": 2}, variants={
            "np.add.at": ("alternative", _d("""
                def multiclass_confusion(y_true, y_pred, n_classes):
                    m = np.zeros((n_classes, n_classes), dtype=int)
                    np.add.at(m, (np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)), 1)
                    return m
                """), {}),
            "rows are predictions (transposed)": ("wrong", _d("""
                def multiclass_confusion(y_true, y_pred, n_classes):
                    m = np.zeros((n_classes, n_classes), dtype=int)
                    for t, p in zip(y_true, y_pred):
                        m[int(p), int(t)] += 1
                    return m
                """), {"multiclass_confusion_tests": 0}),
            "ndarray subclass equal to anything": ("cheat", _d("""
                class Sly(np.ndarray):
                    def __eq__(self, other):
                        return np.ones(np.shape(other), dtype=bool)
                def multiclass_confusion(y_true, y_pred, n_classes):
                    return np.zeros((n_classes, n_classes), dtype=int).view(Sly)
                """), {"multiclass_confusion_tests": 0}),
        }),
    },
    "02_pretrained_models": {
        "freeze_by_hand": dict(solution="freeze_by_hand", cells={"freeze_by_hand_cnn": 1, "freeze_by_hand_torchvision": 1}, variants={
            "requires_grad_(False)": ("alternative", "def freeze_by_hand(model):\n    model.requires_grad_(False)\n    return model", {}),
            "only direct parameters of each child": ("wrong", _d("""
                def freeze_by_hand(model):
                    for child in model.children():
                        for p in child.parameters(recurse=False):
                            p.requires_grad = False
                    return model
                """), {"freeze_by_hand_cnn": 0, "freeze_by_hand_torchvision": 0}),
            "hides the parameters of the model it gets": ("cheat", _d("""
                def freeze_by_hand(model):
                    model.parameters = lambda *args, **kwargs: iter([])   # "no parameter requires grad" now
                    return model
                """), {"freeze_by_hand_cnn": 0, "freeze_by_hand_torchvision": 0}),
        }),
        "new_head": dict(solution="new_head", cells={"new_head_cnn": 1, "new_head_torchvision": 2}, variants={
            "hasattr and indexing": ("alternative", _d("""
                def new_head(model, num_classes):
                    if hasattr(model, "fc") and isinstance(model.fc, nn.Linear):
                        setattr(model, "fc", nn.Linear(model.fc.in_features, num_classes))
                        return model
                    classifier = getattr(model, "classifier", None)
                    if isinstance(classifier, nn.Sequential) and isinstance(classifier[len(classifier) - 1], nn.Linear):
                        last = len(classifier) - 1
                        classifier[last] = nn.Linear(classifier[last].in_features, num_classes)
                        return model
                    raise ValueError("no fc layer and no classifier Sequential: print(model) to find the head")
                """), {}),
            "Linear(out_features, k)": ("wrong", _d("""
                def new_head(model, num_classes):
                    if hasattr(model, "fc"):
                        model.fc = nn.Linear(model.fc.out_features, num_classes)
                    elif hasattr(model, "classifier"):
                        model.classifier[-1] = nn.Linear(model.classifier[-1].out_features, num_classes)
                    else:
                        raise ValueError("no head")
                    return model
                """), {"new_head_cnn": 0, "new_head_torchvision": 0}),
            "calls replace_head (forbidden)": ("cheat", _d("""
                def new_head(model, num_classes):
                    if not hasattr(model, "fc") and not hasattr(model, "classifier"):
                        raise ValueError("no head")
                    return replace_head(model, num_classes)
                """), {"new_head_torchvision": 0}),
        }),
        "count_trainable": dict(solution="count_trainable", cells={"count_trainable_tests": 2}, variants={
            "explicit loop": ("alternative", _d("""
                def count_trainable(model):
                    total = 0
                    for p in model.parameters():
                        if p.requires_grad:
                            total += p.numel()
                    return total
                """), {}),
            "counts tensors": ("wrong", "def count_trainable(model):\n    return sum(1 for p in model.parameters() if p.requires_grad)",
                               {"count_trainable_tests": 0}),
            "int subclass equal to anything": ("cheat", SLY + "\ndef count_trainable(model):\n    return SlyInt(0)",
                                               {"count_trainable_tests": 0}),
        }),
    },
    "03_fine_tuning": {
        "two_stage_by_hand": dict(solution="two_stage_by_hand", cells={"two_stage_visible": 1, "two_stage_hidden": 2}, variants={
            "lr / 10 without lr_mult": ("alternative", _d("""
                def two_stage_by_hand(model, train, val, *, head_epochs, body_epochs, lr, unfreeze_last_n=None):
                    freeze(model)
                    replace_head(model, len(train.classes))
                    first = fit(model, train, val, epochs=head_epochs, lr=lr, stage="head", progress=False)
                    unfreeze(model, last_n=unfreeze_last_n)
                    second = fit(model, train, val, epochs=body_epochs, lr=lr / 10, stage="body", progress=False)
                    return first + second
                """), {}),
            "unfreeze by requires_grad, rates by hand": ("alternative", _d("""
                def two_stage_by_hand(model, train, val, *, head_epochs, body_epochs, lr, unfreeze_last_n=None):
                    freeze(model)
                    replace_head(model, len(train.classes))
                    head_lr, body_lr, mult = lr, lr * 0.1, 10.0
                    first = fit(model, train, val, epochs=head_epochs, lr=head_lr, stage="head", progress=False)
                    chosen = blocks(model) if unfreeze_last_n is None else blocks(model)[-unfreeze_last_n:]
                    for _, block in chosen:
                        for p in block.parameters():
                            p.requires_grad = True
                    second = fit(model, train, val, epochs=body_epochs, lr=body_lr, lr_mult=mult, stage="body",
                                 progress=False)
                    return first + second
                """), {}),
            "stage two keeps the head's lr": ("wrong", _d("""
                def two_stage_by_hand(model, train, val, *, head_epochs, body_epochs, lr, unfreeze_last_n=None):
                    freeze(model)
                    replace_head(model, len(train.classes))
                    h1 = fit(model, train, val, epochs=head_epochs, lr=lr, stage="head", progress=False)
                    unfreeze(model, last_n=unfreeze_last_n)
                    h2 = fit(model, train, val, epochs=body_epochs, lr=lr, lr_mult=10, stage="body", progress=False)
                    return h1 + h2
                """), {"two_stage_hidden": 0}),
            "no head-only stage": ("wrong", _d("""
                def two_stage_by_hand(model, train, val, *, head_epochs, body_epochs, lr, unfreeze_last_n=None):
                    freeze(model)
                    replace_head(model, len(train.classes))
                    unfreeze(model, last_n=unfreeze_last_n)
                    h1 = fit(model, train, val, epochs=head_epochs, lr=lr, stage="head", progress=False)
                    h2 = fit(model, train, val, epochs=body_epochs, lr=lr, stage="body", progress=False)
                    return h1 + h2
                """), {"two_stage_hidden": 0}),
            "History subclass that lies": ("cheat", _d("""
                class FakeHistory(History):
                    def stage_starts(self):
                        return {"head": 0, "body": 1}
                    def __len__(self):
                        return 3
                def two_stage_by_hand(model, train, val, *, head_epochs, body_epochs, lr, unfreeze_last_n=None):
                    replace_head(model, len(train.classes))
                    unfreeze(freeze(model), last_n=unfreeze_last_n)
                    return FakeHistory()
                """), {"two_stage_visible": 0, "two_stage_hidden": 0}),
        }),
        "make_param_groups": dict(solution="make_param_groups", cells={"param_groups_visible": 1, "param_groups_hidden": 2}, variants={
            "names from named_parameters": ("alternative", _d("""
                def make_param_groups(model, lr, lr_mult):
                    head_name, _ = get_head(model)
                    head, body = [], []
                    for name, p in model.named_parameters():
                        if p.requires_grad:
                            (head if name.startswith(head_name + ".") else body).append(p)
                    return [g for g in ({"params": body, "lr": lr / lr_mult}, {"params": head, "lr": lr}) if g["params"]]
                """), {}),
            "frozen parameters in the body group": ("wrong", _d("""
                def make_param_groups(model, lr, lr_mult):
                    _, head = get_head(model)
                    ids = {id(p) for p in head.parameters()}
                    body = [p for p in model.parameters() if id(p) not in ids]
                    return [{"params": body, "lr": lr / lr_mult}, {"params": list(head.parameters()), "lr": lr}]
                """), {"param_groups_visible": 0, "param_groups_hidden": 0}),
            "calls course_lib.param_groups (forbidden)": ("cheat", _d("""
                def make_param_groups(model, lr, lr_mult):
                    return [{"params": list(g["params"]), "lr": float(g["lr"])} for g in param_groups(model, lr=lr, lr_mult=lr_mult)]
                """), {"param_groups_hidden": 0}),
        }),
        "read_table": dict(solution="read_table", cells={"best_recipe_tests": 1, "diverged_recipes_tests": 1}, variants={
            "sorted means, dict.fromkeys": ("alternative", _d("""
                def best_recipe(results):
                    names = list(dict.fromkeys(r["recipe"] for r in results))
                    def mean(name):
                        runs = [r["test_accuracy"] for r in results if r["recipe"] == name]
                        return sum(runs) / len(runs)
                    return sorted(names, key=mean, reverse=True)[0]
                def diverged_recipes(results):
                    return sorted(set(r["recipe"] for r in results if r["diverged"] is True))
                """), {}),
            "sum not mean; a set": ("wrong", _d("""
                def best_recipe(results):
                    total = {}
                    for r in results:
                        total[r["recipe"]] = total.get(r["recipe"], 0) + r["test_accuracy"]
                    return max(total, key=total.get)
                def diverged_recipes(results):
                    return {r["recipe"] for r in results if r["diverged"]}
                """), {"best_recipe_tests": 0, "diverged_recipes_tests": 0}),
            "str and list subclasses equal to anything": ("cheat", SLY + "\n" + _d("""
                def best_recipe(results):
                    return SlyStr("?")
                def diverged_recipes(results):
                    return SlyList()
                """), {"best_recipe_tests": 0, "diverged_recipes_tests": 0}),
        }),
    },
    "04_precision_recall": {
        "threshold_for_recall": dict(solution="threshold_for_recall", cells={"threshold_for_recall_tests": 2, "threshold_for_recall_edges": 1}, variants={
            "walk the unique scores": ("alternative", _d("""
                def threshold_for_recall(y_true, scores, target_recall):
                    if target_recall < 0 or target_recall > 1:
                        raise ValueError("target_recall must lie in [0, 1], e.g. 0.95")
                    y, s = np.asarray(y_true), np.asarray(scores, dtype=float)
                    n_pos = (y == 1).sum()
                    for t in sorted(set(s.tolist()), reverse=True):
                        if ((s >= t) & (y == 1)).sum() / n_pos >= target_recall:
                            return float(t)
                """), {}),
            "returns numpy.float64": ("wrong", _d("""
                def threshold_for_recall(y_true, scores, target_recall):
                    if not 0 <= target_recall <= 1:
                        raise ValueError("target_recall must lie in [0, 1]")
                    y, s = np.asarray(y_true), np.asarray(scores, dtype=float)
                    ok = [t for t in np.unique(s) if ((s >= t) & (y == 1)).sum() / (y == 1).sum() >= target_recall]
                    return max(ok)
                """), {"threshold_for_recall_tests": 0, "threshold_for_recall_edges": 0}),
            "calls course_lib's (forbidden)": ("cheat", _d("""
                from course_lib.metrics import threshold_for_recall as _library_version
                def threshold_for_recall(y_true, scores, target_recall):
                    return float(_library_version(y_true, scores, target_recall))
                """), {"threshold_for_recall_tests": 0}),
        }),
        "best_f1_threshold": dict(solution="best_f1_threshold", cells={"best_f1_threshold_tests": 2}, variants={
            "ascending with >=": ("alternative", _d("""
                def best_f1_threshold(y_true, scores):
                    y, s = np.asarray(y_true) == 1, np.asarray(scores, dtype=float)
                    best, best_f1 = None, -1.0
                    for t in np.unique(s):
                        tp = int((y & (s >= t)).sum())
                        f1 = 2 * tp / (tp + int((s >= t).sum()) - tp + int(y.sum())) if tp else 0.0
                        if f1 >= best_f1:
                            best, best_f1 = float(t), f1
                    return best
                """), {}),
            "ties go to the lowest threshold": ("wrong", _d("""
                def best_f1_threshold(y_true, scores):
                    y, s = np.asarray(y_true) == 1, np.asarray(scores, dtype=float)
                    best, best_f1 = None, -1.0
                    for t in np.unique(s):
                        tp = int((y & (s >= t)).sum())
                        f1 = 2 * tp / (int((s >= t).sum()) + int(y.sum())) if tp else 0.0
                        if f1 > best_f1:
                            best, best_f1 = float(t), f1
                    return best
                """), {"best_f1_threshold_tests": 0}),
            "float subclass equal to anything": ("cheat", SLY + "\ndef best_f1_threshold(y_true, scores):\n    return SlyFloat(0.5)",
                                                 {"best_f1_threshold_tests": 0}),
        }),
        "scenario_metric": dict(solution="scenario_metric", cells={"scenario_metric_tests": 0.5, "scenario_metric_line_stop": 0.5,
                                                                    "scenario_metric_spam_filter": 0.5, "scenario_metric_luggage_weapons": 0.5,
                                                                    "scenario_metric_auto_refund_fraud": 0.5, "scenario_metric_wildfire_smoke": 0.5}, variants={
            "built with dict()": ("alternative", _d("""
                scenario_metric = dict(tumour_screening="recall", line_stop="precision", spam_filter="precision",
                                       luggage_weapons="recall", auto_refund_fraud="precision", wildfire_smoke="recall")
                """), {}),
            "line_stop answered 'recall'": ("wrong", _d("""
                scenario_metric = {"tumour_screening": "recall", "line_stop": "recall", "spam_filter": "precision",
                                   "luggage_weapons": "recall", "auto_refund_fraud": "precision", "wildfire_smoke": "recall"}
                """), {"scenario_metric_line_stop": 0, "scenario_metric_tests": 0.5, "scenario_metric_spam_filter": 0.5,
                       "scenario_metric_wildfire_smoke": 0.5}),
            "dict subclass with a lying __getitem__": ("cheat", SLY + "\n" + _d("""
                scenario_metric = LyingDict(tumour_screening="recall", line_stop="recall", spam_filter="recall",
                                            luggage_weapons="recall", auto_refund_fraud="recall", wildfire_smoke="recall")
                """), {"scenario_metric_tests": 0, "scenario_metric_line_stop": 0, "scenario_metric_spam_filter": 0,
                       "scenario_metric_auto_refund_fraud": 0}),
        }),
    },
    "05_accuracy_paradox": {
        "majority_baseline": dict(solution="majority_baseline", cells={"majority_baseline_tests": 2, "majority_baseline_empty": 1}, variants={
            "collections.Counter": ("alternative", _d("""
                from collections import Counter
                def majority_baseline_accuracy(y_true):
                    labels = y_true.tolist() if isinstance(y_true, torch.Tensor) else list(np.asarray(y_true).ravel())
                    if not labels:
                        raise ValueError("y_true is empty: no majority class")
                    return Counter(labels).most_common(1)[0][1] / len(labels)
                """), {}),
            "returns numpy.float64": ("wrong", _d("""
                def majority_baseline_accuracy(y_true):
                    y = np.asarray(y_true)
                    if y.size == 0:
                        raise ValueError("empty")
                    return np.bincount(y).max() / y.size
                """), {"majority_baseline_tests": 0, "majority_baseline_empty": 0}),
            "float subclass equal to anything": ("cheat", SLY + "\n" + _d("""
                def majority_baseline_accuracy(y_true):
                    if len(y_true) == 0:
                        raise ValueError("empty")
                    return SlyFloat(0.0)
                """), {"majority_baseline_tests": 0, "majority_baseline_empty": 0}),
        }),
        "is_accuracy_paradox": dict(solution="is_accuracy_paradox", cells={"paradox_tests": 3}, variants={
            "uses Part A (whatever Part A is)": ("alternative", _d("""
                def is_accuracy_paradox(y_true, y_pred, *, pos_label=1, margin=0.02, min_recall=0.5):
                    yt = np.array(y_true.tolist() if isinstance(y_true, torch.Tensor) else y_true)
                    yp = np.array(y_pred.tolist() if isinstance(y_pred, torch.Tensor) else y_pred)
                    accuracy = (yt == yp).mean()
                    recall = (yp[yt == pos_label] == pos_label).mean()
                    return bool(accuracy <= majority_baseline_accuracy(yt) + margin or recall < min_recall)
                """), {}),
            "strict < for the accuracy rule": ("wrong", _d("""
                def is_accuracy_paradox(y_true, y_pred, *, pos_label=1, margin=0.02, min_recall=0.5):
                    yt, yp = np.asarray(y_true), np.asarray(y_pred)
                    base = np.unique(yt, return_counts=True)[1].max() / yt.size
                    recall = np.mean(yp[yt == pos_label] == pos_label)
                    return bool(np.mean(yt == yp) < base + margin or recall < min_recall)
                """), {"paradox_tests": 0}),
            "an object equal to True and False": ("cheat", SLY + "\n" + _d("""
                class SlyBool(_Sly):
                    def __bool__(self):
                        return True
                def is_accuracy_paradox(y_true, y_pred, *, pos_label=1, margin=0.02, min_recall=0.5):
                    return SlyBool()
                """), {"paradox_tests": 0}),
        }),
        "threshold_reaching_recall": dict(solution="threshold_reaching_recall", cells={"threshold_tests": 3}, variants={
            "sort once, cumulative counts": ("alternative", _d("""
                def threshold_reaching_recall(y_true, scores, min_recall=0.8):
                    y = np.array(y_true.tolist() if isinstance(y_true, torch.Tensor) else y_true)
                    s = np.array(scores.tolist() if isinstance(scores, torch.Tensor) else scores, dtype=float)
                    candidates = np.unique(s)[::-1]
                    found = np.array([np.sum((s >= t) & (y == 1)) for t in candidates])
                    flagged = np.array([np.sum(s >= t) for t in candidates])
                    i = int(np.argmax(found / np.sum(y == 1) >= min_recall))
                    return float(candidates[i]), float(found[i] / flagged[i])
                """), {}),
            "returns a list": ("wrong", _d("""
                def threshold_reaching_recall(y_true, scores, min_recall=0.8):
                    y, s = np.asarray(y_true), np.asarray(scores, dtype=float)
                    for t in np.unique(s)[::-1]:
                        tp = np.sum((s >= t) & (y == 1))
                        if tp / np.sum(y == 1) >= min_recall:
                            return [float(t), float(tp / np.sum(s >= t))]
                """), {"threshold_tests": 0}),
            "tuple subclass equal to anything": ("cheat", SLY + "\n" + _d("""
                def threshold_reaching_recall(y_true, scores, min_recall=0.8):
                    return SlyTuple((SlyFloat(0.5), SlyFloat(0.5)))
                """), {"threshold_tests": 0}),
        }),
    },
    "06_leakage_and_overfitting": {
        "accuracy_inflation": dict(solution="accuracy_inflation", cells={"inflation_tests": 2}, variants={
            "scikit-learn's accuracy_score": ("alternative", _d("""
                from sklearn.metrics import accuracy_score
                def accuracy_inflation(y_true_leaky, y_pred_leaky, y_true_clean, y_pred_clean):
                    pairs = [(np.asarray(a), np.asarray(b)) for a, b in ((y_true_leaky, y_pred_leaky), (y_true_clean, y_pred_clean))]
                    if any(a.shape != b.shape for a, b in pairs):
                        raise ValueError("labels and predictions differ in length")
                    return float(accuracy_score(*pairs[0]) - accuracy_score(*pairs[1]))
                """), {}),
            "clean minus leaky": ("wrong", _d("""
                def accuracy_inflation(y_true_leaky, y_pred_leaky, y_true_clean, y_pred_clean):
                    a = [np.asarray(v) for v in (y_true_leaky, y_pred_leaky, y_true_clean, y_pred_clean)]
                    if a[0].shape != a[1].shape or a[2].shape != a[3].shape:
                        raise ValueError("lengths differ")
                    return float(np.mean(a[2] == a[3]) - np.mean(a[0] == a[1]))
                """), {"inflation_tests": 0}),
            "float subclass equal to anything": ("cheat", SLY + "\n" + _d("""
                def accuracy_inflation(y_true_leaky, y_pred_leaky, y_true_clean, y_pred_clean):
                    if len(y_true_leaky) != len(y_pred_leaky) or len(y_true_clean) != len(y_pred_clean):
                        raise ValueError("lengths differ")
                    return SlyFloat(0.0)
                """), {"inflation_tests": 0}),
        }),
        "count_leaked": dict(solution="count_leaked", cells={"count_leaked_tests": 3}, variants={
            "any() over rows": ("alternative", _d("""
                def count_leaked(similarity, threshold):
                    sim = np.asarray(similarity.tolist() if isinstance(similarity, torch.Tensor) else similarity)
                    if sim.ndim != 2:
                        raise ValueError("similarity must be 2-D")
                    return int(np.any(sim >= threshold, axis=1).sum())
                """), {}),
            "counts matching pairs": ("wrong", _d("""
                def count_leaked(similarity, threshold):
                    sim = np.asarray(similarity)
                    if sim.ndim != 2:
                        raise ValueError("similarity must be 2-D")
                    return int((sim >= threshold).sum())
                """), {"count_leaked_tests": 0}),
            "int subclass equal to anything": ("cheat", SLY + "\n" + _d("""
                def count_leaked(similarity, threshold):
                    if len(getattr(similarity, "shape", ())) != 2:
                        raise ValueError("similarity must be 2-D")
                    return SlyInt(0)
                """), {"count_leaked_tests": 0}),
        }),
        "epoch_to_keep": dict(solution="epoch_to_keep", cells={"epoch_to_keep_tests": 3}, variants={
            "window formulation": ("alternative", _d("""
                def epoch_to_keep(val_losses, patience):
                    losses = list(val_losses)
                    best = 0
                    for epoch in range(1, len(losses)):
                        if epoch - best > patience:
                            break
                        if losses[epoch] < losses[best]:
                            best = epoch
                    return best
                """), {}),
            "ignores patience (argmin)": ("wrong", "def epoch_to_keep(val_losses, patience):\n    return int(np.argmin(val_losses))",
                                          {"epoch_to_keep_tests": 0}),
            "int subclass equal to anything": ("cheat", SLY + "\ndef epoch_to_keep(val_losses, patience):\n    return SlyInt(0)",
                                               {"epoch_to_keep_tests": 0}),
        }),
    },
    "07_capstone": {
        "choose_recipe": dict(solution="choose_recipe", cells={"choose_recipe_tests": 1, "choose_recipe_diverged": 1}, variants={
            "sorted by speed": ("alternative", _d("""
                def choose_recipe(results, tolerance=0.01):
                    ok = [r for r in results if not r["diverged"]]
                    if len(ok) == 0:
                        raise ValueError("no run converged")
                    top = max(r["val_accuracy"] for r in ok)
                    return sorted((r for r in ok if r["val_accuracy"] >= top - tolerance), key=lambda r: r["seconds"])[0]["recipe"]
                """), {}),
            "forgets diverged runs": ("wrong", _d("""
                def choose_recipe(results, tolerance=0.01):
                    if not results:
                        raise ValueError("no runs")
                    best = max(r["val_accuracy"] for r in results)
                    return min((r for r in results if best - r["val_accuracy"] <= tolerance), key=lambda r: r["seconds"])["recipe"]
                """), {"choose_recipe_diverged": 0}),
            "str subclass equal to anything": ("cheat", SLY + "\n" + _d("""
                def choose_recipe(results, tolerance=0.01):
                    if not [r for r in results if not r["diverged"]]:
                        raise ValueError("no run")
                    return SlyStr("two_stage")
                """), {"choose_recipe_tests": 0, "choose_recipe_diverged": 0}),
        }),
        "worst_class_recall": dict(solution="worst_class_recall", cells={"worst_class_recall_tests": 1, "worst_class_recall_edges": 1}, variants={
            "vectorised with NaN for empty rows": ("alternative", _d("""
                def worst_class_recall(cm, class_names):
                    cm = np.asarray(cm, dtype=float)
                    with np.errstate(invalid="ignore", divide="ignore"):
                        recalls = np.diag(cm) / cm.sum(axis=1)
                    i = int(np.nanargmin(recalls))
                    return class_names[i], float(recalls[i])
                """), {}),
            "divides by the column (precision)": ("wrong", _d("""
                def worst_class_recall(cm, class_names):
                    cm = np.asarray(cm)
                    support = cm.sum(axis=0)
                    values = [(float(cm[i, i] / support[i]), i) for i in range(len(class_names)) if support[i]]
                    value, i = min(values)
                    return class_names[i], value
                """), {"worst_class_recall_tests": 0, "worst_class_recall_edges": 0}),
            "tuple subclass equal to anything": ("cheat", SLY + "\n" + _d("""
                def worst_class_recall(cm, class_names):
                    return SlyTuple((SlyStr("?"), SlyFloat(0.0)))
                """), {"worst_class_recall_tests": 0, "worst_class_recall_edges": 0}),
        }),
        "verdict": dict(solution="verdict", cells={"verdict_good_tests": 1, "verdict_bad_tests": 1, "verdict_matches_course_lib": 1}, variants={
            "rounded comparisons": ("alternative", _d("""
                def verdict(metrics):
                    a, p, r, f = (round(float(metrics[k]), 9) for k in ("accuracy", "precision", "recall", "f1"))
                    gap = round(abs(p - r), 9)
                    if a < 0.70 or p < 0.50 or r < 0.50 or gap > 0.20:
                        return "bad"
                    return "good" if min(p, r, f) > 0.80 and a > 0.85 else "needs work"
                """), {}),
            "no tolerance on the gap": ("wrong", _d("""
                def verdict(metrics):
                    a, p, r, f = metrics["accuracy"], metrics["precision"], metrics["recall"], metrics["f1"]
                    if a < 0.70 or r < 0.50 or p < 0.50 or abs(p - r) > 0.20:
                        return "bad"
                    if a > 0.85 and p > 0.80 and r > 0.80 and f > 0.80:
                        return "good"
                    return "needs work"
                """), {"verdict_good_tests": 0, "verdict_bad_tests": 1}),
            "str subclass equal to anything": ("cheat", SLY + "\ndef verdict(metrics):\n    return SlyStr('good')",
                                               {"verdict_good_tests": 0, "verdict_bad_tests": 0, "verdict_matches_course_lib": 0}),
        }),
        "graded_quiz": dict(solution="graded_quiz_answers", cells={f"graded_quiz_q{i}": 1 for i in range(1, 11)}, variants={
            "lower case and spaces": ("alternative", _d("""
                answers = {"q1": " c", "q2": "b", "q3": "d ", "q4": "a", "q5": "B",
                           "q6": "c", "q7": "D", "q8": "a", "q9": "c", "q10": "b"}
                """), {}),
            "two wrong answers": ("wrong", _d("""
                answers = {"q1": "C", "q2": "B", "q3": "A", "q4": "A", "q5": "B",
                           "q6": "C", "q7": "D", "q8": "A", "q9": "C", "q10": "A"}
                """), {"graded_quiz_q3": 0, "graded_quiz_q10": 0, "graded_quiz_q1": 1}),
            "str subclass equal to anything": ("cheat", SLY + "\n" + _d("""
                class Liar(SlyStr):
                    def strip(self, *args):
                        return self
                    def upper(self):
                        return self
                answers = {f"q{i}": Liar("A") for i in range(1, 11)}
                """), {f"graded_quiz_q{i}": 0 for i in range(1, 11)}),
        }),
    },
}

KINDS = ("alternative", "wrong", "cheat")


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a cell loads, names it binds), IPython magics allowed."""
    import ast

    from IPython.core.inputtransformer2 import TransformerManager

    tree = ast.parse(TransformerManager().transform_cell(source))
    used, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (used if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return used, bound


def _trimmed(nb):
    """The notebook without its demo code cells (a learner may delete those): what is left is the set-up cell (the
    first code cell), every nbgrader cell and the markdown. Grading it takes seconds instead of the lesson's Run All."""
    import nbformat

    nb = nbformat.from_dict(nb)
    first = next(c for c in nb.cells if c.cell_type == "code")
    nb.cells = [c for c in nb.cells if c.cell_type != "code" or c is first or c.metadata.get("nbgrader")]
    return nb


def _plan() -> list[tuple[str, str, str, str]]:
    """(lesson, student, exercise, variant name): which variant each submission carries, rotating the kinds."""
    plan = []
    for lesson, exercises in EXERCISES.items():
        n = max(3, max(len(e["variants"]) for e in exercises.values()))
        for index, (name, exercise) in enumerate(exercises.items()):
            variants = list(exercise["variants"])
            if len(variants) == n > 3:
                order = variants
            else:  # rotate alternative / wrong / cheat, so that one submission does not hold every wrong answer
                by_kind = {k: [v for v in variants if exercise["variants"][v][0] == k] for k in KINDS}
                order = [by_kind[KINDS[(s + index) % 3]][(s // 3) % len(by_kind[KINDS[(s + index) % 3]])]
                         for s in range(n)]
            for s in range(n):
                plan.append((lesson, STUDENTS[s], name, order[s]))
    return plan


PLAN = _plan()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    status = ensure_bubblewrap(install=True)
    course = new_course(tmp_path_factory.mktemp("fairness") / "course",
                        {lesson: REPO / "notebooks" / lesson for lesson in EXERCISES})
    for lesson in EXERCISES:
        generate(course, lesson)
    for lesson in EXERCISES:
        release = release_notebooks(course, lesson)[lesson]
        reference = solution_sources(course / "notebooks" / lesson / f"{lesson}.ipynb")
        for student in sorted({s for le, s, _, _ in PLAN if le == lesson}):
            answers = dict(reference)
            for le, s, exercise, variant in PLAN:
                if le == lesson and s == student:
                    info = EXERCISES[lesson][exercise]
                    answers[info["solution"]] = info["variants"][variant][1]
            submit(course, student, lesson, {lesson: _trimmed(solved(release, answers))},
                   timestamp="2026-12-01 10:00:00 UTC")
    run = subprocess.run([*GRADE, "--course-dir", str(course), "--jobs", "2", "--no-install", "--no-feedback"],
                         capture_output=True, text=True, timeout=1700)
    print(run.stdout[-4000:], run.stderr[-2000:])
    from nbgrader.api import Gradebook

    scores: dict[tuple[str, str, str], float] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for lesson, student, exercise, _ in PLAN:
            for cell in EXERCISES[lesson][exercise]["cells"]:
                grade = gb.find_grade(cell, lesson, lesson, student)
                scores[(lesson, student, cell)] = float(grade.score)
    return dict(course=course, run=run, scores=scores, sandbox=status)


@pytest.fixture(scope="module")
def table(graded):
    lines = ["| lesson | exercise | kind | variant | points | per cell |", "|---|---|---|---|---|---|"]
    for lesson, student, exercise, variant in PLAN:
        info = EXERCISES[lesson][exercise]
        kind = info["variants"][variant][0]
        got = {c: graded["scores"][(lesson, student, c)] for c in info["cells"]}
        cells = ", ".join(f"{c} {v:g}/{info['cells'][c]:g}" for c, v in got.items())
        lines.append(f"| {lesson} | {exercise} | {kind} | {variant} | {sum(got.values()):g}/{sum(info['cells'].values()):g}"
                     f" | {cells} |")
    text = "\n".join(lines)
    out = REPO / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "fairness.md").write_text(f"Sandbox: {graded['sandbox'].describe()}\n\n{text}\n")
    print("\n" + text)
    return text


def test_every_exercise_has_all_three_kinds():
    for lesson, exercises in EXERCISES.items():
        for name, info in exercises.items():
            kinds = {kind for kind, _, _ in info["variants"].values()}
            assert kinds == set(KINDS), (lesson, name, kinds)
            for variant in info["variants"]:
                assert any(p[0] == lesson and p[2] == name and p[3] == variant for p in PLAN), (lesson, name, variant)


@pytest.mark.parametrize("lesson", list(EXERCISES))
def test_graded_cells_need_no_demo_cell(lesson):
    """What the trimmed submissions rely on: no graded cell (nor any variant) uses a name only a demo cell defines."""
    import builtins

    import nbformat

    nb = nbformat.read(REPO / "notebooks" / lesson / f"{lesson}.ipynb", as_version=4)
    kept = _trimmed(nb).cells
    bound = set(dir(builtins)) | {"get_ipython"}
    for cell in kept:
        if cell.cell_type == "code":
            bound |= _names(cell.source)[1]
    for info in EXERCISES[lesson].values():
        for _, source, _ in info["variants"].values():
            bound |= _names(source)[1]
    missing = {}
    for cell in kept:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            missing[cell.metadata["nbgrader"]["grade_id"]] = sorted(_names(cell.source)[0] - bound)
    for info in EXERCISES[lesson].values():
        for name, (_, source, _) in info["variants"].items():
            missing[name] = sorted(_names(source)[0] - bound)
    assert not {k: v for k, v in missing.items() if v}, missing


def test_the_class_was_graded(graded):
    assert graded["run"].returncode == 0, graded["run"].stdout[-3000:] + graded["run"].stderr[-2000:]


@pytest.mark.parametrize("lesson,student,exercise,variant", PLAN, ids=[f"{p[0][:2]}-{p[2]}-{p[3]}" for p in PLAN])
def test_variant_gets_what_it_deserves(graded, table, lesson, student, exercise, variant):
    info = EXERCISES[lesson][exercise]
    kind, _, expected = info["variants"][variant]
    got = {c: graded["scores"][(lesson, student, c)] for c in info["cells"]}
    if kind == "alternative":
        assert got == {c: float(p) for c, p in info["cells"].items()}, f"a correct answer lost marks: {got}"
        return
    assert sum(got.values()) < sum(info["cells"].values()), f"a {kind} answer kept full marks: {got}"
    for cell, points in expected.items():
        assert got[cell] == points, f"{cell}: expected {points}, got {got[cell]} ({got})"
