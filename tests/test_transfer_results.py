"""course_lib/training/results/transfer.json: the fair transfer table lesson 3 teaches from cannot silently go stale.

The file must have been made with the current recipes (settings, grid, epoch budget), hold >= 5 seeds per
recipe, choose each learning rate by validation accuracy alone, and report means and t-intervals that follow
from its own per-seed numbers.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from course_lib.training.recipes import EPOCH_BUDGET, LR_GRID, SETTINGS, TUNED_RECIPES

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "course_lib" / "training" / "results" / "transfer.json"


def _benchmark():
    spec = importlib.util.spec_from_file_location("transfer_benchmark", ROOT / "benchmarks" / "transfer.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def results():
    return json.loads(RESULTS.read_text())


def test_the_file_records_how_it_was_made(results):
    meta = results["meta"]
    for key in ("command", "seeds", "tune_seeds", "lr_grid", "epoch_budget", "torch", "threads", "nproc", "cpu",
                "machine", "wall_seconds"):
        assert key in meta, key
    assert meta["command"].startswith("python benchmarks/transfer.py")
    assert len(set(meta["seeds"])) >= 5
    assert set(meta["tune_seeds"]) <= set(meta["seeds"])


def test_the_file_matches_the_current_recipes(results):
    bench = _benchmark()
    meta = results["meta"]
    assert meta["lr_grid"] == list(LR_GRID), "LR_GRID changed since the benchmark ran: rerun benchmarks/transfer.py"
    assert meta["epoch_budget"] == EPOCH_BUDGET
    assert set(results["regimes"]) == set(bench.REGIMES)
    for name, regime in results["regimes"].items():
        assert regime["n_per_class"] == bench.REGIMES[name]["n_per_class"]
        assert regime["epochs"] == bench.REGIMES[name]["epochs"]
        assert list(regime["recipes"]) == bench.REGIMES[name]["recipes"]
        for recipe, rec in regime["recipes"].items():
            want = {**SETTINGS[recipe], **bench.epoch_overrides(name, recipe), "lr": rec["chosen_lr"]}
            assert rec["settings"] == want, f"{name}/{recipe}: SETTINGS changed since the benchmark ran"
    for recipe, rec in results["regimes"]["small"]["recipes"].items():   # the lesson's data: SETTINGS = winners
        assert SETTINGS[recipe]["lr"] == rec["chosen_lr"], f"SETTINGS[{recipe!r}]['lr'] is not the tuned rate"


def test_rates_are_chosen_on_validation_and_every_recipe_has_five_seeds(results):
    seeds = results["meta"]["seeds"]
    for regime in results["regimes"].values():
        for recipe, rec in regime["recipes"].items():
            assert [r["seed"] for r in rec["runs"]] == seeds and len(seeds) >= 5
            if recipe in TUNED_RECIPES:
                grid = rec["grid"]
                assert [p["lr"] for p in grid] == list(LR_GRID)
                best = max(grid, key=lambda p: (round(p["val_accuracy"], 6), -p["val_loss"]))
                assert rec["chosen_lr"] == best["lr"]
                for p in grid:
                    assert p["val_accuracy"] == pytest.approx(np.mean([r["val_accuracy"] for r in p["runs"]]))
                # the tuning runs at the chosen rate are the same runs as those seeds' test runs
                chosen = next(p for p in grid if p["lr"] == rec["chosen_lr"])
                by_seed = {r["seed"]: r for r in rec["runs"]}
                for r in chosen["runs"]:
                    assert by_seed[r["seed"]] == r
            else:
                assert rec["chosen_lr"] == SETTINGS[recipe]["lr"]


def test_means_and_intervals_follow_from_the_per_seed_numbers(results):
    for regime in results["regimes"].values():
        for rec in regime["recipes"].values():
            for key, s in rec["summary"].items():
                v = np.array([r[key] for r in rec["runs"]], dtype=float)
                assert s["mean"] == pytest.approx(v.mean(), abs=1e-12)
                if np.ptp(v) == 0:
                    assert s["low"] == pytest.approx(v[0]) and s["high"] == pytest.approx(v[0])
                    continue
                lo, hi = stats.t.interval(0.95, len(v) - 1, loc=v.mean(), scale=stats.sem(v))
                assert (s["low"], s["high"]) == pytest.approx((lo, hi), abs=1e-9)
                assert s["low"] <= s["mean"] <= s["high"]


def test_the_markdown_table_is_the_json_printed():
    bench = _benchmark()
    res = json.loads(RESULTS.read_text())
    md = (ROOT / "benchmarks" / "results" / "transfer.md").read_text()
    assert bench.tables(res) in md


def test_lr_sensitivity_plot_draws_every_tuned_recipe(results):
    from course_lib.plots import plot_lr_sensitivity

    fig = plot_lr_sensitivity(RESULTS)
    left, right = fig.axes[:2]
    assert left.get_xscale() == "log"
    labels = left.get_legend_handles_labels()[1]
    assert labels == list(TUNED_RECIPES)
    grid_line = left.get_lines()[0]
    assert list(grid_line.get_xdata()) == list(LR_GRID)
    assert list(grid_line.get_ydata()) == [p["val_accuracy"] for p in results["regimes"]["small"]["recipes"]
                                           ["scratch"]["grid"]]
    with pytest.raises(ValueError, match="regime"):
        plot_lr_sensitivity(results, "nope")
    with pytest.raises(TypeError):
        plot_lr_sensitivity([1, 2])
