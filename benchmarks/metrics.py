"""How fast is ``course_lib.metrics`` on a large evaluation?

Times ``confusion_matrix`` + ``precision_recall_fscore_support(average='macro')`` on N labels
(default 10 million, 10 classes) and compares them with

* scikit-learn's ``confusion_matrix`` + ``precision_recall_fscore_support`` (the reference), and
* a plain copy of both label arrays (``y.clone()``), the memory-bandwidth floor: any metric has to
  read the labels at least once. A second floor copies into arrays allocated beforehand
  (``out.copy_(y)``), which leaves out the cost of fresh memory.

Each time is the median of ``--repeats`` runs after one warm-up run. Runs on the CPU, and on CUDA
too when ``torch.cuda.is_available()``. The results are also checked against scikit-learn's.

Usage::

    .venv/bin/python benchmarks/metrics.py                 # 10M labels, 10 classes
    .venv/bin/python benchmarks/metrics.py --n 1000000 --repeats 3

Targets: at least 10x faster than scikit-learn, and within 3x of the copy.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from course_lib.metrics import confusion_matrix, precision_recall_fscore_support


def median_seconds(fn: Callable[[], object], repeats: int, device: torch.device) -> float:
    """Median wall time of ``fn`` over ``repeats`` runs, after one warm-up run."""

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ours(y_true: torch.Tensor | np.ndarray, y_pred: torch.Tensor | np.ndarray) -> tuple:
    cm = confusion_matrix(y_true, y_pred)
    prf = precision_recall_fscore_support(y_true, y_pred, average="macro")
    return cm, prf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="number of labels")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (median)")
    parser.add_argument("--sklearn-repeats", type=int, default=3, help="timed runs for scikit-learn")
    parser.add_argument("--no-sklearn", action="store_true", help="skip the (slow) scikit-learn reference")
    args = parser.parse_args()

    gen = torch.Generator().manual_seed(0)
    y_true = torch.randint(0, args.classes, (args.n,), generator=gen)
    # a classifier that is right 80% of the time, otherwise guesses
    guess = torch.randint(0, args.classes, (args.n,), generator=gen)
    y_pred = torch.where(torch.rand(args.n, generator=gen) < 0.8, y_true, guess)
    yt_np, yp_np = y_true.numpy(), y_pred.numpy()

    sk_time = float("nan")
    if not args.no_sklearn:
        import sklearn.metrics as skm

        def sklearn_run() -> tuple:
            cm = skm.confusion_matrix(yt_np, yp_np)
            prf = skm.precision_recall_fscore_support(yt_np, yp_np, average="macro")
            return cm, prf

        ref_cm, ref_prf = sklearn_run()
        got_cm, got_prf = ours(y_true, y_pred)
        assert np.array_equal(ref_cm, got_cm), "confusion matrices differ from scikit-learn's"
        assert np.allclose(ref_prf[:3], got_prf[:3], rtol=1e-12), (ref_prf, got_prf)
        sk_time = median_seconds(sklearn_run, args.sklearn_repeats, torch.device("cpu"))

    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    rows = []
    for device in devices:
        yt, yp = y_true.to(device), y_pred.to(device)
        out_t, out_p = torch.empty_like(yt), torch.empty_like(yp)
        inputs = [(f"{device.type} tensors", yt, yp)]
        if device.type == "cpu":
            inputs.append(("cpu numpy arrays", yt_np, yp_np))
        clone = median_seconds(lambda yt=yt, yp=yp: (yt.clone(), yp.clone()), args.repeats, device)
        copy_ = median_seconds(
            lambda yt=yt, yp=yp, ot=out_t, op=out_p: (ot.copy_(yt), op.copy_(yp)), args.repeats, device
        )
        for name, a, b in inputs:
            t = median_seconds(lambda a=a, b=b: ours(a, b), args.repeats, device)
            rows.append((name, t, sk_time, clone, copy_))

    print(
        f"\nconfusion_matrix + precision_recall_fscore_support(average='macro'): "
        f"{args.n:,} labels, {args.classes} classes, torch {torch.__version__}, "
        f"{torch.get_num_threads()} CPU threads, median of {args.repeats} runs (scikit-learn: {args.sklearn_repeats})\n"
    )
    print(
        "| input | course_lib (ms) | scikit-learn (ms) | clone both (ms) | copy_ both (ms) "
        "| speed-up vs scikit-learn | course_lib / clone | course_lib / copy_ |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, t, sk, clone, copy_ in rows:
        print(
            f"| {name} | {t * 1e3:.1f} | {sk * 1e3:.0f} | {clone * 1e3:.1f} | {copy_ * 1e3:.1f} "
            f"| {sk / t:.0f}x | {t / clone:.2f}x | {t / copy_:.2f}x |"
        )


if __name__ == "__main__":
    main()
