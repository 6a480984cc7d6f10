"""Benchmarks for course_lib.data: how fast each dataset is generated, and whether ``defects`` is learnable.

Run from the repository root::

    .venv/bin/python benchmarks/data.py                 # both parts
    .venv/bin/python benchmarks/data.py --speed-only
    .venv/bin/python benchmarks/data.py --learn-only --seconds 30 [--compare]

Speed: images per second for a fresh (uncached) build of each dataset, best of ``--repeats``.

Learnability: a small throwaway CNN (three conv stages, global MAX pooling, 2-way linear head) trained on
``defects("train")`` for ``--seconds`` of CPU time with class-balanced batches, then scored on
``defects("test")`` with scikit-learn's ROC-AUC. The course needs AUC >= 0.85. ``--compare`` also trains
the naive recipe (average pooling, natural 5%-positive batches, plain cross-entropy) to show the accuracy
paradox: high accuracy, near-zero recall.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_lib.data import DEFECT_KINDS, defects, digits, shapes_source, shapes_target  # noqa: E402

GOAL_AUC = 0.85


def speed(repeats: int) -> None:
    cases = {
        "shapes_source train (9,600)": lambda: shapes_source("train", cache=False),
        "shapes_source val (1,600)": lambda: shapes_source("val", cache=False),
        "shapes_target test (1,000)": lambda: shapes_target("test", cache=False),
        "shapes_target train views=5 (500)": lambda: shapes_target("train", views=5, cache=False),
        "shapes_target test textured (1,000)": lambda: shapes_target("test", domain="textured", cache=False),
        "defects train (2,000)": lambda: defects("train", cache=False),
        "digits train (1,078)": lambda: digits("train", cache=False),
    }
    print(f"{'dataset':40s} {'images':>7s} {'seconds':>8s} {'images/s':>9s}")
    for name, build in cases.items():
        best, n = float("inf"), 0
        for _ in range(repeats):
            t0 = time.perf_counter()
            n = len(build())
            best = min(best, time.perf_counter() - t0)
        print(f"{name:40s} {n:7d} {best:8.2f} {n / best:9.0f}", flush=True)
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["COURSE_LIB_CACHE"] = tmp
        shapes_source("train")
        t0 = time.perf_counter()
        shapes_source("train")
        print(f"{'shapes_source train, from the cache':40s} {9600:7d} {time.perf_counter() - t0:8.2f}")


class SmallNet(nn.Module):
    """Three conv stages (16-32-64 channels) and global max or average pooling."""

    def __init__(self, pool: str = "max") -> None:
        super().__init__()

        def stage(i: int, o: int) -> list[nn.Module]:
            return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(),
                    nn.Conv2d(o, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU()]

        self.features = nn.Sequential(*stage(3, 16), nn.MaxPool2d(2), *stage(16, 32), nn.MaxPool2d(2), *stage(32, 64))
        self.pool = pool
        self.head = nn.Linear(64, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)
        f = f.amax(dim=(2, 3)) if self.pool == "max" else f.mean(dim=(2, 3))
        return self.head(f)


def augment(x: torch.Tensor) -> torch.Tensor:
    """Flips and 90-degree turns: a defect on a texture stays a defect."""
    if torch.rand(()) < 0.5:
        x = x.flip(3)
    if torch.rand(()) < 0.5:
        x = x.flip(2)
    return torch.rot90(x, int(torch.randint(0, 4, ())), dims=(2, 3))


def train(pool: str, balanced: bool, seconds: float, seed: int = 0) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, recall_score, roc_auc_score

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    tr, te = defects("train"), defects("test")
    pos, neg = np.flatnonzero(tr.targets.numpy() == 1), np.flatnonzero(tr.targets.numpy() == 0)
    net = SmallNet(pool)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    steps, t0, bs = 0, time.process_time(), 64
    net.train()
    while (used := time.process_time() - t0) < seconds:
        for group in opt.param_groups:  # linear decay to zero over the time budget
            group["lr"] = 3e-3 * (1 - used / seconds)
        if balanced:
            idx = np.concatenate([rng.choice(pos, bs // 2), rng.choice(neg, bs // 2)])
        else:
            idx = rng.choice(len(tr), bs, replace=False)
        x, y = augment(tr.images[idx]), tr.targets[idx]
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps += 1
    net.eval()
    with torch.no_grad():
        score = torch.cat([net(te.images[i:i + 500]).softmax(1)[:, 1] for i in range(0, len(te), 500)]).numpy()
    y_true = te.targets.numpy()
    y_pred = (score >= 0.5).astype(int)
    kind = te.meta["defect_kind"].numpy()
    per_kind = {k: roc_auc_score(y_true[(kind == k) | (y_true == 0)], score[(kind == k) | (y_true == 0)])
                for k in range(len(DEFECT_KINDS))}
    return {"steps": steps, "auc": roc_auc_score(y_true, score), "accuracy": accuracy_score(y_true, y_pred),
            "recall": recall_score(y_true, y_pred, zero_division=0), "per_kind": per_kind}


def learnability(seconds: float, compare: bool) -> bool:
    recipes = [("max pooling, balanced batches", "max", True)]
    if compare:
        recipes.append(("avg pooling, natural batches (naive)", "avg", False))
    ok = True
    for name, pool, balanced in recipes:
        r = train(pool, balanced, seconds)
        print(f"defects, {name:38s}: {r['steps']:4d} steps in {seconds:.0f} s CPU | test ROC-AUC {r['auc']:.3f} "
              f"| accuracy@0.5 {r['accuracy']:.3f} | recall@0.5 {r['recall']:.3f}", flush=True)
        print("    ROC-AUC by defect kind (vs all ok images): "
              + ", ".join(f"{DEFECT_KINDS[k]} {v:.3f}" for k, v in r["per_kind"].items()))
        if balanced:
            ok = r["auc"] >= GOAL_AUC
    print(f"goal ROC-AUC >= {GOAL_AUC}: {'met' if ok else 'NOT met'}")
    return ok


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--speed-only", action="store_true")
    p.add_argument("--learn-only", action="store_true")
    p.add_argument("--seconds", type=float, default=30.0, help="CPU seconds of training for the defect check")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--compare", action="store_true", help="also train the naive recipe")
    p.add_argument("--threads", type=int, default=1, help="torch threads for training (default 1)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if not args.learn_only:
        speed(args.repeats)
    if not args.speed_only:
        return 0 if learnability(args.seconds, args.compare) else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
