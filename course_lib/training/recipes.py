"""Five ways to train for a new task, side by side: the experiment behind lesson 3's transfer table.

* ``scratch``      - random initialisation, every layer trained (what pre-training saves you from);
* ``head_only``    - pre-trained backbone frozen, only a new head trained (fast: features are cached);
* ``full``         - pre-trained, new head, every layer trained at once at a moderate learning rate;
* ``two_stage``    - the recipe: train the new head first, then unfreeze and fine-tune with a low learning rate;
* ``too_high_lr``  - full fine-tuning with a learning rate far too high: the pre-trained features are wrecked.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch

from ..models import course_cnn, freeze, replace_head, unfreeze
from .engine import fine_tune, fit
from .predict import evaluate

__all__ = ["RECIPES", "run_recipe", "compare_recipes", "recipes_table"]

RECIPES = ("scratch", "head_only", "full", "two_stage", "too_high_lr")

# Settings tuned on the validation split of shapes_target (never on its test split).
SETTINGS: dict[str, dict[str, Any]] = {
    "scratch": {"epochs": 40, "lr": 3e-3, "augment": True},
    "head_only": {"epochs": 40, "lr": 1e-2},
    "full": {"epochs": 20, "lr": 1e-3, "augment": True},
    "two_stage": {"head_epochs": 20, "epochs": 15, "lr": 1e-2, "lr_mult": 10.0, "body_lr_scale": 0.1,
                  "augment": True},
    "too_high_lr": {"epochs": 20, "lr": 0.1, "augment": True},
}


def _model(recipe: str, num_classes: int, weights: Any, seed: int):
    torch.manual_seed(seed)
    if recipe == "scratch":
        return course_cnn(weights=None, num_classes=num_classes)
    return replace_head(course_cnn(weights=weights), num_classes)


def run_recipe(recipe: str, train: Any, val: Any, test: Any, *, seed: int = 0, weights: Any = "DEFAULT",
               progress: bool | None = False, **overrides: Any) -> dict[str, Any]:
    """Train one recipe on ``train`` (validating on ``val``) and score it on ``test``.

    Returns a dict: recipe, seed, test_accuracy, test_f1, seconds, trainable_params, history, model.
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
    """Run every recipe for every seed; returns the list of :func:`run_recipe` results (without models)."""
    out = []
    for recipe in recipes:
        for seed in seeds:
            r = run_recipe(recipe, train, val, test, seed=seed, weights=weights, progress=progress)
            r.pop("model")
            out.append(r)
    return out


def recipes_table(results: list[dict[str, Any]]) -> str:
    """Markdown table: test accuracy mean +/- std over seeds and median seconds per run, per recipe."""
    lines = ["| recipe | test accuracy (mean ± std) | seeds | median s/run |", "|---|---|---|---|"]
    for recipe in dict.fromkeys(r["recipe"] for r in results):
        rs = [r for r in results if r["recipe"] == recipe]
        acc = [r["test_accuracy"] for r in rs]
        sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
        lines.append(f"| {recipe} | {statistics.mean(acc):.3f} ± {sd:.3f} | {len(rs)} | "
                     f"{statistics.median(r['seconds'] for r in rs):.1f} |")
    return "\n".join(lines)
