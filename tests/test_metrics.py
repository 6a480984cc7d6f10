"""course_lib.metrics against scikit-learn, the reference it copies names and results from."""

from __future__ import annotations

import doctest
import math
import warnings

import numpy as np
import pytest
import sklearn.metrics as skm
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import course_lib
import course_lib.metrics as cm
from course_lib.metrics import (
    UndefinedMetricWarning,
    accuracy_score,
    average_precision_score,
    best_f1_threshold,
    classification_report,
    confusion_matrix,
    f1_score,
    fbeta_score,
    metrics_at_threshold,
    precision_recall_curve,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
    threshold_for_recall,
)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
AVERAGES = [None, "micro", "macro", "weighted"]
ZERO_DIVISIONS = ["warn", 0, 1, np.nan]
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_same(ours, ref) -> None:
    """Equal results, NaN == NaN, tuples element by element (None must match None)."""
    if isinstance(ref, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(ref)
        for a, b in zip(ours, ref, strict=True):
            assert_same(a, b)
        return
    if ref is None:
        assert ours is None
        return
    np.testing.assert_allclose(
        np.asarray(ours, dtype=float), np.asarray(ref, dtype=float), rtol=1e-12, atol=0
    )


def quiet(fn, *args, **kwargs):
    """Call with warnings silenced (scikit-learn warns for the same 0/0 cases we do)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def outcome(fn, *args, **kwargs):
    """The result, or the exception class, so both sides can be compared."""
    try:
        return quiet(fn, *args, **kwargs)
    except ValueError:
        return ValueError


# --------------------------------------------------------------------------------------------
# the course's worked example and the accuracy paradox
# --------------------------------------------------------------------------------------------

# 100 positives of which 80 are found; 100 negatives of which 10 are flagged by mistake
EX_TRUE = [1] * 100 + [0] * 100
EX_PRED = [1] * 80 + [0] * 20 + [1] * 10 + [0] * 90


def test_worked_example_counts_and_scores():
    tn, fp, fn, tp = confusion_matrix(EX_TRUE, EX_PRED).ravel()
    assert (tp, fn, fp, tn) == (80, 20, 10, 90)
    assert precision_score(EX_TRUE, EX_PRED) == pytest.approx(80 / 90)
    assert round(precision_score(EX_TRUE, EX_PRED), 2) == 0.89
    assert recall_score(EX_TRUE, EX_PRED) == pytest.approx(0.80)
    assert accuracy_score(EX_TRUE, EX_PRED) == pytest.approx(0.85)
    assert f1_score(EX_TRUE, EX_PRED) == pytest.approx(2 * 80 / (2 * 80 + 10 + 20))
    for ours, ref in [
        (precision_score, skm.precision_score),
        (recall_score, skm.recall_score),
        (f1_score, skm.f1_score),
        (accuracy_score, skm.accuracy_score),
    ]:
        assert ours(EX_TRUE, EX_PRED) == ref(EX_TRUE, EX_PRED)
    np.testing.assert_array_equal(confusion_matrix(EX_TRUE, EX_PRED), skm.confusion_matrix(EX_TRUE, EX_PRED))
    for beta in (0.5, 2.0):
        assert fbeta_score(EX_TRUE, EX_PRED, beta=beta) == skm.fbeta_score(EX_TRUE, EX_PRED, beta=beta)


def test_accuracy_paradox():
    y_true = [0] * 950 + [1] * 50  # 95% negatives
    always_negative = [0] * 1000
    assert accuracy_score(y_true, always_negative) == pytest.approx(0.95)
    assert recall_score(y_true, always_negative) == 0.0
    assert f1_score(y_true, always_negative, zero_division=0) == 0.0
    report = classification_report(y_true, always_negative, output_dict=True, zero_division=0)
    assert report["1"]["recall"] == 0.0 and report["accuracy"] == pytest.approx(0.95)
    assert report == skm.classification_report(y_true, always_negative, output_dict=True, zero_division=0)


def test_scalars_are_python_floats_and_matrix_is_int64():
    for value in [
        accuracy_score(EX_TRUE, EX_PRED),
        precision_score(EX_TRUE, EX_PRED),
        recall_score(torch.tensor(EX_TRUE), torch.tensor(EX_PRED), average="macro"),
        f1_score(np.array(EX_TRUE), EX_PRED, average="weighted"),
        roc_auc_score(EX_TRUE, np.linspace(0, 1, 200)),
        average_precision_score(EX_TRUE, np.linspace(0, 1, 200)),
    ]:
        assert type(value) is float
    matrix = confusion_matrix(torch.tensor(EX_TRUE), torch.tensor(EX_PRED))
    assert isinstance(matrix, np.ndarray) and matrix.dtype == np.int64
    assert confusion_matrix(EX_TRUE, EX_PRED, normalize="true").dtype == np.float64
    per_label = precision_score(EX_TRUE, EX_PRED, average=None)
    assert isinstance(per_label, np.ndarray) and per_label.shape == (2,)
    m = metrics_at_threshold(EX_TRUE, np.linspace(0, 1, 200), 0.5)
    assert all(type(m[k]) is int for k in ("tp", "fp", "fn", "tn"))
    assert all(type(m[k]) is float for k in ("threshold", "accuracy", "precision", "recall", "f1"))


# --------------------------------------------------------------------------------------------
# zero division
# --------------------------------------------------------------------------------------------

# nothing predicted positive: precision is 0/0; no positives at all in the second case
ZD_CASES = [([0, 1, 1, 0], [0, 0, 0, 0]), ([0, 0, 0], [0, 0, 0]), ([0, 1, 2, 2], [0, 0, 2, 2])]


@pytest.mark.parametrize("zero_division", ZERO_DIVISIONS)
@pytest.mark.parametrize("case", range(len(ZD_CASES)))
@pytest.mark.parametrize("name", ["precision_score", "recall_score", "f1_score"])
def test_zero_division_matches_sklearn(name, case, zero_division):
    y_true, y_pred = ZD_CASES[case]
    ours, ref = getattr(cm, name), getattr(skm, name)
    averages = AVERAGES + (["binary"] if len(set(y_true + y_pred)) <= 2 else [])
    for average in averages:
        assert_same(
            quiet(ours, y_true, y_pred, average=average, zero_division=zero_division),
            quiet(ref, y_true, y_pred, average=average, zero_division=zero_division),
        )


def test_zero_division_warn_warns_and_names_the_parameter():
    with pytest.warns(UndefinedMetricWarning, match="zero_division"):
        assert precision_score([0, 1, 1, 0], [0, 0, 0, 0]) == 0.0
    with pytest.warns(UndefinedMetricWarning, match="zero_division"):
        assert recall_score([0, 0], [0, 1]) == 0.0
    with pytest.warns(UndefinedMetricWarning, match="zero_division"):
        assert f1_score([0, 0], [0, 0]) == 0.0
    with pytest.warns(UndefinedMetricWarning, match=r"labels? .*'2'"):
        precision_score([0, 1, 2], [0, 1, 1], average=None)


@pytest.mark.parametrize("zero_division", [0, 1, np.nan])
def test_explicit_zero_division_is_silent(zero_division):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = precision_score([0, 1, 1, 0], [0, 0, 0, 0], zero_division=zero_division)
    assert value == zero_division or (math.isnan(value) and math.isnan(zero_division))


def test_only_the_asked_metric_warns():
    # recall is defined here (2 positives), precision is 0/0: recall_score must stay silent
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert recall_score([0, 1, 1, 0], [0, 0, 0, 0]) == 0.0


def test_pos_label_ignored_outside_binary_warns_like_sklearn():
    with pytest.warns(UserWarning, match="labels=\\[2\\]"):
        ours = recall_score([0, 1, 2, 2], [0, 2, 2, 1], average="macro", pos_label=2)
    assert ours == quiet(skm.recall_score, [0, 1, 2, 2], [0, 2, 2, 1], average="macro", pos_label=2)


# --------------------------------------------------------------------------------------------
# property tests against scikit-learn
# --------------------------------------------------------------------------------------------


@st.composite
def label_pairs(draw, max_classes=6, max_size=40):
    k = draw(st.integers(1, max_classes))
    n = draw(st.integers(1, max_size))
    labels = st.integers(0, k - 1)
    return draw(st.lists(labels, min_size=n, max_size=n)), draw(st.lists(labels, min_size=n, max_size=n))


@FAST
@given(
    pair=label_pairs(), zero_division=st.sampled_from(ZERO_DIVISIONS), beta=st.sampled_from([0.5, 1.0, 2.0])
)
def test_prfs_matches_sklearn_for_every_average(pair, zero_division, beta):
    y_true, y_pred = pair
    for average in AVERAGES + ["binary"]:
        kwargs = {"average": average, "zero_division": zero_division, "beta": beta}
        ours = outcome(precision_recall_fscore_support, y_true, y_pred, **kwargs)
        ref = outcome(skm.precision_recall_fscore_support, y_true, y_pred, **kwargs)
        if ref is ValueError:  # 'binary' on more than two classes, or pos_label=1 absent from {0, 2}
            assert ours is ValueError
        else:
            assert_same(ours, ref)


@FAST
@given(pair=label_pairs(), data=st.data())
def test_labels_argument_matches_sklearn(pair, data):
    y_true, y_pred = pair
    labels = data.draw(st.lists(st.integers(0, 7), min_size=1, max_size=5, unique=True))
    for average in AVERAGES:
        assert_same(
            quiet(precision_recall_fscore_support, y_true, y_pred, labels=labels, average=average),
            quiet(skm.precision_recall_fscore_support, y_true, y_pred, labels=labels, average=average),
        )
    ours = outcome(confusion_matrix, y_true, y_pred, labels=labels)
    ref = outcome(skm.confusion_matrix, y_true, y_pred, labels=labels)
    if ref is ValueError:  # none of the labels occurs in y_true
        assert ours is ValueError
    else:
        np.testing.assert_array_equal(ours, ref)


@FAST
@given(pair=label_pairs(), normalize=st.sampled_from([None, "true", "pred", "all"]))
def test_confusion_matrix_and_accuracy_match_sklearn(pair, normalize):
    y_true, y_pred = pair
    ours = quiet(confusion_matrix, y_true, y_pred, normalize=normalize)
    ref = quiet(skm.confusion_matrix, y_true, y_pred, normalize=normalize)
    assert ours.dtype == ref.dtype
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    assert accuracy_score(y_true, y_pred) == skm.accuracy_score(y_true, y_pred)
    assert accuracy_score(y_true, y_pred, normalize=False) == skm.accuracy_score(
        y_true, y_pred, normalize=False
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pair=label_pairs(max_classes=4),
    digits=st.integers(1, 4),
    variant=st.sampled_from(["plain", "names", "labels"]),
)
def test_classification_report_matches_sklearn(pair, digits, variant):
    y_true, y_pred = pair
    names = [f"class {c}" for c in sorted(set(y_true) | set(y_pred))]
    kwargs = {"plain": {}, "names": {"target_names": names}, "labels": {"labels": [0, 1, 2]}}[variant]
    ref_dict = quiet(skm.classification_report, y_true, y_pred, output_dict=True, **kwargs)
    assert quiet(classification_report, y_true, y_pred, output_dict=True, **kwargs) == ref_dict
    if any(t == p for t, p in zip(y_true, y_pred, strict=True)):
        # (with no correct prediction scikit-learn prints the support as a float, e.g. "6.0")
        ref_text = quiet(skm.classification_report, y_true, y_pred, digits=digits, **kwargs)
        assert quiet(classification_report, y_true, y_pred, digits=digits, **kwargs) == ref_text


@pytest.mark.parametrize(
    "values",
    [[-1, 1], [3, 7, 100_000], [0, 5, 10**12], ["cat", "dog", "fish"], [-5, -3, 2]],
    ids=["minus-one-one", "wide-range", "huge", "strings", "negative"],
)
def test_unusual_label_values_match_sklearn(values):
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.choice(values, 60), rng.choice(values, 60)
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred), skm.confusion_matrix(y_true, y_pred))
    for average in AVERAGES:
        assert_same(
            quiet(precision_recall_fscore_support, y_true, y_pred, average=average),
            quiet(skm.precision_recall_fscore_support, y_true, y_pred, average=average),
        )
    assert classification_report(y_true, y_pred) == skm.classification_report(y_true, y_pred)
    if len(values) == 2:
        pos = values[1]
        assert f1_score(y_true, y_pred, pos_label=pos) == skm.f1_score(y_true, y_pred, pos_label=pos)


def test_large_inputs_and_many_classes_match_sklearn():
    rng = np.random.default_rng(1)
    # longer than one CPU chunk (and not a multiple of it): exercises the chunked counting
    y_true = rng.integers(0, 10, 100_003)
    y_pred = np.where(rng.random(100_003) < 0.7, y_true, rng.integers(0, 10, 100_003))
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred), skm.confusion_matrix(y_true, y_pred))
    assert_same(
        precision_recall_fscore_support(torch.from_numpy(y_true), torch.from_numpy(y_pred), average="macro"),
        skm.precision_recall_fscore_support(y_true, y_pred, average="macro"),
    )
    # labels that grow slice by slice, or turn negative / very large only near the end
    grow = np.sort(rng.integers(0, 50, 70_000))
    late_negative = np.r_[rng.integers(0, 3, 69_999), -1]
    late_large = np.r_[rng.integers(0, 3, 69_999), 5000]
    for a, b in [(grow, grow[::-1].copy()), (late_negative, np.roll(late_negative, 7)), (late_large, grow)]:
        np.testing.assert_array_equal(confusion_matrix(a, b), skm.confusion_matrix(a, b))
        assert_same(
            quiet(precision_recall_fscore_support, a, b, average="weighted"),
            quiet(skm.precision_recall_fscore_support, a, b, average="weighted"),
        )
    # more classes than one joint count table holds: per-label counts are taken separately
    y_true, y_pred = rng.integers(0, 1500, 5000), rng.integers(0, 1500, 5000)
    for average in AVERAGES:
        assert_same(
            quiet(precision_recall_fscore_support, y_true, y_pred, average=average),
            quiet(skm.precision_recall_fscore_support, y_true, y_pred, average=average),
        )
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred), skm.confusion_matrix(y_true, y_pred))


# --------------------------------------------------------------------------------------------
# input types and devices
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
def test_lists_numpy_and_tensors_agree(device):
    rng = np.random.default_rng(2)
    y_true, y_pred = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    forms = [
        (y_true.tolist(), y_pred.tolist()),
        (y_true, y_pred),
        (y_true.astype(np.int32), y_pred.astype(np.uint8)),
        (y_true.astype(np.float32), y_pred.astype(np.float64)),  # whole-number floats
        (torch.tensor(y_true, device=device), torch.tensor(y_pred, device=device)),
        (torch.tensor(y_true, dtype=torch.int32, device=device), y_pred),  # mixed tensor / numpy
        (torch.tensor(y_true, dtype=torch.float32, device=device, requires_grad=True), y_pred.tolist()),
    ]
    ref_cm = skm.confusion_matrix(y_true, y_pred)
    ref = skm.precision_recall_fscore_support(y_true, y_pred, average=None)
    for a, b in forms:
        np.testing.assert_array_equal(confusion_matrix(a, b), ref_cm)
        assert_same(precision_recall_fscore_support(a, b), ref)
        assert accuracy_score(a, b) == skm.accuracy_score(y_true, y_pred)
    # bools are the labels 0/1
    bt, bp = y_true > 1, y_pred > 1
    assert f1_score(torch.tensor(bt, device=device), bp) == skm.f1_score(bt, bp)
    scores = rng.random(300)
    assert_same(
        precision_recall_curve(torch.tensor(bt, device=device), torch.tensor(scores, device=device)),
        skm.precision_recall_curve(bt, scores),
    )


@pytest.mark.parametrize("device", DEVICES)
def test_gpu_tensors_are_not_copied_to_the_host(device, monkeypatch):
    y_true = torch.randint(0, 5, (1000,), device=device)
    y_pred = torch.randint(0, 5, (1000,), device=device)
    seen = []
    original = torch.Tensor.cpu

    def spy(self, *args, **kwargs):
        seen.append(self.numel())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "cpu", spy)
    confusion_matrix(y_true, y_pred)
    f1_score(y_true, y_pred, average="macro")
    assert max(seen) <= 25  # only the 5 x 5 table of counts leaves the device


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------

BAD_INPUTS = [
    (lambda: accuracy_score([0, 1], [0]), ValueError, "same length.*2 and 1"),
    (lambda: f1_score([], []), ValueError, "empty"),
    (lambda: f1_score([0, 1], torch.rand(2, 3)), ValueError, r"1-D.*argmax\(1\)"),
    (lambda: f1_score(np.zeros((2, 1)), [0, 1]), ValueError, "ravel"),
    (lambda: f1_score(1, [0]), TypeError, "sequence"),
    (lambda: f1_score(None, [0, 1]), TypeError, "sequence"),
    (lambda: f1_score([0, np.nan], [0, 1]), ValueError, "NaN"),
    (lambda: f1_score([0, np.inf], [0, 1]), ValueError, "infinity"),
    (lambda: f1_score([0, 1], [0.2, 0.7]), ValueError, r"non-integer.*probs >= 0.5"),
    (lambda: f1_score([0, 1], [0, 1], average="mean"), ValueError, "average='mean'.*'macro'"),
    (lambda: f1_score([0, 1], [0, 1], average="samples"), ValueError, "multilabel"),
    (lambda: f1_score([0, 1, 2], [0, 1, 2]), ValueError, "average='binary'.*'macro'"),
    (lambda: f1_score([0, 2], [0, 2]), ValueError, r"pos_label=1 is not a valid label.*\[0, 2\]"),
    (lambda: f1_score([0, 1], [0, 1], pos_label="yes"), TypeError, "pos_label='yes'"),
    (lambda: f1_score([0, 1], [0, 1], zero_division=2), ValueError, "zero_division=2.*'warn', 0, 1"),
    (lambda: fbeta_score([0, 1], [0, 1], beta=-1), ValueError, "beta"),
    (lambda: f1_score(["a", "b"], [0, 1]), TypeError, "same kind of label"),
    (lambda: f1_score(np.array([1j, 0]), [0, 1]), TypeError, "complex"),
    (lambda: f1_score([[0, 1], [0]], [0, 1]), ValueError, "could not be read"),
    (lambda: confusion_matrix([0, 1], [0, 1], labels=["a"]), TypeError, "labels must be integers"),
    (lambda: confusion_matrix([0, 1], [0, 1], labels=[0, 0]), ValueError, "repeat"),
    (lambda: confusion_matrix([0, 1], [0, 1], labels=[5]), ValueError, r"labels=\[5\].*y_true"),
    (lambda: confusion_matrix([0, 1], [0, 1], normalize="rows"), ValueError, "normalize='rows'"),
    (lambda: classification_report([0, 1], [0, 1], target_names=["a"]), ValueError, "target_names"),
    (lambda: classification_report([0, 1], [0, 1], digits=-1), ValueError, "digits"),
    (lambda: precision_recall_curve([0, 1], np.random.rand(2, 2)), ValueError, r"probs\[:, 1\]"),
    (lambda: precision_recall_curve([0, 1], [0.1, np.nan]), ValueError, "NaN"),
    (lambda: precision_recall_curve([0, 1], ["a", "b"]), TypeError, "numbers"),
    (lambda: precision_recall_curve([0, 1, 2], [0.1, 0.2, 0.3]), ValueError, r"3 classes.*y_true == k"),
    (lambda: roc_auc_score([0, 1, 2], [0.1, 0.2, 0.3]), ValueError, "roc_auc_score"),
    (lambda: average_precision_score([0, 2], [0.1, 0.2]), ValueError, "pos_label=1 is not a label"),
    (
        lambda: metrics_at_threshold([0, 1], [-2.0, 3.0], 0.5),
        ValueError,
        "metrics_at_threshold needs probabilities",
    ),
    (lambda: metrics_at_threshold([0, 1], [0.2, 0.3], 50), ValueError, "threshold=50"),
    (
        lambda: threshold_for_recall([0, 1], [0.2, 1.3], 0.5),
        ValueError,
        "threshold_for_recall needs probabilities",
    ),
    (lambda: threshold_for_recall([0, 1], [0.2, 0.3], 1.5), ValueError, "target_recall=1.5"),
    (lambda: threshold_for_recall([0, 0], [0.2, 0.3], 0.5), ValueError, "no samples of the positive class"),
    (lambda: best_f1_threshold([0, 1], [5.0, 0.1]), ValueError, "best_f1_threshold needs probabilities"),
    (lambda: best_f1_threshold([0, 0], [0.2, 0.3]), ValueError, "no samples of the positive class"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUTS, ids=[m for _, _, m in BAD_INPUTS])
def test_bad_input_raises_a_useful_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_options_are_checked_before_the_data():
    # a bad option is reported even when the data would fail too
    with pytest.raises(ValueError, match="average="):
        f1_score([0, 1], [0], average="nope")


# --------------------------------------------------------------------------------------------
# curves, areas and thresholds
# --------------------------------------------------------------------------------------------


@st.composite
def binary_scores(draw, max_size=40):
    n = draw(st.integers(1, max_size))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    # few distinct values, so ties are common
    s = draw(st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5001, 0.75, 0.9, 1.0]), min_size=n, max_size=n))
    return y, s


@FAST
@given(data=binary_scores(), dtype=st.sampled_from([np.float32, np.float64]))
def test_precision_recall_curve_equals_sklearn(data, dtype):
    y_true, scores = data
    scores = np.asarray(scores, dtype=dtype)
    ours = quiet(precision_recall_curve, y_true, scores)
    ref = quiet(skm.precision_recall_curve, y_true, scores, pos_label=1)
    for a, b in zip(ours, ref, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert quiet(average_precision_score, y_true, scores) == quiet(
        skm.average_precision_score, y_true, scores
    )
    if len(set(y_true)) == 2:
        assert roc_auc_score(y_true, scores) == skm.roc_auc_score(y_true, scores)
        for a, b in zip(roc_curve(y_true, scores), skm.roc_curve(y_true, scores), strict=True):
            np.testing.assert_array_equal(a, b)


def test_curves_accept_any_real_scores_and_string_labels():
    y_true = ["ok", "defect", "ok", "defect", "defect"]
    logits = [-2.0, 3.5, 0.1, -0.3, 7.0]
    ours = precision_recall_curve(y_true, logits, pos_label="defect")
    ref = skm.precision_recall_curve(y_true, logits, pos_label="defect")
    for a, b in zip(ours, ref, strict=True):
        np.testing.assert_array_equal(a, b)
    assert roc_auc_score(y_true, logits) == skm.roc_auc_score(y_true, logits)


def test_one_class_curves_warn_like_sklearn():
    with pytest.warns(UndefinedMetricWarning, match="no positive samples"):
        ours = precision_recall_curve([0, 0, 0], [0.1, 0.5, 0.9])
    for a, b in zip(ours, quiet(skm.precision_recall_curve, [0, 0, 0], [0.1, 0.5, 0.9]), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.warns(UndefinedMetricWarning, match="only one class"):
        assert math.isnan(roc_auc_score([1, 1], [0.2, 0.4]))


@FAST
@given(data=binary_scores(), threshold=st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.5001, 0.9, 1.0]))
def test_metrics_at_threshold_agrees_with_confusion_matrix(data, threshold):
    y_true, scores = data
    predicted = (np.asarray(scores) >= threshold).astype(int)
    m = metrics_at_threshold(y_true, scores, threshold)
    tn, fp, fn, tp = skm.confusion_matrix(y_true, predicted, labels=[0, 1]).ravel()
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (tp, fp, fn, tn)
    assert m["threshold"] == threshold
    assert m["accuracy"] == skm.accuracy_score(y_true, predicted)
    for key, ref in [("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)]:
        assert m[key] == pytest.approx(ref(y_true, predicted, zero_division=0), rel=1e-12)


def test_metrics_at_threshold_matches_the_curve_and_our_own_scores():
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 2, 500)
    probs = np.clip(0.35 * y_true + rng.random(500) * 0.65, 0, 1).round(2)
    precision, recall, thresholds = precision_recall_curve(y_true, probs)
    for i in range(0, len(thresholds), 7):
        m = metrics_at_threshold(torch.tensor(y_true), torch.tensor(probs), float(thresholds[i]))
        assert m["precision"] == pytest.approx(precision[i], rel=1e-12)
        assert m["recall"] == pytest.approx(recall[i], rel=1e-12)
        y_hat = (probs >= thresholds[i]).astype(int)
        assert m["f1"] == pytest.approx(f1_score(y_true, y_hat), rel=1e-12)
        assert [[m["tn"], m["fp"]], [m["fn"], m["tp"]]] == confusion_matrix(y_true, y_hat).tolist()


@FAST
@given(data=binary_scores(), target=st.sampled_from([0.0, 0.3, 0.5, 0.8, 0.95, 1.0]))
def test_threshold_helpers_against_brute_force(data, target):
    y_true, scores = data
    if 1 not in y_true:
        with pytest.raises(ValueError, match="positive class"):
            threshold_for_recall(y_true, scores, target)
        return
    scores = np.asarray(scores)
    candidates = np.unique(scores)

    positive = np.asarray(y_true) == 1

    def recall_at(t):  # plain counting, independent of the library
        return np.sum(positive & (scores >= t)) / np.sum(positive)

    def f1_at(t):
        tp = np.sum(positive & (scores >= t))
        return 2 * tp / (np.sum(positive) + np.sum(scores >= t))

    t = threshold_for_recall(y_true, scores, target)
    assert t in candidates and recall_at(t) >= target
    assert all(recall_at(c) < target for c in candidates[candidates > t])

    best = best_f1_threshold(y_true, scores)
    best_f1 = max(f1_at(c) for c in candidates)
    assert f1_at(best) == pytest.approx(best_f1, rel=1e-12)
    assert all(f1_at(c) < best_f1 - 1e-12 for c in candidates[candidates > best])  # ties go to the highest


# --------------------------------------------------------------------------------------------
# API surface and docstring examples
# --------------------------------------------------------------------------------------------


def test_all_names_exist_and_course_lib_reexports_resolve():
    for name in cm.__all__:
        assert callable(getattr(cm, name)), name
    for name, module in course_lib._EXPORTS.items():
        if module == "course_lib.metrics":
            assert getattr(course_lib, name) is getattr(cm, name)


@pytest.mark.parametrize(
    "module", ["__init__", "confusion", "classification", "report", "ranking", "threshold"]
)
def test_docstring_examples_run(module):
    import importlib

    mod = cm if module == "__init__" else importlib.import_module(f"course_lib.metrics.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
