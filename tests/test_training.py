"""course_lib.training: the loop, the recipe, caching, divergence and early stopping."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_lib.models import count_trainable_params, course_cnn, freeze, replace_head, unfreeze
from course_lib.training import History, evaluate, fine_tune, fit, param_groups, predict, select_device


def _toy(n=120, classes=3, seed=0):
    """Images whose class is visible as a bright quadrant: learnable in a few epochs."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    x = torch.rand(n, 3, 16, 16, generator=g) * 0.3
    for c in range(classes):
        r, col = divmod(c, 2)
        x[y == c, :, r * 8:(r + 1) * 8, col * 8:(col + 1) * 8] += 0.7
    return x, y


def _head_only_model(seed=0, classes=3):
    torch.manual_seed(seed)
    return unfreeze(replace_head(freeze(course_cnn(width=8)), classes), last_n=1)


def test_head_only_training_changes_only_the_head():
    model = _head_only_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fit(model, _toy(), epochs=2, lr=1e-2, progress=False, cache_features=False)
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {"fc.weight", "fc.bias"}  # BatchNorm running stats included: untouched


def test_cached_and_uncached_head_training_agree():
    data, val = _toy(seed=1), _toy(n=60, seed=2)
    a, b = _head_only_model(), _head_only_model()
    ha = fit(a, data, val, epochs=3, lr=1e-2, progress=False, cache_features=False)
    hb = fit(b, data, val, epochs=3, lr=1e-2, progress=False, cache_features="auto")
    assert torch.allclose(a.fc.weight, b.fc.weight, atol=1e-5)
    assert ha["train_loss"] == pytest.approx(hb["train_loss"], rel=1e-4)
    assert ha["val_acc"] == hb["val_acc"]


def test_caching_is_not_used_with_augmentation_or_a_trainable_body():
    # with augmentation the features change every epoch; the answer must equal the uncached path
    data = _toy()
    a, b = _head_only_model(), _head_only_model()
    fit(a, data, epochs=2, lr=1e-2, progress=False, augment=True, cache_features=False)
    fit(b, data, epochs=2, lr=1e-2, progress=False, augment=True, cache_features="auto")
    assert torch.equal(a.fc.weight, b.fc.weight)


def test_training_learns_and_is_reproducible():
    data = _toy(n=240)
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = course_cnn(width=8, num_classes=3)
        # batch_size=16: 90 steps, so BatchNorm's running statistics (momentum 0.1) catch up with the
        # weights; with 24 steps eval-mode accuracy still lags far behind train-mode accuracy
        h = fit(model, data, data, epochs=6, lr=3e-3, batch_size=16, progress=False, seed=3)
        runs.append((model.fc.weight.clone(), h))
    assert torch.equal(runs[0][0], runs[1][0])
    assert runs[0][1]["train_loss"] == runs[1][1]["train_loss"]
    assert runs[0][1].final("val_acc") > 0.9
    assert not runs[0][1].stalled and runs[0][1].message == ""


def test_training_that_does_not_learn_is_flagged_as_stalled(capsys):
    # a learning rate so small nothing moves: accuracy stays at chance, and fit says so (the seed's
    # "accuracy did not improve" symptom; the loss never exploded, so this is not a divergence)
    torch.manual_seed(0)
    h = fit(course_cnn(width=8, num_classes=3), _toy(), epochs=3, lr=1e-12, progress=False)
    assert h.stalled and not h.diverged
    assert "barely beats chance" in h.message and "learning rate" in h.message
    assert "barely beats chance" in capsys.readouterr().out
    # imbalanced classes: the message offers class weights or a balanced sampler first
    x, y = _toy(n=200)
    y = (torch.arange(200) % 20 == 0).long()  # 5 % positives
    torch.manual_seed(0)
    h = fit(course_cnn(width=8, num_classes=2), (x, y), epochs=3, lr=1e-12, progress=False)
    assert h.stalled and "class_weight='balanced'" in h.message
    # only the head learns on frozen random features: the features are the suspect
    h = fit(_head_only_model(), _toy(), epochs=3, lr=1e-12, progress=False)
    assert h.stalled and "frozen features" in h.message


def test_divergence_is_detected_and_blamed_on_the_learning_rate(capsys):
    torch.manual_seed(0)
    model = course_cnn(width=8, num_classes=3)
    h = fit(model, _toy(), epochs=5, lr=1e4, optimizer="sgd", progress=False)
    assert h.diverged
    assert "learning rate" in h.message and "too high" in h.message
    assert "learning rate" in capsys.readouterr().out
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_early_stopping_restores_the_best_epoch():
    # random labels: the model memorises the training set while validation loss turns up
    g = torch.Generator().manual_seed(0)
    x_tr, y_tr = torch.rand(64, 3, 16, 16, generator=g), torch.randint(0, 3, (64,), generator=g)
    x_va, y_va = torch.rand(64, 3, 16, 16, generator=g), torch.randint(0, 3, (64,), generator=g)
    torch.manual_seed(0)
    model = course_cnn(width=8, num_classes=3)
    h = fit(model, (x_tr, y_tr), (x_va, y_va), epochs=40, lr=1e-2, early_stopping=3, scheduler=None,
            progress=False)
    assert h.stopped_early and len(h) < 40
    assert h.best_epoch == min(range(len(h)), key=lambda i: h["val_loss"][i])
    assert h.best_epoch < len(h) - 1
    restored = evaluate(model, (x_va, y_va))["loss"]
    assert restored == pytest.approx(h["val_loss"][h.best_epoch], rel=1e-4)


def test_param_groups_discriminative_rates_and_frozen_parts_left_out():
    model = replace_head(course_cnn(width=8), 5)
    groups = param_groups(model, lr=1e-2, lr_mult=10)
    assert [(g["name"], g["lr"]) for g in groups] == [("body", 1e-3), ("head", 1e-2)]
    n = sum(p.numel() for g in groups for p in g["params"])
    assert n == count_trainable_params(model)
    freeze(model)
    unfreeze(model, last_n=2)  # last stage + head
    groups = param_groups(model, lr=1e-2)
    assert sum(p.numel() for g in groups for p in g["params"]) == count_trainable_params(model)
    freeze(model)
    with pytest.raises(ValueError, match="no trainable parameters"):
        param_groups(model, lr=1e-2)


def test_fine_tune_runs_both_stages():
    model = replace_head(course_cnn(width=8), 3)
    h = fine_tune(model, _toy(), _toy(n=60, seed=5), head_epochs=2, epochs=2, lr=1e-2, progress=False)
    assert isinstance(h, History)
    assert h.stage_starts() == {"head": 0, "body": 2}
    assert h["epoch"] == [0, 1, 2, 3]
    assert count_trainable_params(model) > sum(p.numel() for p in model.fc.parameters())
    lrs = h["lr"]
    assert max(lrs[2:]) <= 1e-2 * 0.1 + 1e-12  # body stage runs at the lower learning rate


def test_predict_and_evaluate():
    x, y = _toy(n=50)
    model = course_cnn(width=8, num_classes=3)
    labels, probs = predict(model, (x, y))
    assert labels.shape == (50,) and probs.shape == (50, 3)
    assert torch.allclose(probs.sum(1), torch.ones(50), atol=1e-5)
    assert torch.equal(labels, probs.argmax(1))
    m = evaluate(model, (x, y))
    assert set(m) == {"n", "loss", "accuracy", "precision", "recall", "f1"}
    assert m["accuracy"] == pytest.approx(float((labels == y).float().mean()))
    assert math.isfinite(m["loss"])


def test_cpu_fallback_and_device_errors():
    if not torch.cuda.is_available():
        assert select_device().type in ("cpu", "mps")
        with pytest.raises(ValueError, match="no CUDA GPU"):
            select_device("cuda")
    assert select_device("cpu") == torch.device("cpu")


def test_bad_input_is_explained():
    model = course_cnn(width=8, num_classes=3)
    x, y = _toy(n=20)
    with pytest.raises(ValueError, match="replace_head"):
        fit(model, (x, y + 5), epochs=1, progress=False)
    with pytest.raises(TypeError, match="float"):
        fit(model, ((x * 255).to(torch.uint8), y), epochs=1, progress=False)
    with pytest.raises(ValueError, match="one integer label per image"):
        fit(model, (x, y[:5]), epochs=1, progress=False)
    with pytest.raises(ValueError, match="lr must be"):
        fit(model, (x, y), epochs=1, lr=-1, progress=False)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, (x, y), epochs=0, progress=False)


def test_weight_decay_reaches_the_optimizer():
    # with zero gradient signal (lr tiny) the only change AdamW makes is the decay: w <- w * (1 - lr * wd)
    model = _head_only_model()
    w0 = model.fc.weight.detach().clone()
    x, y = _toy(n=8)
    fit(model, (x, y), epochs=1, lr=1e-9, weight_decay=1e6, scheduler=None, progress=False, batch_size=8)
    assert torch.allclose(model.fc.weight, w0 * (1 - 1e-9 * 1e6), atol=1e-6)


def test_history_records_what_each_fit_call_trained():
    model = replace_head(freeze(course_cnn(width=8)), 3)
    head_values = sum(p.numel() for p in model.fc.parameters())
    h1 = fit(model, _toy(), epochs=1, lr=1e-2, stage="head", progress=False)
    unfreeze(model)
    h2 = fit(model, _toy(), epochs=1, lr=1e-3, lr_mult=10, stage="body", progress=False)
    both = h1 + h2
    assert both.calls == [
        {"stage": "head", "trainable": head_values, "head_lr": 1e-2, "body_lr": None},
        {"stage": "body", "trainable": count_trainable_params(model), "head_lr": 1e-3, "body_lr": pytest.approx(1e-4)},
    ]
    assert both.stage("body").calls == both.calls[1:] and h1.calls == both.calls[:1]


# ------------------------------------------------------------------------------------------ recipes (lesson 3)
def _record_optimizers(monkeypatch):
    """Record, for every optimizer fit builds, {group name: (lr, number of parameter values)}."""
    from course_lib.training import engine

    seen, make = [], engine._make_optimizer

    def spy(groups, name):
        seen.append({g["name"]: (g["lr"], sum(p.numel() for p in g["params"])) for g in groups})
        return make(groups, name)

    monkeypatch.setattr(engine, "_make_optimizer", spy)
    return seen


def test_every_tuned_recipe_gets_the_same_epoch_budget_and_grid():
    from course_lib.training.recipes import EPOCH_BUDGET, LR_GRID, RECIPES, SETTINGS, TUNED_RECIPES

    assert set(SETTINGS) == set(RECIPES) and set(TUNED_RECIPES) <= set(RECIPES)
    for name in RECIPES:
        s = SETTINGS[name]
        assert s["epochs"] + s.get("head_epochs", 0) == EPOCH_BUDGET, name
        if name in TUNED_RECIPES:
            assert s["lr"] in LR_GRID, f"{name}: its lr must be a point of the grid it was tuned on"
    assert SETTINGS["too_high_lr"]["lr"] >= 10 * max(LR_GRID)


@pytest.mark.parametrize("recipe", ["scratch", "head_only", "full", "full_disc", "two_stage", "too_high_lr"])
def test_each_recipe_trains_what_it_says_at_the_rates_it_says(recipe, monkeypatch):
    from course_lib.data import shapes_target
    from course_lib.training.recipes import run_recipe

    tiny = shapes_target("train", n_per_class=2)
    seen = _record_optimizers(monkeypatch)
    kw = {"head_epochs": 1, "epochs": 1} if recipe == "two_stage" else {"epochs": 1}
    r = run_recipe(recipe, tiny, tiny, tiny, lr=1e-3, **kw)
    assert {"recipe", "seed", "test_accuracy", "test_f1", "diverged", "history", "model"} <= set(r)
    n_all = sum(p.numel() for p in r["model"].parameters())
    n_head = sum(p.numel() for p in r["model"].fc.parameters())
    if recipe == "head_only":
        assert seen == [{"head": (1e-3, n_head)}]
    elif recipe == "full_disc":   # discriminative rates from step one: head 10x the body, everything trainable
        assert seen == [{"body": (pytest.approx(1e-4), n_all - n_head), "head": (1e-3, n_head)}]
    elif recipe == "two_stage":   # linear probe, then everything at 10x lower (body 10x lower still)
        assert seen == [{"head": (1e-3, n_head)},
                        {"body": (pytest.approx(1e-5), n_all - n_head), "head": (pytest.approx(1e-4), n_head)}]
    else:                         # scratch, full, too_high_lr: one rate for every layer
        assert seen == [{"body": (1e-3, n_all - n_head), "head": (1e-3, n_head)}]


def test_backbone_features_are_what_the_head_receives():
    from course_lib.training.recipes import backbone_features

    torch.manual_seed(0)
    model = course_cnn(width=8, num_classes=3).train()
    x, _ = _toy(n=10)
    feats = backbone_features(model, x, batch_size=4)
    assert model.training, "the model's mode is restored"
    model.eval()
    with torch.no_grad():
        assert torch.allclose(model.fc(feats), model(x), atol=1e-5)


def test_mean_interval_matches_scipy():
    from scipy import stats

    from course_lib.training.recipes import mean_interval

    v = [0.91, 0.93, 0.88, 0.95, 0.90]
    m, lo, hi = mean_interval(v)
    want = stats.t.interval(0.95, len(v) - 1, loc=np.mean(v), scale=stats.sem(v))
    assert m == pytest.approx(np.mean(v)) and (lo, hi) == pytest.approx(want)
    assert mean_interval([0.5])[0] == 0.5 and math.isnan(mean_interval([0.5])[1])
    with pytest.raises(ValueError):
        mean_interval([])
