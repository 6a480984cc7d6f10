"""The fair transfer table: every recipe tuned on the same learning-rate grid and epoch budget, then >= 5 seeds.

    python benchmarks/transfer.py                       # writes course_lib/training/results/transfer.json and benchmarks/results/transfer.md
    python benchmarks/transfer.py --regimes small --seeds 0 1 --tune-seeds 0 --out /tmp/proto.json   # a quick look

For each data regime (images per class of the plain target task) and each tuned recipe
(``course_lib.training.recipes.TUNED_RECIPES``):

1. tuning: train at every learning rate of ``LR_GRID`` (same epochs for all, ``EPOCH_BUDGET``) for the tuning
   seeds; choose the rate with the best mean *validation* accuracy (ties: lower validation loss);
2. testing: at the chosen rate, train with every seed and report, as mean and 95 % t-interval over seeds:
   in-distribution test accuracy (``shapes_target("test")``), out-of-distribution test accuracy (the same
   five shapes on textured backgrounds, ``shapes_target("test", domain="textured")``, never trained on), and
   feature distortion: linear CKA and mean cosine similarity between the pre-trained and the fine-tuned
   backbone's features on the OOD test images.
``too_high_lr`` runs at its fixed setting as the demonstration. Every grid point also records its test and OOD
accuracy (for the learning-rate sensitivity plot; the choice uses validation only).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import torch

from course_lib.data import shapes_target
from course_lib.metrics.similarity import linear_cka, mean_cosine_similarity
from course_lib.models import course_cnn
from course_lib.training import evaluate
from course_lib.training.recipes import (
    EPOCH_BUDGET,
    LR_GRID,
    RECIPES,
    SETTINGS,
    TRANSFER_RESULTS,
    TUNED_RECIPES,
    backbone_features,
    mean_interval,
    run_recipe,
)

RESULTS = TRANSFER_RESULTS                                  # shipped with course_lib: lesson 3 reads it
TABLE = Path(__file__).resolve().parent / "results" / "transfer.md"
#: Data regimes: images per class in the target training split (val: 20/class, test: 200/class in both) and
#: the epoch budget (None: the recipes' own, EPOCH_BUDGET; with 5x the data, fewer epochs still mean 2x the steps).
#: ``recipes``: which run there (compute: scratch and the too-high demonstration only on the lesson's data).
REGIMES: dict[str, dict[str, Any]] = {
    "small": {"n_per_class": 20, "epochs": None, "recipes": list(RECIPES),
              "description": "20 training images per class (the lesson's data): tiny data, target drawn like the source"},
    "more": {"n_per_class": 100, "epochs": 10, "recipes": ["head_only", "full", "full_disc", "two_stage"],
             "description": "100 training images per class, 10 epochs: more target data"},
}


def epoch_overrides(regime: str, recipe: str) -> dict[str, int]:
    """The epochs a regime gives a recipe, as run_recipe overrides (two_stage: half head, half body)."""
    e = REGIMES[regime]["epochs"]
    if e is None:
        return {}
    return {"head_epochs": e // 2, "epochs": e - e // 2} if recipe == "two_stage" else {"epochs": e}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


_WORKER: dict[str, Any] = {}


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)


def _data(regime: str) -> tuple[dict, torch.Tensor]:
    """The regime's splits and the pre-trained backbone's OOD features (made once per worker process)."""
    if regime not in _WORKER:
        data = {"train": shapes_target("train", n_per_class=REGIMES[regime]["n_per_class"]),
                "val": shapes_target("val"), "test": shapes_target("test"),
                "ood": shapes_target("test", domain="textured")}
        _WORKER[regime] = (data, backbone_features(course_cnn(weights="DEFAULT"), data["ood"]))
    return _WORKER[regime]


def one_run(task: tuple[str, str, float, int]) -> dict[str, Any]:
    """Train ``recipe`` at ``lr`` with ``seed`` on the regime's data; every score the tables need."""
    regime, recipe, lr, seed = task
    data, pre_ood = _data(regime)
    r = run_recipe(recipe, data["train"], data["val"], data["test"], seed=seed, lr=lr,
                   **epoch_overrides(regime, recipe))
    model = r["model"]
    val = evaluate(model, data["val"])
    ood = evaluate(model, data["ood"])
    feats = backbone_features(model, data["ood"])
    return {"seed": seed, "val_accuracy": val["accuracy"], "val_loss": val["loss"],
            "test_accuracy": r["test_accuracy"], "ood_accuracy": ood["accuracy"],
            "cka": linear_cka(pre_ood, feats), "cosine": mean_cosine_similarity(pre_ood, feats),
            "diverged": bool(r["diverged"]), "seconds": round(r["seconds"], 2)}


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for key in ("test_accuracy", "ood_accuracy", "cka", "cosine"):
        m, lo, hi = mean_interval([r[key] for r in runs])
        out[key] = {"mean": m, "low": lo, "high": hi}
    return out


def run_all(regimes: list[str], grid: tuple[float, ...], seeds: list[int], tune_seeds: list[int],
            recipes: list[str], pool, log) -> dict[str, Any]:
    """Phase 1: every (regime, tuned recipe, lr, tuning seed); phase 2: the other seeds at the chosen rates."""
    done: dict[tuple, dict] = {}

    def run(tasks: list[tuple]) -> None:
        todo = [t for t in dict.fromkeys(tasks) if t not in done]
        for t, r in zip(todo, pool.map(one_run, todo), strict=True):
            done[t] = r
            log(f"  {t[0]:5s} {t[1]:10s} lr {t[2]:g} seed {t[3]}: val {r['val_accuracy']:.3f}, test "
                f"{r['test_accuracy']:.3f}, ood {r['ood_accuracy']:.3f}, cka {r['cka']:.3f} ({r['seconds']:.0f} s)")

    def chosen_recipes(g: str) -> list[str]:
        return [r for r in REGIMES[g]["recipes"] if r in recipes]

    run([(g, rec, lr, s) for g in regimes for rec in chosen_recipes(g) if rec in TUNED_RECIPES
         for lr in grid for s in tune_seeds])
    out: dict[str, Any] = {}
    chosen: dict[tuple[str, str], float] = {}
    for g in regimes:
        data, _ = _data(g)
        out[g] = {**REGIMES[g], "sizes": {k: len(v) for k, v in data.items()}, "recipes": {}}
        for rec in chosen_recipes(g):
            entry: dict[str, Any] = {}
            if rec in TUNED_RECIPES:
                entry["grid"] = []
                for lr in grid:
                    runs = [done[(g, rec, lr, s)] for s in tune_seeds]
                    point = {"lr": lr, "runs": runs}
                    for key in ("val_accuracy", "val_loss", "test_accuracy", "ood_accuracy", "cka"):
                        point[key] = sum(r[key] for r in runs) / len(runs)
                    entry["grid"].append(point)
                best = max(entry["grid"], key=lambda p: (round(p["val_accuracy"], 6), -p["val_loss"]))
                chosen[(g, rec)] = best["lr"]
            else:
                chosen[(g, rec)] = SETTINGS[rec]["lr"]
            entry["chosen_lr"] = chosen[(g, rec)]
            entry["settings"] = {**SETTINGS[rec], **epoch_overrides(g, rec), "lr": chosen[(g, rec)]}
            out[g]["recipes"][rec] = entry
    run([(g, rec, chosen[(g, rec)], s) for g in regimes for rec in chosen_recipes(g) for s in seeds])
    for g in regimes:
        for rec, entry in out[g]["recipes"].items():
            entry["runs"] = [done[(g, rec, entry["chosen_lr"], s)] for s in seeds]
            entry["summary"] = s = summary(entry["runs"])
            log(f"[{g}] {rec:10s} lr {entry['chosen_lr']:g}: ID {s['test_accuracy']['mean']:.3f}, OOD "
                f"{s['ood_accuracy']['mean']:.3f}, CKA {s['cka']['mean']:.3f}")
    return out


def _ci(s: dict[str, float], digits: int = 3) -> str:
    return f"{s['mean']:.{digits}f} [{s['low']:.{digits}f}, {s['high']:.{digits}f}]"


def tables(results: dict[str, Any]) -> str:
    """The markdown tables of a results file: per regime, the fair table and the learning-rate sensitivity."""
    meta = results["meta"]
    lines = []
    for name, reg in results["regimes"].items():
        recs = reg["recipes"]
        lines += [f"### Regime `{name}`: {reg['description']}", "",
                  f"Mean over {len(meta['seeds'])} seeds {meta['seeds']} with 95 % t-interval; learning rate chosen "
                  f"on validation from {meta['lr_grid']} with tuning seeds {meta['tune_seeds']}; "
                  f"{reg['epochs'] or meta['epoch_budget']} epochs each. ID: `shapes_target('test')` ({reg['sizes']['test']} images); "
                  f"OOD: `shapes_target('test', domain='textured')` ({reg['sizes']['ood']} images, never trained on); "
                  "CKA / cosine: pre-trained vs fine-tuned backbone features on the OOD images (1 = unchanged).", "",
                  "| recipe | chosen lr | ID test accuracy | OOD test accuracy | linear CKA | mean cosine | diverged |",
                  "|---|---|---|---|---|---|---|"]
        for recipe, rec in recs.items():
            s = rec["summary"]
            div = sum(r["diverged"] for r in rec["runs"])
            lines.append(f"| {recipe} | {rec['chosen_lr']:g} | {_ci(s['test_accuracy'])} | {_ci(s['ood_accuracy'])} | "
                         f"{_ci(s['cka'])} | {_ci(s['cosine'])} | {div}/{len(rec['runs'])} |")
        grid = meta["lr_grid"]
        lines += ["", f"Learning-rate sensitivity (`{name}`): validation accuracy / ID test / OOD test at each lr "
                  f"(mean over tuning seeds {meta['tune_seeds']}; * = chosen)", "",
                  "| recipe | " + " | ".join(f"lr {lr:g}" for lr in grid) + " |",
                  "|---|" + "---|" * len(grid)]
        for recipe, rec in recs.items():
            if "grid" not in rec:
                continue
            cells = [f"{p['val_accuracy']:.2f} / {p['test_accuracy']:.2f} / {p['ood_accuracy']:.2f}"
                     + ("*" if p["lr"] == rec["chosen_lr"] else "") for p in rec["grid"]]
            lines.append(f"| {recipe} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--regimes", nargs="+", default=list(REGIMES), choices=list(REGIMES))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--tune-seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--recipes", nargs="+", default=[*TUNED_RECIPES, "too_high_lr"], choices=list(SETTINGS))
    ap.add_argument("--grid", type=float, nargs="+", default=list(LR_GRID), help="learning rates (default LR_GRID)")
    ap.add_argument("--workers", type=int, default=3, help="processes, each with --threads torch threads")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=RESULTS, help="results JSON (the default also writes benchmarks/results/transfer.md; another --out writes its .md next to it)")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(f"{time.perf_counter() - t0:7.0f} s {msg}", flush=True)

    meta = {"command": " ".join(["python benchmarks/transfer.py", *(sys.argv[1:] if argv is None else argv)]),
            "seeds": a.seeds, "tune_seeds": a.tune_seeds, "lr_grid": a.grid, "epoch_budget": EPOCH_BUDGET,
            "selection": "best mean validation accuracy over tuning seeds (ties: lower validation loss)",
            "interval": "95 % t-interval over seeds (scipy.stats.t)", "torch": torch.__version__,
            "workers": a.workers, "threads": a.threads, "nproc": os.cpu_count(), "cpu": _cpu_model(),
            "machine": platform.platform(), "python": platform.python_version(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    log(f"torch {meta['torch']}, {a.workers} workers x {a.threads} threads, {meta['nproc']} CPUs ({meta['cpu']})")
    with ProcessPoolExecutor(a.workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                             initargs=(a.threads,)) as pool:
        results = {"meta": meta, "regimes": run_all(a.regimes, tuple(a.grid), a.seeds, a.tune_seeds, a.recipes,
                                                    pool, log)}
    meta["wall_seconds"] = round(time.perf_counter() - t0, 1)
    text = tables(results)
    print(text)
    print(f"total {meta['wall_seconds']:.0f} s")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(results, indent=1) + "\n")
    write_markdown(results, TABLE if a.out == RESULTS else a.out.with_suffix(".md"))


def write_markdown(results: dict[str, Any], path: Path) -> None:
    """The .md next to the JSON: how it was made, then :func:`tables`."""
    meta = results["meta"]
    path.write_text(f"# Transfer table\n\n`{meta['command']}` ({meta['wall_seconds']:.0f} s; torch {meta['torch']}, "
                    f"{meta['workers']} workers x {meta['threads']} threads, {meta['nproc']} CPUs: {meta['cpu']})\n\n"
                    f"{tables(results)}")


if __name__ == "__main__":
    main()
