"""Ways to train for a new task, compared fairly: the experiment behind lesson 3's transfer table.

* ``scratch``      - random initialisation, every layer trained (what pre-training saves you from);
* ``head_only``    - pre-trained backbone frozen, only a new head trained (a linear probe; features are cached);
* ``full``         - pre-trained, new (random) head, every layer trained at once at one learning rate;
* ``full_disc``    - the same with discriminative learning rates from step one: the head at ``lr``, the body 10x
  lower (as in d2l's fine-tuning chapter);
* ``two_stage``    - linear probe, then fine-tune (LP-FT): train the new head first, then unfreeze everything and
  fine-tune at a 10x lower rate (the body 10x lower still);
* ``too_high_lr``  - full fine-tuning with a learning rate far too high: the demonstration of what goes wrong.

A fair comparison gives every tuned recipe the same budget: the same epochs (:data:`EPOCH_BUDGET`, split 15 + 15
for ``two_stage``) and the same learning-rate grid (:data:`LR_GRID`, the one number each recipe tunes), the winner
chosen on the validation split only (``benchmarks/transfer.py`` does it and writes
``course_lib/training/results/transfer.json``). :data:`SETTINGS` holds the winners for the lesson's data (20 images/class).
"""

from __future__ import annotations

import json
import math
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from ..models import course_cnn, freeze, get_head, replace_head, unfreeze
from .engine import fine_tune, fit
from .predict import evaluate

__all__ = ["RECIPES", "TUNED_RECIPES", "LR_GRID", "EPOCH_BUDGET", "SETTINGS", "run_recipe", "compare_recipes",
           "recipes_table", "backbone_features", "mean_interval", "TRANSFER_RESULTS", "load_transfer_results"]

RECIPES = ("scratch", "head_only", "full", "full_disc", "two_stage", "too_high_lr")
TUNED_RECIPES = ("scratch", "head_only", "full", "full_disc", "two_stage")  # too_high_lr is a fixed demonstration
#: The learning rates every tuned recipe tries (``lr``: the head's rate; see each recipe for the body's).
LR_GRID = (3e-4, 1e-3, 3e-3, 1e-2)
#: Epochs every recipe trains for (two_stage: head_epochs + epochs).
EPOCH_BUDGET = 30

# lr: the value LR_GRID chose on the validation split (20 images/class; course_lib/training/results/transfer.json).
SETTINGS: dict[str, dict[str, Any]] = {
    "scratch": {"epochs": 30, "lr": 1e-2, "augment": True},
    "head_only": {"epochs": 30, "lr": 1e-2},
    "full": {"epochs": 30, "lr": 3e-4, "augment": True},
    "full_disc": {"epochs": 30, "lr": 3e-3, "lr_mult": 10.0, "augment": True},
    "two_stage": {"head_epochs": 15, "epochs": 15, "lr": 1e-2, "lr_mult": 10.0, "body_lr_scale": 0.1,
                  "augment": True},
    "too_high_lr": {"epochs": 30, "lr": 0.1, "augment": True},
}

#: The committed output of ``python benchmarks/transfer.py`` (lesson 3's fair table). It ships inside the package, like
#: the backbone's weights, so lesson 3 reads it wherever course_lib is installed (a learner's venv, a hub's shared one).
TRANSFER_RESULTS = Path(__file__).resolve().parent / "results" / "transfer.json"


def load_transfer_results(path: str | Path | None = None) -> dict[str, Any]:
    """The fair comparison's results (``course_lib/training/results/transfer.json``) as a dict.

    ``results["regimes"][regime]["recipes"][recipe]["summary"]["test_accuracy"]["mean"]`` etc.; see
    ``benchmarks/transfer.py`` for every key.

    Examples
    --------
    >>> res = load_transfer_results()                                   # doctest: +SKIP
    >>> res["regimes"]["small"]["recipes"]["two_stage"]["chosen_lr"]    # doctest: +SKIP
    0.01
    """
    p = Path(path) if path is not None else TRANSFER_RESULTS
    if not p.exists():
        raise FileNotFoundError(f"{p} not found: it is written by `python benchmarks/transfer.py` in the course "
                                "repository (about half an hour on 2 CPU cores).")
    return json.loads(p.read_text())


def _model(recipe: str, num_classes: int, weights: Any, seed: int):
    torch.manual_seed(seed)
    if recipe == "scratch":
        return course_cnn(weights=None, num_classes=num_classes)
    return replace_head(course_cnn(weights=weights), num_classes)


def run_recipe(recipe: str, train: Any, val: Any, test: Any, *, seed: int = 0, weights: Any = "DEFAULT",
               progress: bool | None = False, **overrides: Any) -> dict[str, Any]:
    """Train one recipe on ``train`` (validating on ``val``) and score it on ``test``.

    ``overrides`` replace entries of ``SETTINGS[recipe]`` (e.g. ``lr=3e-3`` or ``epochs=2``).
    Returns a dict: recipe, seed, test_accuracy, test_f1, seconds, trainable_params, diverged, history, model.

    Examples
    --------
    >>> from course_lib.data import shapes_target
    >>> tiny = shapes_target("train", n_per_class=2)
    >>> r = run_recipe("head_only", tiny, tiny, tiny, epochs=1)
    >>> sorted(k for k in r if k not in ("history", "model"))
    ['diverged', 'recipe', 'seconds', 'seed', 'test_accuracy', 'test_f1', 'trainable_params']
    """
    if recipe not in SETTINGS:
        raise ValueError(f"Unknown recipe {recipe!r}; choose from {', '.join(RECIPES)}.")
    num_classes = len(train.classes)
    model = _model(recipe, num_classes, weights, seed)
    kw = {**SETTINGS[recipe], **overrides}
    t0 = time.perf_counter()
    if recipe == "head_only":
        unfreeze(freeze(model), last_n=1)
        history = fit(model, train, val, seed=seed, progress=progress, stage="head", **kw)
    elif recipe == "two_stage":
        history = fine_tune(model, train, val, seed=seed, progress=progress, **kw)
    else:
        history = fit(model, train, val, seed=seed, progress=progress, stage="full", **kw)
    seconds = time.perf_counter() - t0
    scores = evaluate(model, test)
    return {"recipe": recipe, "seed": seed, "test_accuracy": scores["accuracy"], "test_f1": scores["f1"],
            "seconds": seconds, "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "diverged": history.diverged, "history": history, "model": model}


def compare_recipes(train: Any, val: Any, test: Any, *, recipes: tuple[str, ...] = RECIPES,
                    seeds: tuple[int, ...] = (0,), weights: Any = "DEFAULT", progress: bool | None = False
                    ) -> list[dict[str, Any]]:
    """Run every recipe for every seed at its :data:`SETTINGS`; the :func:`run_recipe` results without models."""
    out = []
    for recipe in recipes:
        for seed in seeds:
            r = run_recipe(recipe, train, val, test, seed=seed, weights=weights, progress=progress)
            r.pop("model")
            out.append(r)
    return out


@torch.no_grad()
def backbone_features(model: torch.nn.Module, images: Any, *, batch_size: int = 256) -> torch.Tensor:
    """What the model's head receives for each image (the backbone's features), one row per image.

    Examples
    --------
    >>> backbone_features(course_cnn(weights=None), torch.rand(3, 3, 32, 32)).shape
    torch.Size([3, 96])
    """
    x = images.images if hasattr(images, "images") else torch.as_tensor(images)
    _, head = get_head(model)
    out: list[torch.Tensor] = []
    grab = head.register_forward_pre_hook(lambda m, inp: out.append(inp[0].detach().float().flatten(1).cpu()))
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        for i in range(0, len(x), batch_size):
            model(x[i:i + batch_size].to(device))
    finally:
        grab.remove()
        model.train(was_training)
    return torch.cat(out)


def mean_interval(values: Any, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of per-seed results and its t-interval: ``(mean, low, high)``; one value gives ``(v, nan, nan)``.

    Examples
    --------
    >>> [round(v, 3) for v in mean_interval([0.90, 0.92, 0.94])]
    [0.92, 0.87, 0.97]
    """
    from scipy import stats

    v = [float(a) for a in values]
    if not v:
        raise ValueError("mean_interval needs at least one value.")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}.")
    m = statistics.fmean(v)
    if len(v) < 2:
        return m, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + confidence / 2, len(v) - 1)) * statistics.stdev(v) / math.sqrt(len(v))
    return m, m - half, m + half


def recipes_table(results: list[dict[str, Any]]) -> str:
    """Markdown table: test accuracy mean (95 % t-interval over seeds) and median seconds per run, per recipe."""
    lines = ["| recipe | test accuracy: mean [95 % interval] | seeds | median s/run |", "|---|---|---|---|"]
    for recipe in dict.fromkeys(r["recipe"] for r in results):
        rs = [r for r in results if r["recipe"] == recipe]
        m, lo, hi = mean_interval([r["test_accuracy"] for r in rs])
        ci = f" [{lo:.3f}, {hi:.3f}]" if len(rs) > 1 else ""
        lines.append(f"| {recipe} | {m:.3f}{ci} | {len(rs)} | {statistics.median(r['seconds'] for r in rs):.1f} |")
    return "\n".join(lines)
