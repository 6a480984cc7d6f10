"""The transfer table: five recipes on the 5-class target task, mean ± std over seeds, wall time per run.

    python benchmarks/transfer.py [--seeds 0 1 2] [--domain shapes|textured]

Recipes and their settings live in course_lib/training/recipes.py (lesson 3 runs the same code).
"""

from __future__ import annotations

import argparse
import inspect
import time

import torch

from course_lib.data import shapes_target
from course_lib.training.recipes import RECIPES, compare_recipes, recipes_table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--recipes", nargs="+", default=list(RECIPES))
    ap.add_argument("--domain", default="shapes", help="shapes_target domain (if supported): shapes or textured")
    a = ap.parse_args()
    kw = {"domain": a.domain} if "domain" in inspect.signature(shapes_target).parameters else {}
    train, val, test = (shapes_target(s, **kw) for s in ("train", "val", "test"))
    print(f"target task: {len(train.classes)} classes, train {len(train)}, val {len(val)}, test {len(test)} "
          f"(domain={a.domain}); torch {torch.__version__}, {torch.get_num_threads()} threads")
    t0 = time.perf_counter()
    results = compare_recipes(train, val, test, recipes=tuple(a.recipes), seeds=tuple(a.seeds))
    print(recipes_table(results))
    for r in results:
        if r["diverged"]:
            print(f"  {r['recipe']} seed {r['seed']}: {r['history'].message}")
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
