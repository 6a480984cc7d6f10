"""Re-create the course's pre-trained backbone from scratch: ``python -m course_lib.pretrain``.

This is how ``CourseCNN_Weights.SHAPES_V1`` was made: a CourseCNN trained on the 16 source shape classes of
``course_lib.data.shapes_source`` (seeded, CPU, a few minutes on 2 cores). It writes the weights and a
provenance file beside them (data version and seed, epochs, accuracy, parameter count, sha256), which the
tests check against the shipped file.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from pathlib import Path

import torch

from .models.backbone import WEIGHTS_DIR, CourseCNN, sha256_of
from .training import fit, predict
from .training.engine import augment_batch

DEFAULT_OUT = WEIGHTS_DIR / "course_cnn_shapes_v1.pt"
SAMPLE_SIZE = 320  # the fixed sample (first images of the source validation split) the tests re-score


def sample_accuracy(model: CourseCNN, *, seed: int = 0, n: int = SAMPLE_SIZE) -> float:
    """Accuracy on the first ``n`` images of the source validation split (the provenance's fixed sample)."""
    from .data import shapes_source

    val = shapes_source("val", seed=seed)
    labels, _ = predict(model, val.images[:n])
    return float((labels == val.targets[:n]).float().mean())


def _flip(batch: torch.Tensor) -> torch.Tensor:
    """Random horizontal flips only (shifts slowed pre-training down without helping transfer). Drawn from the
    global generator, as when the shipped checkpoint was made, so ``pretrain()`` still reproduces it."""
    return augment_batch(batch, torch.default_generator, max_shift=0)


def _cpu_seconds() -> float:
    """CPU time of this process so far (user + system, all threads): wall time on an idle 2-core machine is
    about half of it; on a busy machine wall time says little."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def pretrain(*, epochs: int = 12, width: int = 24, seed: int = 0, n_per_class: int = 600, lr: float = 0.1,
             batch_size: int = 128, out: Path = DEFAULT_OUT, progress: bool | None = None) -> dict:
    from .data import DATA_VERSION, shapes_source

    t0 = time.perf_counter()
    train = shapes_source("train", n_per_class=n_per_class, seed=seed)
    val = shapes_source("val", seed=seed)
    t_data = time.perf_counter() - t0
    torch.manual_seed(seed)
    model = CourseCNN(num_classes=len(train.classes), width=width)
    history = fit(model, train, val, epochs=epochs, lr=lr, optimizer="sgd", weight_decay=5e-4, scheduler="onecycle",
                  batch_size=batch_size, augment=_flip, label_smoothing=0.1, seed=seed, device="cpu",
                  progress=progress, stage="pretrain", divergence_factor=0)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    torch.save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, tmp)
    tmp.replace(out)
    info = {
        "file": out.name,
        "architecture": "CourseCNN",
        "width": width,
        "categories": list(train.classes),
        "num_params": sum(p.numel() for p in model.parameters()),
        "data": {"dataset": "course_lib.data.shapes_source", "data_version": DATA_VERSION, "seed": seed,
                 "train_images": len(train), "val_images": len(val)},
        "recipe": {"epochs": epochs, "optimizer": "SGD nesterov momentum 0.9", "lr": lr, "scheduler": "one-cycle",
                   "batch_size": batch_size, "weight_decay": 5e-4, "label_smoothing": 0.1,
                   "augment": "random horizontal flips"},
        "source_val_accuracy": round(float(history.final("val_acc")), 4),
        "sample_accuracy": {"n": SAMPLE_SIZE, "accuracy": sample_accuracy(model, seed=seed)},
        "seconds": {"data": round(t_data, 1), "training": round(history.seconds, 1),
                    "cpu_total": round(_cpu_seconds(), 1)},
        "environment": {"torch": torch.__version__, "python": platform.python_version(),
                        "threads": torch.get_num_threads()},
        "size_bytes": out.stat().st_size,
        "sha256": sha256_of(out),
    }
    out.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--width", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-per-class", type=int, default=600)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    a = ap.parse_args(argv)
    info = pretrain(epochs=a.epochs, width=a.width, seed=a.seed, n_per_class=a.n_per_class, lr=a.lr, out=a.out,
                    progress=True)
    print(json.dumps({k: info[k] for k in ("file", "num_params", "source_val_accuracy", "sample_accuracy",
                                           "seconds", "size_bytes", "sha256")}, indent=2))


if __name__ == "__main__":
    main()
