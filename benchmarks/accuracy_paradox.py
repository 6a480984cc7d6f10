"""Lesson 5's comparison over several seeds: each defect model at equal operating points, and its calibration.

    python benchmarks/accuracy_paradox.py                        # 5 seeds x 4 variants, CPU, about 7 min on 2 cores
    python benchmarks/accuracy_paradox.py --seeds 0 --variants plain fixed --threads 1   # does the thread count matter?
    python benchmarks/accuracy_paradox.py --out benchmarks/results/05_accuracy_paradox.json

Lesson 5 trains each model once (seed 0: its Run All must stay within 90 s on 2 cores). This script runs the
lesson's recipe (full fine-tune of the pre-trained course CNN, 5 epochs, lr 3e-3, flips and shifts) for more
seeds, so the lesson can say how much its single run would move. Variants: global pooling (avg / max) x batches
(natural / balanced). For each run and on the TEST split: ROC-AUC and average precision (ranking, no threshold),
and precision, recall, F1 and accuracy at threshold 0.5 and at the threshold chosen on VALIDATION for recall
>= 0.8 (``threshold_for_recall``); the mean predicted probability against the base rate, before and after
``prior_correction`` (balanced batches train at a prior of 0.5), and the expected calibration error.
Seed s means ``seed_everything(s)`` before building the model and ``fit(..., seed=s)``, as the lesson does with s = 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from course_lib import course_cnn, fit, predict, replace_head
from course_lib.data import defects
from course_lib.metrics import (
    average_precision_score,
    expected_calibration_error,
    metrics_at_threshold,
    prior_correction,
    roc_auc_score,
    threshold_for_recall,
)
from course_lib.training import seed_everything
from course_lib.training.recipes import mean_interval

VARIANTS = {  # name: (global_pool, sampler)
    "plain": ("avg", None),               # lesson 5's plain fine-tune
    "fixed": ("max", "balanced"),         # lesson 5's fixed model
    "max_only": ("max", None),
    "balanced_only": ("avg", "balanced"),
}
EPOCHS, LR, TARGET_RECALL = 5, 3e-3, 0.8


def run(variant: str, seed: int, train, val, test) -> dict:
    pool, sampler = VARIANTS[variant]
    seed_everything(seed)
    model = replace_head(course_cnn(weights="DEFAULT", global_pool=pool), 2)
    t0 = time.perf_counter()
    fit(model, train, val, epochs=EPOCHS, lr=LR, augment=True, sampler=sampler, seed=seed)
    seconds = time.perf_counter() - t0
    y_val, y_test = val.targets.numpy(), test.targets.numpy()
    val_scores = predict(model, val)[1][:, 1].numpy()
    scores = predict(model, test)[1][:, 1].numpy()
    threshold = threshold_for_recall(y_val, val_scores, TARGET_RECALL)
    out = {"variant": variant, "seed": seed, "seconds": round(seconds, 1), "val_threshold": threshold,
           "roc_auc": roc_auc_score(y_test, scores), "average_precision": average_precision_score(y_test, scores)}
    for name, t in (("at_val_threshold", threshold), ("at_0.5", 0.5)):
        m = metrics_at_threshold(y_test, scores, t)
        out[name] = {k: m[k] for k in ("precision", "recall", "f1", "accuracy", "tp", "fp")}
    train_prior = 0.5 if sampler == "balanced" else float(train.targets.float().mean())
    corrected = prior_correction(scores, train_prior=train_prior, true_prior=float(train.targets.float().mean()))
    out["calibration"] = {
        "base_rate": float(y_test.mean()), "train_prior": train_prior,
        "mean_score": float(scores.mean()), "mean_score_corrected": float(corrected.mean()),
        "ece": expected_calibration_error(y_test, scores, n_bins=10),
        "ece_corrected": expected_calibration_error(y_test, corrected, n_bins=10),
        "roc_auc_corrected": roc_auc_score(y_test, corrected),
    }
    return out


def flat(r: dict) -> dict[str, float]:
    keys = {"roc_auc": r["roc_auc"], "ap": r["average_precision"], "val_threshold": r["val_threshold"]}
    for op in ("at_val_threshold", "at_0.5"):
        for k in ("precision", "recall", "f1", "accuracy"):
            keys[f"{op}.{k}"] = r[op][k]
    keys.update({f"calibration.{k}": v for k, v in r["calibration"].items() if k not in ("base_rate", "train_prior")})
    return keys


def summarise(runs: list[dict]) -> dict:
    out = {}
    for variant in dict.fromkeys(r["variant"] for r in runs):
        rows = [flat(r) for r in runs if r["variant"] == variant]
        out[variant] = {}
        for k in rows[0]:
            v = [row[k] for row in rows]
            mean, low, _ = mean_interval(v)   # the t-interval lesson 3's transfer table uses
            half = mean - low
            out[variant][k] = {"mean": mean, "min": min(v), "max": max(v), "ci95_half_width": half, "n": len(v)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--out", type=Path, help="write the runs and the summary as JSON")
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's, one per core); to see how much "
                    "the thread count moves a run")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    train, val, test = (defects(s) for s in ("train", "val", "test"))
    t0 = time.perf_counter()
    runs = []
    for seed in a.seeds:
        for variant in a.variants:
            r = run(variant, seed, train, val, test)
            runs.append(r)
            v, h = r["at_val_threshold"], r["at_0.5"]
            print(f"{variant:14s} seed {seed}  AUC {r['roc_auc']:.3f}  AP {r['average_precision']:.3f}  "
                  f"val-t {r['val_threshold']:.3f}: P {v['precision']:.3f} R {v['recall']:.2f}  "
                  f"0.5: P {h['precision']:.3f} R {h['recall']:.2f}  mean score "
                  f"{r['calibration']['mean_score']:.3f} -> {r['calibration']['mean_score_corrected']:.3f}  "
                  f"({r['seconds']:.0f} s)", flush=True)
    summary = summarise(runs)
    print("\nmean [min, max] over seeds", a.seeds)
    for variant, s in summary.items():
        print(f"  {variant}:")
        for k, d in s.items():
            print(f"    {k:38s} {d['mean']:.3f}  [{d['min']:.3f}, {d['max']:.3f}]  +-{d['ci95_half_width']:.3f}")
    total = time.perf_counter() - t0
    print(f"total {total:.0f} s")
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        meta = {"command": "python benchmarks/accuracy_paradox.py " + " ".join(
                    ["--seeds", *map(str, a.seeds), "--variants", *a.variants, "--out", str(a.out)]),
                "seeds": a.seeds, "variants": {v: VARIANTS[v] for v in a.variants}, "epochs": EPOCHS, "lr": LR,
                "target_recall": TARGET_RECALL, "device": "cpu", "torch": torch.__version__,
                "threads": torch.get_num_threads(), "cpus": os.cpu_count(), "machine": platform.platform(),
                "total_seconds": round(total)}
        a.out.write_text(json.dumps({"meta": meta, "summary": summary, "runs": runs}, indent=1) + "\n")
        print("wrote", a.out)


if __name__ == "__main__":
    main()
