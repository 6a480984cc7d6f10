"""The training loop: ``fit`` (one stage) and ``fine_tune`` (the two-stage recipe).

The loop is plain PyTorch (forward, loss, backward, step) with what fine-tuning needs around it: device
choice, bf16 autocast and channels_last on CUDA, optional augmentation and class balancing, early stopping
with best-weights restore, divergence detection, and *frozen-feature caching*: when only the head can learn
and nothing is augmented, the frozen backbone gives the same features every epoch, so they are computed once
and the head is trained on them (same result, far less work).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..models.freezing import freeze, head_only_trainable, unfreeze
from ..models.heads import get_head
from .device import quiet, seed_everything, select_device
from .history import History
from .optim import param_groups

__all__ = ["fit", "fine_tune", "as_tensors", "augment_batch"]


# ----------------------------------------------------------------------------------------------- data access
def as_tensors(data: Any, name: str = "data") -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(images, labels)`` tensors from an ImageDataset, a TensorDataset or an ``(X, y)`` pair."""
    if hasattr(data, "images") and hasattr(data, "targets"):
        x, y = data.images, data.targets
    elif isinstance(data, torch.utils.data.TensorDataset):
        x, y = data.tensors[0], data.tensors[1]
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    elif isinstance(data, torch.utils.data.Dataset):
        items = [data[i] for i in range(len(data))]
        x = torch.stack([torch.as_tensor(a) for a, _ in items])
        y = torch.as_tensor([int(b) for _, b in items])
    else:
        raise TypeError(f"{name} must be an ImageDataset, a TensorDataset, a Dataset or an (images, labels) pair; "
                        f"got {type(data).__name__}.")
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    if x.ndim != 4:
        raise ValueError(f"{name} images must be shaped (N, channels, height, width), got {tuple(x.shape)}.")
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"{name} needs one integer label per image: {len(x)} images but labels shaped "
                         f"{tuple(y.shape)}.")
    if len(x) == 0:
        raise ValueError(f"{name} is empty.")
    if not x.is_floating_point():
        raise TypeError(f"{name} images must be float tensors in [0, 1], got {x.dtype}; use x.float() / 255.")
    return x, y.long()


def augment_batch(x: torch.Tensor, generator: torch.Generator, *, max_shift: int = 3) -> torch.Tensor:
    """Random horizontal flips and shifts of up to ``max_shift`` pixels (label-preserving for the course data)."""
    n = x.shape[0]
    flip = torch.rand(n, generator=generator, device="cpu") < 0.5
    x = torch.where(flip.to(x.device)[:, None, None, None], x.flip(3), x)
    if max_shift:
        padded = F.pad(x, (max_shift,) * 4, mode="replicate")
        dx, dy = (torch.randint(0, 2 * max_shift + 1, (2,), generator=generator)).tolist()
        x = padded[:, :, dy:dy + x.shape[2], dx:dx + x.shape[3]]
    return x


# ----------------------------------------------------------------------------------------------- helpers
def _make_optimizer(groups: list[dict], name: str) -> torch.optim.Optimizer:
    if name == "adamw":
        return torch.optim.AdamW(groups)
    if name == "sgd":
        return torch.optim.SGD(groups, momentum=0.9, nesterov=True)
    raise ValueError(f"optimizer must be 'adamw' or 'sgd', got {name!r}.")


def _make_scheduler(opt: torch.optim.Optimizer, name: str | None, total_steps: int):
    if name is None or name == "constant":
        return None
    if name == "onecycle":
        if total_steps < 4:  # too short to warm up and anneal: keep the learning rate constant
            return None
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=[g["lr"] for g in opt.param_groups], total_steps=total_steps,
            pct_start=min(0.5, max(0.25, 2.0 / total_steps)))
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps)
    raise ValueError(f"scheduler must be 'onecycle', 'cosine' or None, got {name!r}.")


def _class_weights(y: torch.Tensor, spec: Any, num_classes: int) -> torch.Tensor | None:
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec != "balanced":
            raise ValueError(f"class_weight must be None, 'balanced' or one weight per class, got {spec!r}.")
        counts = torch.bincount(y, minlength=num_classes).float().clamp(min=1)
        return len(y) / (num_classes * counts)
    w = torch.as_tensor(spec, dtype=torch.float32)
    if w.shape != (num_classes,):
        raise ValueError(f"class_weight needs {num_classes} weights (one per class), got shape {tuple(w.shape)}.")
    return w


def _epoch_indices(y: torch.Tensor, sampler: str | None, g: torch.Generator) -> torch.Tensor:
    n = len(y)
    if sampler is None:
        return torch.randperm(n, generator=g)
    if sampler == "balanced":  # each class equally likely per draw, with replacement
        counts = torch.bincount(y).float()
        w = (1.0 / counts.clamp(min=1))[y]
        return torch.multinomial(w, n, replacement=True, generator=g)
    raise ValueError(f"sampler must be None or 'balanced', got {sampler!r}.")


def _head_feeds_output(model: nn.Module, head: nn.Module, x: torch.Tensor) -> bool:
    """True when the head's output *is* the model's output (so caching its input is exact)."""
    seen = {}
    h = head.register_forward_hook(lambda m, i, o: seen.setdefault("out", o))
    try:
        with torch.no_grad():
            out = model(x[:2])
    finally:
        h.remove()
    return "out" in seen and seen["out"].shape == out.shape and torch.equal(seen["out"], out)


def _can_cache(model: nn.Module, augment: Any) -> bool:
    if augment or not head_only_trainable(model):
        return False
    _, head = get_head(model)
    head_mods = set(head.modules())
    for m in model.modules():
        if m in head_mods:
            continue
        if isinstance(m, nn.Dropout) and m.p > 0:
            return False
        if isinstance(m, _BatchNorm) and not getattr(m, "_course_frozen", False):
            return False
    return True


@torch.no_grad()
def _features(model: nn.Module, head: nn.Module, x: torch.Tensor, batch_size: int, device, amp) -> torch.Tensor:
    out = []
    grab = head.register_forward_pre_hook(lambda m, inp: out.append(inp[0].float()))
    was_training = model.training
    model.eval()
    try:
        for i in range(0, len(x), batch_size):
            with amp():
                model(x[i:i + batch_size].to(device, non_blocking=True))
    finally:
        grab.remove()
        model.train(was_training)
    return torch.cat(out)


# ----------------------------------------------------------------------------------------------- fit

def _call_record(model: nn.Module, head: nn.Module, groups: list[dict], stage: str) -> dict[str, Any]:
    """One :attr:`History.calls` entry: the stage, how many values train, and the head's and body's top rates."""
    head_ids = {id(p) for p in head.parameters()}
    head_lrs = [g["lr"] for g in groups if any(id(p) in head_ids for p in g["params"])]
    body_lrs = [g["lr"] for g in groups if any(id(p) not in head_ids for p in g["params"])]
    return {"stage": stage, "trainable": int(sum(p.numel() for p in model.parameters() if p.requires_grad)),
            "head_lr": float(max(head_lrs)) if head_lrs else None,
            "body_lr": float(max(body_lrs)) if body_lrs else None}

def fit(
    model: nn.Module,
    train: Any,
    val: Any = None,
    *,
    epochs: int = 5,
    lr: float = 1e-3,
    lr_mult: float | None = None,
    batch_size: int = 64,
    optimizer: str = "adamw",
    weight_decay: float = 1e-4,
    scheduler: str | None = "onecycle",
    augment: bool | Callable[[torch.Tensor], torch.Tensor] = False,
    class_weight: Any = None,
    sampler: str | None = None,
    label_smoothing: float = 0.0,
    early_stopping: int | None = None,
    restore_best: bool = True,
    divergence_factor: float = 4.0,
    cache_features: bool | str = "auto",
    device: str | torch.device | None = None,
    amp: bool = True,
    seed: int = 0,
    progress: bool | None = None,
    stage: str = "train",
) -> History:
    """Train the model's trainable parameters; returns a :class:`History`.

    Parameters
    ----------
    model : nn.Module
        Freeze or unfreeze parts first; only parameters with ``requires_grad`` learn.
    train, val : ImageDataset, TensorDataset or (images, labels)
        Training data and (optional) validation data.
    epochs, lr, batch_size : training length, (head) learning rate, images per step.
    lr_mult : float, optional
        Discriminative learning rates: the head learns at ``lr``, the body at ``lr / lr_mult``.
    augment : bool or callable
        ``True`` applies random flips and small shifts to each batch.
    class_weight : None, "balanced" or a weight per class
        Weights of the cross-entropy loss; "balanced" makes rare classes count as much as common ones.
    sampler : None or "balanced"
        "balanced" draws each class equally often.
    early_stopping : int, optional
        Stop after this many epochs without a lower validation loss, and (``restore_best``) keep the best weights.
    divergence_factor : float
        Stop when the loss becomes NaN/inf, or an epoch's mean loss exceeds ``divergence_factor`` times the
        first batch's loss: the learning rate is then almost certainly too high.
    cache_features : "auto", True or False
        Compute frozen-backbone features once when only the head learns (see module docs).
    device : None picks CUDA, then MPS, then CPU.
    amp : bf16 autocast and channels_last on CUDA (ignored on CPU).
    seed : int
        Same seed, same data order, same result.

    Examples
    --------
    >>> from course_lib import course_cnn, replace_head, freeze, unfreeze, fit
    >>> from course_lib.data import shapes_target
    >>> model = replace_head(freeze(course_cnn(weights="DEFAULT")), 5)
    >>> history = fit(model, shapes_target("train"), shapes_target("val"), epochs=10, lr=3e-3)  # doctest: +SKIP
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}.")
    if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive number, got {lr!r}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    seed_everything(seed)
    g = torch.Generator().manual_seed(seed)
    dev = select_device(device)
    use_amp = amp and dev.type == "cuda"

    def autocast():
        return torch.autocast("cuda", dtype=torch.bfloat16) if use_amp else torch.autocast("cpu", enabled=False)

    x_tr, y_tr = as_tensors(train, "train")
    x_va, y_va = as_tensors(val, "val") if val is not None else (None, None)

    model.to(dev)
    if use_amp:
        model.to(memory_format=torch.channels_last)
    head_name, head = get_head(model)
    num_classes = getattr(head, "out_features", None) or getattr(head, "out_channels", None)
    if int(y_tr.max()) >= num_classes or int(y_tr.min()) < 0:
        raise ValueError(f"Labels must be 0..{num_classes - 1} for a head with {num_classes} outputs, found "
                         f"labels {int(y_tr.min())}..{int(y_tr.max())}. Did you forget replace_head(model, n)?")

    groups = param_groups(model, lr=lr, lr_mult=lr_mult or 1.0, weight_decay=weight_decay)
    opt = _make_optimizer(groups, optimizer)
    steps_per_epoch = math.ceil(len(y_tr) / batch_size)
    sched = _make_scheduler(opt, scheduler, epochs * steps_per_epoch)
    cw = _class_weights(y_tr, class_weight, num_classes)
    loss_fn = nn.CrossEntropyLoss(weight=cw.to(dev) if cw is not None else None, label_smoothing=label_smoothing)

    # Frozen-feature caching: inputs of the head, computed once.
    cached = False
    if cache_features in (True, "auto") and _can_cache(model, augment):
        cached = cache_features is True or _head_feeds_output(model, head, x_tr[:2].to(dev))
    if cached:
        x_tr_used = _features(model, head, x_tr, 256, dev, autocast)
        x_va_used = _features(model, head, x_va, 256, dev, autocast) if x_va is not None else None
        forward: Callable[[torch.Tensor], torch.Tensor] = head
    else:
        x_tr_used, x_va_used, forward = x_tr, x_va, model
    aug = augment if callable(augment) else (lambda b: augment_batch(b, g)) if augment else None

    history = History()
    history.calls.append(_call_record(model, head, groups, stage))   # what this call trained, for checks
    best_loss, best_state, bad_epochs = math.inf, None, 0
    first_loss: float | None = None
    show = (not quiet()) if progress is None else progress
    bar = None
    if show:
        from tqdm.auto import tqdm
        bar = tqdm(total=epochs, desc=f"{stage} ({'cached features' if cached else dev.type})", leave=True)

    for epoch in range(epochs):
        t0 = time.perf_counter()
        model.train()
        start_state = copy.deepcopy(model.state_dict()) if divergence_factor else None
        idx = _epoch_indices(y_tr, sampler, g)
        total_loss, seen, diverged = 0.0, 0, False
        class_hits = torch.zeros(num_classes, dtype=torch.int64, device=dev)
        class_seen = torch.zeros(num_classes, dtype=torch.int64, device=dev)
        for i in range(0, len(idx), batch_size):
            b = idx[i:i + batch_size]
            xb = x_tr_used[b].to(dev, non_blocking=True)
            yb = y_tr[b].to(dev, non_blocking=True)
            if aug is not None:
                xb = aug(xb)
            if use_amp and not cached:
                xb = xb.contiguous(memory_format=torch.channels_last)
            with autocast():
                logits = forward(xb)
                loss = loss_fn(logits.float(), yb)
            lv = float(loss.detach())
            if not math.isfinite(lv):
                diverged = True
                break
            first_loss = lv if first_loss is None else first_loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            total_loss += lv * len(b)
            hit = logits.argmax(1) == yb
            class_hits += torch.bincount(yb[hit], minlength=num_classes)
            class_seen += torch.bincount(yb, minlength=num_classes)
            seen += len(b)
        correct = int(class_hits.sum())
        train_loss = total_loss / max(seen, 1)
        if not diverged and divergence_factor and first_loss is not None and train_loss > divergence_factor * max(
                first_loss, 0.1):
            diverged = True
        if diverged:
            if start_state is not None:
                model.load_state_dict(start_state)
            history.diverged = True
            history.message = (
                f"Training stopped in epoch {epoch}: the loss exploded (first batch {first_loss:.3g}, now "
                f"{'NaN/inf' if not math.isfinite(train_loss) or seen == 0 else f'{train_loss:.3g}'}). The "
                f"learning rate ({lr:g}) is probably too high: try one 10x smaller. Weights were restored to the "
                f"start of epoch {epoch}.")
            print(history.message)
            break

        val_loss = val_acc = None
        if x_va_used is not None:
            val_loss, val_acc = _evaluate_tensors(forward, x_va_used, y_va, loss_fn, dev, autocast, use_amp and not cached)
        history.append(epoch=epoch, stage=stage, train_loss=train_loss, train_acc=correct / max(seen, 1),
                       val_loss=val_loss, val_acc=val_acc, lr=opt.param_groups[-1]["lr"],
                       seconds=time.perf_counter() - t0)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{train_loss:.3f}", **({"val_acc": f"{val_acc:.3f}"} if val_acc is not None else {}))
        if val_loss is not None:
            if val_loss < best_loss - 1e-6:
                best_loss, bad_epochs, history.best_epoch = val_loss, 0, epoch
                if early_stopping is not None and restore_best:
                    best_state = copy.deepcopy(model.state_dict())
            else:
                bad_epochs += 1
                if early_stopping is not None and bad_epochs >= early_stopping:
                    history.stopped_early = True
                    history.message = (f"Early stopping after epoch {epoch}: validation loss has not improved for "
                                       f"{early_stopping} epochs; best epoch {history.best_epoch}.")
                    break
    if bar is not None:
        bar.close()
    if not history.diverged and len(history) >= 3:
        _check_stalled(history, class_hits.cpu(), class_seen.cpu(), lr, head_only_trainable(model))
    if best_state is not None and history.best_epoch is not None and history.best_epoch != len(history) - 1:
        model.load_state_dict(best_state)
        history.message += " Restored the weights of the best epoch." if history.message else \
            f"Restored the weights of the best epoch ({history.best_epoch})."
    model.eval()
    return history


STALL_SHARE = 0.25  #: "stalled": balanced training accuracy less than a quarter of the way from chance to 100 %


def _check_stalled(history: History, hits: torch.Tensor, seen: torch.Tensor, lr: float, head_only: bool) -> None:
    """Flag a run whose last epoch ends with a balanced training accuracy close to chance (``1/k``).

    ``hits`` and ``seen`` count, per class, the last epoch's correct predictions and images. The loss need not
    explode for a learning rate to be too high: big steps can throw the weights where the network predicts
    (almost) one class for everything, and accuracy then "does not improve", the symptom of the course's quiz.
    Balanced accuracy (mean recall over classes) makes chance ``1/k`` whatever the class balance, sampler or
    class weights. The message names the likeliest cause: frozen features that do not fit (when only the head
    learns), imbalanced classes, or else the learning rate.
    """
    present = seen > 0
    if int(present.sum()) < 2:
        return
    balanced_acc = float((hits[present].float() / seen[present].float()).mean())
    chance = 1.0 / int(present.sum())
    if balanced_acc < chance + STALL_SHARE * (1.0 - chance):
        history.stalled = True
        shares = seen[present].float() / seen.sum()
        cause = (f"The usual cause is a learning rate that is too high (lr={lr:g}): try one 10x smaller (if it is "
                 "already tiny, try a larger one).")
        if head_only:
            cause = ("Only the head is learning, so the frozen features may not separate these classes (a random or "
                     "unrelated backbone): use a pre-trained backbone that fits the images, or unfreeze some layers. "
                     f"Or the learning rate (lr={lr:g}) is too high.")
        elif float(shares.max()) > 3 * float(shares.min()):
            cause = (f"The classes are imbalanced (the rarest is {100 * float(shares.min()):.1f}% of the images "
                     "seen), so the model may have settled for predicting the common classes: try "
                     f"class_weight='balanced' or sampler='balanced'. Or the learning rate (lr={lr:g}) is too high.")
        note = (f"Training barely beats chance: balanced training accuracy {100 * balanced_acc:.0f}% after "
                f"{len(history)} epochs, where guessing scores {100 * chance:.0f}%. The model is not learning to "
                f"tell the classes apart. {cause}")
        history.message = f"{history.message} {note}".strip()
        print(note)


@torch.no_grad()
def _evaluate_tensors(forward, x, y, loss_fn, dev, autocast, channels_last, batch_size: int = 512):
    was = [m.training for m in ([forward] if isinstance(forward, nn.Module) else [])]
    if isinstance(forward, nn.Module):
        forward.eval()
    total, correct = 0.0, 0
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].to(dev, non_blocking=True)
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        yb = y[i:i + batch_size].to(dev, non_blocking=True)
        with autocast():
            logits = forward(xb).float()
        total += float(F.cross_entropy(logits, yb, weight=loss_fn.weight, reduction="sum"))
        correct += int((logits.argmax(1) == yb).sum())
    if was and was[0]:
        forward.train()
    return total / len(x), correct / len(x)


# ----------------------------------------------------------------------------------------------- recipe
def fine_tune(
    model: nn.Module,
    train: Any,
    val: Any = None,
    *,
    head_epochs: int = 5,
    epochs: int = 10,
    lr: float = 3e-3,
    lr_mult: float = 10.0,
    body_lr_scale: float = 0.1,
    unfreeze_last_n: int | None = None,
    **fit_kwargs: Any,
) -> History:
    """The two-stage fine-tuning recipe; returns the history of both stages (``stage`` = "head", "body").

    1. Freeze the whole model; only the (already replaced) head learns, at ``lr``, for ``head_epochs``.
    2. Unfreeze the last ``unfreeze_last_n`` blocks (all when ``None``) and train ``epochs`` more with a low
       learning rate: head at ``lr * body_lr_scale``, body ``lr_mult`` times lower still.

    Examples
    --------
    >>> model = replace_head(course_cnn(weights="DEFAULT"), 5)          # doctest: +SKIP
    >>> history = fine_tune(model, train, val, head_epochs=5, epochs=10)  # doctest: +SKIP
    """
    freeze(model)
    unfreeze(model, last_n=1)
    h1 = fit(model, train, val, epochs=head_epochs, lr=lr, stage="head", **fit_kwargs)
    if h1.diverged:
        return h1
    unfreeze(model, last_n=unfreeze_last_n)
    h2 = fit(model, train, val, epochs=epochs, lr=lr * body_lr_scale, lr_mult=lr_mult, stage="body", **fit_kwargs)
    return h1 + h2
