"""course_lib.diagnostics: the report card's rules, the leakage detector and the overfitting check.

References: scikit-learn for every metric, scipy for the DCT, numpy for argmin; crafted confusion
matrices whose verdict follows from the course's rules by hand.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.fft
import sklearn.metrics as skm
import torch

from course_lib.diagnostics import (
    BAD_ACCURACY,
    GOOD_ACCURACY,
    LARGE_GAP,
    RULE_TOL,
    DuplicatePair,
    ReportCard,
    _dct_matrix,
    above,
    below,
    find_near_duplicates,
    overfitting_report,
    perceptual_hash,
    report_card,
    thumbnail_fingerprint,
    verdict_from_scores,
)


def binary_from_counts(tp: int, fn: int, fp: int, tn: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels with exactly these confusion counts (positive = 1)."""
    y_true = np.array([1] * (tp + fn) + [0] * (fp + tn))
    y_pred = np.array([1] * tp + [0] * fn + [1] * fp + [0] * tn)
    return y_true, y_pred


def failed_rules(card: ReportCard) -> list[str]:
    return [rule for rule, ok in card.checks if not ok]


# ---------------------------------------------------------------------------------------------------------------
# report_card: the rules, one at a time
CASES = {
    # name: (tp, fn, fp, tn, expected verdict, the rule that should fail or None, words a warning must hold)
    "good": (90, 10, 8, 92, "good", None, None),
    "low accuracy": (65, 35, 30, 70, "bad", "accuracy >= 70%", "accuracy"),
    "low recall": (9, 11, 6, 174, "bad", "recall >= 0.50", "recall"),
    "low precision": (12, 8, 14, 166, "bad", "precision >= 0.50", "precision"),
    "large gap": (75, 25, 0, 100, "bad", "precision/recall gap <= 0.20", "differ by"),
    "seed example (needs work)": (80, 20, 10, 90, "needs work", "accuracy > 85%", "Not yet good"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_rule_triggers_alone(name: str) -> None:
    tp, fn, fp, tn, verdict, rule, words = CASES[name]
    y_true, y_pred = binary_from_counts(tp, fn, fp, tn)
    card = report_card(y_true, y_pred)
    assert card.verdict == verdict
    failed = failed_rules(card)
    if rule is None:
        assert failed == [] and card.warnings == []
    else:
        assert any(rule in f for f in failed), failed
        assert any(words.lower() in w.lower() for w in card.warnings), card.warnings
    # the numbers are scikit-learn's
    assert card.metrics["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert card.metrics["precision"] == pytest.approx(skm.precision_score(y_true, y_pred, zero_division=0))
    assert card.metrics["recall"] == pytest.approx(skm.recall_score(y_true, y_pred))
    assert card.metrics["f1"] == pytest.approx(skm.f1_score(y_true, y_pred))
    assert (card.metrics["tp"], card.metrics["fn"], card.metrics["fp"], card.metrics["tn"]) == (tp, fn, fp, tn)


def test_crafted_cases_isolate_their_rule() -> None:
    """Guard the fixtures: the 'bad' cases fail exactly one bad-rule (checked with scikit-learn's numbers)."""
    for name, (tp, fn, fp, tn, verdict, _rule, _w) in CASES.items():
        y_true, y_pred = binary_from_counts(tp, fn, fp, tn)
        a = skm.accuracy_score(y_true, y_pred)
        p = skm.precision_score(y_true, y_pred)
        r = skm.recall_score(y_true, y_pred)
        broken = [a < BAD_ACCURACY, r < 0.5, p < 0.5, abs(p - r) > LARGE_GAP]
        assert sum(broken) == (1 if verdict == "bad" else 0), name


def test_seed_self_check_is_bad_and_names_recall_and_baseline() -> None:
    # 98 % accuracy, 12 % recall: 25 defects among 2,000 parts, 3 found, 18 false alarms
    y_true, y_pred = binary_from_counts(tp=3, fn=22, fp=18, tn=1957)
    assert skm.accuracy_score(y_true, y_pred) == pytest.approx(0.98)
    assert skm.recall_score(y_true, y_pred) == pytest.approx(0.12)
    card = report_card(y_true, y_pred, class_names=["good", "defect"])
    assert card.verdict == "bad"
    assert card.metrics["baseline_accuracy"] == pytest.approx(1975 / 2000)
    paradox = [w for w in card.warnings if "recall" in w.lower() and "baseline" in w.lower()]
    assert paradox, card.warnings
    assert "0.12" in paradox[0] and "98.8%" in paradox[0]
    assert any("imbalanced" in w for w in card.warnings)


def test_imbalance_is_judged_against_an_equal_share() -> None:
    # ten balanced classes: each is 10 % of the samples, which is no imbalance
    y = np.repeat(np.arange(10), 30)
    card = report_card(y, y)
    assert not any("imbalanced" in w for w in card.warnings), card.warnings
    # ten classes, one of them 1 sample in 271 (0.4 %, a tenth of an equal share): imbalanced
    y = np.concatenate([np.repeat(np.arange(9), 30), [9]])
    assert any("imbalanced" in w and "'9'" in w for w in report_card(y, y).warnings)
    # two classes at 30 % / 70 % is not flagged; 10 % / 90 % is
    assert not any("imbalanced" in w for w in report_card([0] * 7 + [1] * 3, [0] * 7 + [1] * 3).warnings)
    assert any("imbalanced" in w for w in report_card([0] * 9 + [1], [0] * 9 + [1]).warnings)


def test_accuracy_no_better_than_always_negative() -> None:
    y_true, y_pred = binary_from_counts(tp=0, fn=5, fp=0, tn=95)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nbgrader counts any stderr as a failure: no zero-division warning
        card = report_card(y_true, y_pred)
    assert card.verdict == "bad"
    assert card.metrics["accuracy"] == pytest.approx(0.95) and card.metrics["precision"] == 0.0
    assert any("never predicts" in w for w in card.warnings)
    assert any("no better than" in w and "baseline" in w for w in card.warnings)


def test_verdict_from_scores_matches_report_card_on_random_predictions() -> None:
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(120):
        n = int(rng.integers(20, 200))
        y_true = (rng.random(n) < rng.uniform(0.05, 0.6)).astype(int)
        flip = rng.random(n) < rng.uniform(0.0, 0.4)
        y_pred = np.where(flip, 1 - y_true, y_true)
        a = skm.accuracy_score(y_true, y_pred)
        p = skm.precision_score(y_true, y_pred, zero_division=0)
        r = skm.recall_score(y_true, y_pred, zero_division=0)
        f = skm.f1_score(y_true, y_pred, zero_division=0)
        expected = verdict_from_scores(a, p, r, f)
        assert report_card(y_true, y_pred).verdict == expected
        seen.add(expected)
    assert seen == {"good", "needs work", "bad"}  # the sample covers all three verdicts


def test_verdict_from_scores_boundaries_are_strict() -> None:
    assert verdict_from_scores(GOOD_ACCURACY, 0.9, 0.9, 0.9) == "needs work"  # 85 % is not above 85 %
    assert verdict_from_scores(0.86, 0.81, 0.81, 0.81) == "good"
    assert verdict_from_scores(0.86, 0.81, 0.80, 0.805) == "needs work"
    assert verdict_from_scores(BAD_ACCURACY, 0.6, 0.6, 0.6) == "needs work"  # 70 % is not below 70 %
    assert verdict_from_scores(0.9, 0.9, 0.69, 0.78) == "bad"  # gap 0.21


def test_rules_compare_with_a_tolerance_so_float_noise_does_not_flip_a_verdict() -> None:
    """Precision 0.90 / recall 0.70: the gap is 0.20 on paper but 0.20000000000000007 in floats, and the rule is
    "gap strictly more than 0.20". Library, report card and hidden tests must agree it is not "bad"."""
    y_true, y_pred = binary_from_counts(tp=63, fn=27, fp=7, tn=903)  # precision 63/70, recall 63/90
    p, r = skm.precision_score(y_true, y_pred), skm.recall_score(y_true, y_pred)
    assert (p, r) == (0.9, 0.7) and p - r > LARGE_GAP  # the naive comparison would call it bad
    a, f = skm.accuracy_score(y_true, y_pred), skm.f1_score(y_true, y_pred)
    assert verdict_from_scores(a, p, r, f) == "needs work"
    card = report_card(y_true, y_pred)
    assert card.verdict == "needs work"
    assert ("bad if not: precision/recall gap <= 0.20", True) in card.checks
    assert not any("differ by" in w for w in card.warnings)
    # the tolerance is absolute 1e-9, on every rule, both ways
    assert RULE_TOL == 1e-9
    assert verdict_from_scores(0.9, 0.9, 0.7 - 2e-9, 0.79) == "bad"
    assert verdict_from_scores(0.86, 0.81, 0.8 + 1e-12, 0.81) == "needs work"  # not above 0.80
    assert verdict_from_scores(0.86, 0.81, 0.8 + 2e-9, 0.81) == "good"
    assert verdict_from_scores(BAD_ACCURACY - 1e-12, 0.6, 0.6, 0.6) == "needs work"  # not below 70 %
    assert verdict_from_scores(0.9, 0.5 - 1e-12, 0.55, 0.52) == "needs work"
    assert above(0.3 - 0.1, 0.2) is False and below(0.3 - 0.1, 0.2) is False


# ---------------------------------------------------------------------------------------------------------------
# multiclass
def test_multiclass_flags_a_rare_class_the_model_misses() -> None:
    names = ["cat", "dog", "fox"]
    y_true = np.array([0] * 100 + [1] * 100 + [2] * 10)
    y_pred = y_true.copy()
    y_pred[200:207] = 0  # 7 of 10 foxes called cats
    card = report_card(y_true, y_pred, class_names=names)
    assert card.kind == "multiclass"
    assert card.metrics["accuracy"] > 0.95  # accuracy alone would look great
    assert card.verdict == "bad"
    assert any("'fox'" in w and "recall 0.30" in w for w in card.warnings)
    assert card.metrics["recall"] == pytest.approx(skm.recall_score(y_true, y_pred, average="macro"))
    assert card.metrics["precision"] == pytest.approx(skm.precision_score(y_true, y_pred, average="macro"))
    assert card.metrics["f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro"))
    ref = skm.recall_score(y_true, y_pred, average=None)
    assert [card.per_class[n]["recall"] for n in names] == pytest.approx(ref)


def test_multiclass_good_and_needs_work() -> None:
    y_true = np.repeat([0, 1, 2], 50)
    y_pred = y_true.copy()
    y_pred[:4] = 1  # class 0 recall 0.92
    assert report_card(y_true, y_pred).verdict == "good"
    y_pred[:12] = 1  # class 0 recall 0.76: fine on average, weak for one class
    card = report_card(y_true, y_pred)
    assert card.verdict == "needs work"
    assert any("not above 0.80 for '0' (0.76)" in w for w in card.warnings)


def test_multiclass_lists_every_missed_class_and_false_alarms() -> None:
    y_true = np.repeat([0, 1, 2, 3], 10)
    y_pred = np.array([0] * 10 + [1] * 3 + [2] * 7 + [2] * 10 + [3] * 4 + [2] * 6)  # c: precision 10 / 23
    card = report_card(y_true, y_pred, class_names=["a", "b", "c", "d"])
    ref_r = skm.recall_score(y_true, y_pred, average=None)
    ref_p = skm.precision_score(y_true, y_pred, average=None, zero_division=0)
    assert card.verdict == "bad"
    assert any(f"'b' (recall {ref_r[1]:.2f}), 'd' (recall {ref_r[3]:.2f}) are mostly missed" in w for w in card.warnings)
    assert any(f"'c' ({ref_p[2]:.2f})" in w and "Precision is below" in w for w in card.warnings)


def test_class_names_longer_than_two_make_it_multiclass() -> None:
    card = report_card([0, 1, 0, 1], [0, 1, 0, 1], class_names=["a", "b", "c"])
    assert card.kind == "multiclass" and set(card.per_class) == {"a", "b", "c"}


# ---------------------------------------------------------------------------------------------------------------
# tasks, scores, presentation, errors
def test_task_says_which_metric_matters() -> None:
    y_true, y_pred = binary_from_counts(tp=70, fn=30, fp=10, tn=190)  # precision .875, recall .70
    defects = report_card(y_true, y_pred, task="defects")
    tumours = report_card(y_true, y_pred, task="tumours")
    assert "precision" in defects.advice and "recall" in tumours.advice
    assert not any("metric that matters" in w for w in defects.warnings)  # precision .875 is fine
    assert any("recall is the metric that matters" in w and "30.0%" in w for w in tumours.warnings)
    assert report_card(y_true, y_pred, task="tumors").task == "tumours"
    with pytest.raises(ValueError, match="task="):
        report_card(y_true, y_pred, task="cats")


def test_scores_add_average_precision_and_threshold_hint() -> None:
    rng = np.random.default_rng(1)
    y_true = (rng.random(400) < 0.2).astype(int)
    scores = np.clip(rng.normal(0.2 + 0.25 * y_true, 0.08), 0, 1)  # separable-ish, but mostly below 0.5
    y_pred = (scores >= 0.5).astype(int)
    card = report_card(y_true, y_pred, scores=scores)
    assert card.metrics["average_precision"] == pytest.approx(skm.average_precision_score(y_true, scores))
    p, r, t = skm.precision_recall_curve(y_true, scores)
    f1 = np.where(p + r > 0, 2 * p * r / np.maximum(p + r, 1e-12), 0)[:-1]
    assert card.metrics["best_f1"] == pytest.approx(f1.max())
    assert any("threshold_explorer" in w for w in card.warnings)
    two_col = np.stack([1 - scores, scores], 1)
    assert report_card(y_true, y_pred, scores=two_col).metrics["average_precision"] == pytest.approx(
        card.metrics["average_precision"])


def test_accepts_tensors_and_renders() -> None:
    y_true, y_pred = binary_from_counts(90, 10, 8, 92)
    card = report_card(torch.as_tensor(y_true), torch.as_tensor(y_pred))
    assert card.verdict == "good"
    text, page = str(card), card._repr_html_()
    assert "Verdict: GOOD" in text and "precision 0.92" in text
    assert "good" in page and "<table" in page and "Rules checked" in page
    assert "verdict='good'" in repr(card)


@pytest.mark.parametrize(
    ("y_true", "y_pred", "kwargs", "error", "match"),
    [
        ([0, 1, 1], [0, 1], {}, ValueError, "same length"),
        ([0, 1], [0.2, 0.9], {}, ValueError, "scores="),
        ([0, 1], [[0.8, 0.2], [0.1, 0.9]], {}, ValueError, "argmax"),
        ([], [], {}, ValueError, "empty"),
        ([0, 1], [0, 1], {"scores": [0.2, 3.0]}, ValueError, "probabilities"),
        ([0, 1], [0, 1], {"scores": [0.2]}, ValueError, "one value per sample"),
        ([2, 3], [2, 3], {}, ValueError, "pos_label"),
        ([0, 1, 2], [0, 1, 2], {"scores": [0.1, 0.2, 0.3]}, ValueError, "binary"),
        ("01", "01", {}, TypeError, "list"),
    ],
)
def test_bad_input_is_explained(y_true, y_pred, kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        report_card(y_true, y_pred, **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# leakage
def test_dct_matrix_is_scipys_orthonormal_dct() -> None:
    x = np.random.default_rng(0).random((32, 5))
    ref = scipy.fft.dct(x, type=2, norm="ortho", axis=0)
    ours = (_dct_matrix(32).double() @ torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_perceptual_hash_ignores_brightness_but_not_content() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.interpolate(torch.rand(20, 3, 8, 8, generator=g), size=32, mode="bilinear")
    h = perceptual_hash(x)
    assert h.shape == (20, 64) and h.dtype == torch.bool
    assert torch.equal(perceptual_hash(0.8 * x + 0.1), h)
    differ = (h[:10] != h[10:]).float().mean().item()
    assert 0.3 < differ < 0.7  # unrelated pictures: about half of the bits differ


def test_thumbnail_fingerprint_is_a_correlation() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 32, 32, generator=g)
    f = thumbnail_fingerprint(x)
    assert f.shape == (4, 3 * 64)
    torch.testing.assert_close(f.norm(dim=1), torch.ones(4))
    # contrast and a colour cast (an offset per channel) do not move it
    shifted = 0.7 * x + torch.tensor([0.05, 0.1, 0.0]).view(1, 3, 1, 1)
    torch.testing.assert_close(thumbnail_fingerprint(shifted), f, atol=1e-5, rtol=0)
    # it is numpy's Pearson correlation of the per-channel-centred thumbnails
    small = torch.nn.functional.interpolate(x, size=8, mode="bilinear", antialias=True).flatten(2)
    c = (small - small.mean(2, keepdim=True)).flatten(1).numpy()
    ref = c[0] @ c[1] / np.linalg.norm(c[0]) / np.linalg.norm(c[1])
    assert float(f[0] @ f[1]) == pytest.approx(ref, abs=1e-5)


def test_finds_exact_and_retouched_copies() -> None:
    g = torch.Generator().manual_seed(0)
    train = torch.nn.functional.interpolate(torch.rand(50, 3, 8, 8, generator=g), size=32, mode="bilinear")
    fresh = torch.nn.functional.interpolate(torch.rand(10, 3, 8, 8, generator=g), size=32, mode="bilinear")
    test = torch.cat([train[[7, 21]], (train[[33]] * 0.9 + 0.02 * torch.randn(1, 3, 32, 32, generator=g)).clamp(0, 1),
                      fresh])
    for method in ("thumbnail", "phash"):
        pairs = find_near_duplicates(train, test, method=method)
        found = {(p.train_index, p.test_index) for p in pairs}
        assert {(7, 0), (21, 1), (33, 2)} <= found, (method, pairs)
        assert all(isinstance(p, DuplicatePair) and p.similarity >= 0.875 for p in pairs)
    sims = [p.similarity for p in find_near_duplicates(train, test)]
    assert sims == sorted(sims, reverse=True)


def test_embedding_method_uses_the_model() -> None:
    g = torch.Generator().manual_seed(0)
    train = torch.rand(30, 3, 16, 16, generator=g)
    test = torch.cat([train[[4]], torch.rand(5, 3, 16, 16, generator=g)])
    calls = []

    def flat(x: torch.Tensor) -> torch.Tensor:
        calls.append(x.shape[0])
        return x.flatten(1)

    pairs = find_near_duplicates(train, test, model=flat)
    assert calls and [(p.train_index, p.test_index) for p in pairs] == [(4, 0)]
    assert pairs[0].similarity == pytest.approx(1.0, abs=1e-5)


def test_embedding_method_with_a_module_keeps_its_mode() -> None:
    from course_lib.models import course_cnn

    torch.manual_seed(0)
    model = course_cnn(num_classes=3).train()
    g = torch.Generator().manual_seed(1)
    train = torch.rand(12, 3, 16, 16, generator=g)
    pairs = find_near_duplicates(train, train[[5, 2]], model=model, threshold=0.999)
    assert {(p.train_index, p.test_index) for p in pairs} >= {(5, 0), (2, 1)}
    assert model.training  # put back in training mode afterwards
    grey = find_near_duplicates(train[:, :1], train[[3], :1], model=model, threshold=0.999)  # 1 channel -> 3
    assert (3, 0) in {(p.train_index, p.test_index) for p in grey}


def test_no_positive_cases_is_said_plainly() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        card = report_card([0, 0, 0, 0], [0, 0, 1, 0])
    assert card.verdict == "bad"
    assert any("no '1' case" in w for w in card.warnings)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "sift"}, "method must be"),
        ({"method": "embedding"}, "needs a backbone"),
        ({"threshold": 5}, "threshold"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_leakage_bad_arguments(kwargs, match) -> None:
    x = torch.rand(3, 3, 8, 8)
    with pytest.raises(ValueError, match=match):
        find_near_duplicates(x, x, **kwargs)
    with pytest.raises(TypeError, match="ImageDataset or a tensor"):
        find_near_duplicates([1, 2], x)


def _split_helpers():
    import course_lib.data as data

    if not all(hasattr(data, n) for n in ("leaky_split", "group_split")):
        pytest.fail("course_lib.data has no leaky_split/group_split yet (the leakage test needs them)")
    return data


def test_leaky_split_duplicates_found_group_split_clean() -> None:
    data = _split_helpers()
    ds = data.shapes_target("train", n_per_class=30, views=4, seed=3)
    leaky_train, leaky_test = data.leaky_split(ds, test_fraction=0.25, leak_fraction=0.3, seed=0)
    planted = leaky_test.meta["leaked_from"]
    planted_idx = torch.nonzero(planted >= 0).flatten().tolist()
    assert planted_idx, "the leaky split should plant duplicates"
    pairs = find_near_duplicates(leaky_train, leaky_test)
    by_test = {p.test_index: p for p in pairs}
    found = [i for i in planted_idx if i in by_test]
    assert len(found) >= 0.9 * len(planted_idx)
    # the match is the planted source or another view of the same object
    train_groups, test_groups = leaky_train.groups, leaky_test.groups
    for i in found:
        assert train_groups[by_test[i].train_index] == test_groups[i]

    group_train, group_test = data.group_split(ds, test_fraction=0.25, seed=0)
    false_pairs = find_near_duplicates(group_train, group_test)
    assert len(false_pairs) <= 0.02 * len(group_test)


# ---------------------------------------------------------------------------------------------------------------
# overfitting
def make_history(train_loss, val_loss, train_acc=None, val_acc=None, stages=None):
    from course_lib.training import History

    h = History()
    n = len(train_loss)
    for i in range(n):
        h.append(epoch=i, stage=(stages or ["head"] * n)[i], train_loss=train_loss[i], val_loss=val_loss[i],
                 train_acc=None if train_acc is None else train_acc[i], val_acc=None if val_acc is None else val_acc[i],
                 lr=1e-3, seconds=0.1)
    return h


def test_overfitting_detected_at_the_turn() -> None:
    epochs = np.arange(15)
    train_loss = 1.5 * np.exp(-0.3 * epochs)
    val_loss = 1.4 * np.exp(-0.35 * epochs) + 0.03 * np.maximum(0, epochs - 6) ** 1.5
    h = make_history(train_loss.tolist(), val_loss.tolist(), stages=["head"] * 5 + ["body"] * 10)
    rep = overfitting_report(h)
    turn = int(np.argmin(val_loss))
    assert rep.overfitting and rep.best_epoch == turn and rep.turn_epoch == turn
    assert rep.val_loss_rise == pytest.approx(val_loss[-1] - val_loss.min())
    assert rep.loss_gap == pytest.approx(val_loss[-1] - train_loss[-1])
    assert f"epoch {turn}" in rep.message and "early stopping" in rep.message
    # the same numbers from a list of dicts or a dict of lists
    assert overfitting_report(h.records).turn_epoch == turn
    assert overfitting_report({"train_loss": train_loss, "val_loss": val_loss}).turn_epoch == turn


def test_healthy_run_is_not_overfitting() -> None:
    loss = np.linspace(1.0, 0.2, 10)
    rep = overfitting_report(make_history(loss.tolist(), (loss + 0.05).tolist(), [0.6] * 10, [0.58] * 10))
    assert not rep.overfitting and rep.turn_epoch is None and rep.best_epoch == 9
    assert "still falling" in rep.message


def test_small_wobble_is_not_overfitting() -> None:
    val = [1.0, 0.6, 0.5, 0.52, 0.51, 0.53]  # 6 % above the minimum: within the 10 % tolerance
    rep = overfitting_report({"train_loss": [1.0, 0.6, 0.45, 0.4, 0.35, 0.3], "val_loss": val})
    assert not rep.overfitting and rep.best_epoch == 2


def test_accuracy_gap_alone_counts() -> None:
    rep = overfitting_report(make_history([0.5, 0.3, 0.2], [0.6, 0.55, 0.55], [0.8, 0.95, 1.0], [0.7, 0.72, 0.71]))
    assert rep.overfitting and rep.turn_epoch is None
    assert rep.accuracy_gap == pytest.approx(0.29)
    assert "29%" in rep.message


def test_diverged_and_bad_history() -> None:
    rep = overfitting_report({"train_loss": [1.0, math.nan], "val_loss": [1.1, math.nan]})
    assert rep.diverged and "diverged" in rep.message
    with pytest.raises(ValueError, match="val_loss"):
        overfitting_report({"train_loss": [1.0, 0.5]})
    with pytest.raises(TypeError, match="History"):
        overfitting_report(42)
    with pytest.raises(ValueError, match="empty"):
        overfitting_report(make_history([], []))
