"""course_lib.training: the loop, the recipe, caching, divergence and early stopping."""

from __future__ import annotations

import math

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
