"""How fast is fine-tuning with course_lib, and against the plain PyTorch-tutorial loop?

    python benchmarks/finetune.py                 # CPU
    python benchmarks/finetune.py --device cuda   # also images/s and the time spent outside forward/backward

Cases, on the 5-class target task (100 training images, 100 validation images):
  head-only, cached features vs uncached (same epochs, same result);
  full fine-tune; two-stage (course_lib.fine_tune);
  the same full fine-tune written as the PyTorch transfer-learning tutorial does it: a Dataset applying a
  torchvision transform to each item, a DataLoader (batch 4), and a plain loop.
Targets on 2 CPU cores: head-only <= 3 s and >= 5x faster than uncached; two-stage <= 30 s.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torchvision.transforms.v2 as T
from torch import nn

from course_lib import count_trainable_params, course_cnn, fine_tune, fit, freeze, replace_head, unfreeze
from course_lib.data import shapes_target
from course_lib.training import evaluate


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def pretrained(device):
    torch.manual_seed(0)
    return replace_head(course_cnn(weights="DEFAULT"), 5).to(device)


class PerItem(torch.utils.data.Dataset):
    """The tutorial's style: one image at a time through a transform pipeline."""

    def __init__(self, ds, transform):
        self.ds, self.t = ds, transform

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        x, y = self.ds[i]
        return self.t(x), y


def tutorial_loop(train, val, device, epochs: int, lr: float):
    model = pretrained(device)
    tf = T.Compose([T.RandomHorizontalFlip(), T.RandomAffine(degrees=0, translate=(0.1, 0.1))])
    loader = torch.utils.data.DataLoader(PerItem(train, tf), batch_size=4, shuffle=True, num_workers=0)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=7, gamma=0.1)
    crit = nn.CrossEntropyLoss()
    for _ in range(epochs):
        model.train()
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            opt.zero_grad()
            loss = crit(model(x), y)
            loss.backward()
            opt.step()
        sched.step()
        model.eval()
        with torch.no_grad():
            for x, _y in torch.utils.data.DataLoader(val, batch_size=4):
                model(x.to(device))
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=20)
    a = ap.parse_args()
    dev = torch.device(a.device)
    train, val, test = shapes_target("train"), shapes_target("val"), shapes_target("test")
    print(f"device {dev}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads; "
          f"train {len(train)}, val {len(val)}, test {len(test)}; {a.epochs} epochs; median of {a.repeats}")
    rows = []

    def head_only(cache):
        m = pretrained(dev)
        unfreeze(freeze(m), last_n=1)
        fit(m, train, val, epochs=a.epochs, lr=1e-2, cache_features=cache, device=dev, progress=False)
        return m

    t_cached, m1 = timed(lambda: head_only("auto"), a.repeats)
    t_uncached, m2 = timed(lambda: head_only(False), a.repeats)
    same = torch.allclose(m1.fc.weight, m2.fc.weight, atol=1e-4)
    rows.append(("head-only, cached features", t_cached, evaluate(m1, test)["accuracy"]))
    rows.append(("head-only, uncached", t_uncached, evaluate(m2, test)["accuracy"]))

    def full():
        m = pretrained(dev)
        fit(m, train, val, epochs=a.epochs, lr=1e-3, augment=True, device=dev, progress=False)
        return m

    t_full, m3 = timed(full, a.repeats)
    rows.append(("full fine-tune (course_lib.fit)", t_full, evaluate(m3, test)["accuracy"]))

    def two_stage():
        m = pretrained(dev)
        fine_tune(m, train, val, head_epochs=a.epochs, epochs=15, lr=1e-2, augment=True, device=dev, progress=False)
        return m

    t_two, m4 = timed(two_stage, a.repeats)
    rows.append(("two-stage (course_lib.fine_tune)", t_two, evaluate(m4, test)["accuracy"]))

    t_tut, m5 = timed(lambda: tutorial_loop(train, val, dev, a.epochs, 1e-3), a.repeats)
    rows.append(("full fine-tune, tutorial-style loop", t_tut, evaluate(m5, test)["accuracy"]))

    print("\n| case | median s | test accuracy |\n|---|---|---|")
    for name, t, acc in rows:
        print(f"| {name} | {t:.2f} | {acc:.3f} |")
    print(f"\ncached vs uncached head-only: {t_uncached / t_cached:.1f}x faster, same weights: {same}")
    print(f"course_lib full fine-tune vs tutorial-style loop: {t_tut / t_full:.1f}x faster")
    print(f"trainable parameters: head-only {count_trainable_params(m1)}, full {count_trainable_params(m3)}")

    if dev.type == "cuda":
        big = shapes_target("train", n_per_class=2000)
        m = pretrained(dev)
        t0 = time.perf_counter()
        fit(m, big, epochs=3, lr=1e-3, batch_size=256, device=dev, progress=False)
        torch.cuda.synchronize()
        total = time.perf_counter() - t0
        x = big.images[:256].to(dev).contiguous(memory_format=torch.channels_last)
        y = big.targets[:256].to(dev)
        opt = torch.optim.AdamW(m.parameters(), lr=1e-4)
        for _ in range(3):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = nn.functional.cross_entropy(m(x).float(), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        steps = len(big) // 256 + 1
        for _ in range(steps * 3):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = nn.functional.cross_entropy(m(x).float(), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
        torch.cuda.synchronize()
        compute = time.perf_counter() - t0
        print(f"\nCUDA: {3 * len(big) / total:.0f} images/s through fit(); forward/backward/step alone "
              f"{3 * steps * 256 / compute:.0f} images/s; time outside forward/backward: "
              f"{max(0.0, 1 - compute / total):.0%}")


if __name__ == "__main__":
    main()
