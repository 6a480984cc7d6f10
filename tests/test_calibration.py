"""course_lib.metrics.calibration against scikit-learn (calibration_curve), the formula and Bayes' rule
(prior_correction), and a brute-force loop over the bins (expected_calibration_error)."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import sklearn.calibration as skc
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import norm

import course_lib.metrics as cm
from course_lib.metrics import (
    calibration_curve,
    expected_calibration_error,
    prior_correction,
    roc_auc_score,
    threshold_for_recall,
)

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def skewed_scores(rng: np.random.Generator, n: int, share: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    y = (rng.random(n) < share).astype(int)
    y[0], y[-1] = 0, 1
    return y, np.clip(rng.beta(1.0 + 3 * y, 8.0 - 4 * y), 0, 1)


# --------------------------------------------------------------------------------------------
# calibration_curve
# --------------------------------------------------------------------------------------------


@FAST
@given(
    data=st.data(),
    n=st.integers(1, 300),
    n_bins=st.integers(1, 20),
    strategy=st.sampled_from(["uniform", "quantile"]),
    rounding=st.sampled_from([None, 1, 2]),
)
def test_calibration_curve_matches_sklearn(data, n, n_bins, strategy, rounding):
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = rng.random(n)
    if rounding is not None:
        p = np.round(p, rounding)   # ties, and scores exactly on the bin edges
    if data.draw(st.booleans()):
        p[: max(1, n // 4)] = data.draw(st.sampled_from([0.0, 1.0, 0.2, 0.5]))
    ref = skc.calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    ours = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    for a, b in zip(ours, ref, strict=True):
        assert isinstance(a, np.ndarray)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_calibration_curve_on_imbalanced_scores_and_every_input_kind(strategy):
    y, p = skewed_scores(np.random.default_rng(3), 2000)
    ref = skc.calibration_curve(y, p, n_bins=10, strategy=strategy)
    for args in ((y, p), (y.tolist(), p.tolist()), (torch.as_tensor(y), torch.as_tensor(p)),
                 (y.astype(bool), p), (y.astype(float), p)):
        ours = calibration_curve(*args, n_bins=10, strategy=strategy)
        for a, b in zip(ours, ref, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_calibration_curve_pos_label_and_label_sets_like_sklearn():
    rng = np.random.default_rng(1)
    y01 = rng.integers(0, 2, 100)
    p = rng.random(100)
    for y, kw in ((2 * y01 - 1, {}), (np.where(y01 == 1, "bad", "ok"), {"pos_label": "bad"}),
                  (y01 + 3, {"pos_label": 4}), (y01, {"pos_label": 0}), (np.zeros(100, int), {})):
        ref = skc.calibration_curve(y, p, n_bins=4, **kw)
        ours = calibration_curve(y, p, n_bins=4, **kw)
        for a, b in zip(ours, ref, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"y_prob": [0.1, 1.2, 0.5, 0.3]}, ValueError, r"probabilities in \[0, 1\].*sigmoid"),
        ({"y_prob": [0.1, np.nan, 0.5, 0.3]}, ValueError, "NaN"),
        ({"y_prob": [0.1, 0.2, 0.5]}, ValueError, "same length"),
        ({"y_true": [0, 1, 2, 1]}, ValueError, "3 classes"),
        ({"y_true": [2, 3, 3, 2]}, ValueError, "pos_label"),
        ({"y_true": ["a", "b", "a", "b"]}, ValueError, "pos_label="),
        ({"y_true": [0, 1, 0, 1], "pos_label": 5}, ValueError, "not a label"),
        ({"n_bins": 0}, ValueError, "n_bins"),
        ({"n_bins": 2.5}, ValueError, "n_bins"),
        ({"strategy": "kmeans"}, ValueError, "'uniform'.*'quantile'"),
        ({"y_prob": [[0.1], [0.2], [0.3], [0.4]]}, ValueError, "1-D"),
        ({"y_prob": 0.5}, TypeError, "sequence"),
        ({"y_true": [], "y_prob": []}, ValueError, "empty"),
    ],
)
def test_calibration_bad_input_says_how_to_fix_it(kwargs, error, message):
    args = {"y_true": [0, 1, 0, 1], "y_prob": [0.1, 0.9, 0.4, 0.6], **kwargs}
    y_true, y_prob = args.pop("y_true"), args.pop("y_prob")
    for func in (calibration_curve, expected_calibration_error):
        with pytest.raises(error, match=message):
            func(y_true, y_prob, **args)


@pytest.mark.parametrize(
    "kwargs",
    [{"y_prob": [0.1, 1.2, 0.5, 0.3]}, {"y_prob": [0.1, 0.2, 0.5]}, {"y_true": [0, 1, 2, 1]},
     {"y_true": [2, 3, 3, 2]}, {"y_true": ["a", "b", "a", "b"]}, {"n_bins": 0}, {"n_bins": 2.5},
     {"strategy": "kmeans"}, {"y_prob": 0.5}, {"y_true": [], "y_prob": []}],
)
def test_sklearn_refuses_the_same_input(kwargs):
    """The reference refuses these too (we refuse more: NaN scores, a pos_label absent from y_true, a column)."""
    args = {"y_true": [0, 1, 0, 1], "y_prob": [0.1, 0.9, 0.4, 0.6], **kwargs}
    y_true, y_prob = args.pop("y_true"), args.pop("y_prob")
    with pytest.raises((ValueError, TypeError)):
        skc.calibration_curve(y_true, y_prob, **args)
    with pytest.raises((ValueError, TypeError)):
        calibration_curve(y_true, y_prob, **args)


# --------------------------------------------------------------------------------------------
# expected_calibration_error
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("seed", range(4))
def test_ece_against_a_loop_over_the_bins(strategy, seed):
    rng = np.random.default_rng(seed)
    y, p = skewed_scores(rng, int(rng.integers(50, 1500)), share=float(rng.uniform(0.03, 0.5)))
    if seed % 2:
        p = np.round(p, 2)
    n_bins = int(rng.integers(2, 15))
    edges = (np.percentile(p, np.linspace(0, 100, n_bins + 1)) if strategy == "quantile"
             else np.linspace(0, 1, n_bins + 1))
    total = 0.0
    for i in range(n_bins):   # bin i holds edges[i] < p <= edges[i + 1]; the first one also p <= edges[1]
        lo = -np.inf if i == 0 else edges[i]
        hi = np.inf if i == n_bins - 1 else edges[i + 1]
        inside = (p > lo) & (p <= hi)
        if inside.any():
            total += inside.sum() * abs(y[inside].mean() - p[inside].mean())
    got = expected_calibration_error(y, p, n_bins=n_bins, strategy=strategy)
    assert isinstance(got, float)
    assert got == pytest.approx(total / len(y), rel=1e-12, abs=1e-15)


def test_ece_is_zero_when_every_bin_is_calibrated_and_grows_with_overconfidence():
    y = np.array([0] * 8 + [1] * 2 + [0] * 2 + [1] * 8)
    p = np.array([0.2] * 10 + [0.8] * 10)   # 20% positives at 0.2, 80% at 0.8
    assert expected_calibration_error(y, p, n_bins=5) == pytest.approx(0.0, abs=1e-12)
    assert expected_calibration_error(y, np.where(p > 0.5, 0.95, 0.05), n_bins=5) == pytest.approx(0.15)


# --------------------------------------------------------------------------------------------
# prior_correction
# --------------------------------------------------------------------------------------------


@FAST
@given(
    p=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=50),
    train_prior=st.floats(0.01, 0.99),
    true_prior=st.floats(0.01, 0.99),
)
def test_prior_correction_is_the_formula_and_keeps_the_order(p, train_prior, true_prior):
    p = np.array(p)
    r = (true_prior / (1 - true_prior)) / (train_prior / (1 - train_prior))
    got = prior_correction(p, train_prior=train_prior, true_prior=true_prior)
    assert isinstance(got, np.ndarray) and got.dtype == np.float64 and got.shape == p.shape
    np.testing.assert_allclose(got, p * r / (p * r + 1 - p), rtol=1e-12, atol=1e-300)
    assert np.all((got >= 0) & (got <= 1))
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(got[order]) >= 0)   # monotone: ranking metrics cannot change
    back = prior_correction(got, train_prior=true_prior, true_prior=train_prior)
    np.testing.assert_allclose(back, p, atol=1e-9)   # the inverse correction undoes it


def test_prior_correction_is_bayes_rule_on_two_gaussians():
    """Scores = the exact posterior when positives are 50% of the data; corrected to a 5% prior, they must be
    the exact posterior at 5% (Bayes with the same class densities), which is calibrated on data drawn at 5%."""
    rng = np.random.default_rng(0)
    x = np.linspace(-4, 6, 201)
    like_pos, like_neg = norm.pdf(x, loc=2.0), norm.pdf(x, loc=0.0)

    def posterior(prior):
        return prior * like_pos / (prior * like_pos + (1 - prior) * like_neg)

    corrected = prior_correction(posterior(0.5), train_prior=0.5, true_prior=0.05)
    np.testing.assert_allclose(corrected, posterior(0.05), rtol=1e-10)
    np.testing.assert_allclose(prior_correction(posterior(0.3), train_prior=0.3, true_prior=0.8),
                               posterior(0.8), rtol=1e-10)
    # on a sample drawn at 5%: mean corrected score ~ base rate; ROC-AUC and the recall threshold's rank unchanged
    n = 40_000
    y = (rng.random(n) < 0.05).astype(int)
    xs = rng.normal(2.0 * y, 1.0)
    balanced = 0.5 * norm.pdf(xs, 2.0) / (0.5 * norm.pdf(xs, 2.0) + 0.5 * norm.pdf(xs, 0.0))
    fixed = prior_correction(balanced, train_prior=0.5, true_prior=0.05)
    assert balanced.mean() > 0.15          # balanced-prior scores overstate the 5% rate
    assert abs(fixed.mean() - y.mean()) < 0.005
    assert roc_auc_score(y, fixed) == pytest.approx(roc_auc_score(y, balanced), abs=1e-12)
    t = threshold_for_recall(y, balanced, 0.8)
    r = (0.05 / 0.95) / 1.0
    assert threshold_for_recall(y, fixed, 0.8) == pytest.approx(t * r / (t * r + 1 - t), rel=1e-12)


def test_prior_correction_accepts_lists_and_tensors_and_same_priors_change_nothing():
    p = [0.0, 0.25, 0.5, 1.0]
    ref = prior_correction(np.array(p), train_prior=0.5, true_prior=0.1)
    np.testing.assert_allclose(prior_correction(p, train_prior=0.5, true_prior=0.1), ref)
    np.testing.assert_allclose(prior_correction(torch.tensor(p), train_prior=0.5, true_prior=0.1), ref)
    np.testing.assert_allclose(prior_correction(p, train_prior=0.2, true_prior=0.2), p)
    assert ref[0] == 0.0 and ref[-1] == 1.0


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ([[0.2, 0.5]], {"train_prior": 50, "true_prior": 0.05}, ValueError, "train_prior=50.*0.05 for 5%"),
        ([[0.2, 0.5]], {"train_prior": 0.5, "true_prior": 0.0}, ValueError, "true_prior=0.0.*strictly between"),
        ([[0.2, 0.5]], {"train_prior": 0.5, "true_prior": True}, ValueError, "true_prior"),
        ([[0.2, 1.5]], {"train_prior": 0.5, "true_prior": 0.05}, ValueError, r"\[0, 1\].*logits"),
        ([[0.2, np.nan]], {"train_prior": 0.5, "true_prior": 0.05}, ValueError, "NaN"),
        ([[[0.2, 0.1], [0.5, 0.5]]], {"train_prior": 0.5, "true_prior": 0.05}, ValueError, r"1-D.*probs\[:, 1\]"),
        ([0.3], {"train_prior": 0.5, "true_prior": 0.05}, TypeError, "sequence"),
        ([["a", "b"]], {"train_prior": 0.5, "true_prior": 0.05}, TypeError, "numbers"),
    ],
)
def test_prior_correction_bad_input(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        prior_correction(*args, **kwargs)


def test_exported_and_documented():
    for name in ("calibration_curve", "expected_calibration_error", "prior_correction"):
        assert name in cm.__all__ and callable(getattr(cm, name))
    import course_lib.metrics.calibration as mod

    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 3 and result.failed == 0
