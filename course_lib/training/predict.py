"""Using a trained model: predictions, probabilities and the course's metrics."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .engine import as_tensors

__all__ = ["predict", "evaluate"]


@torch.no_grad()
def predict(model: nn.Module, data: Any, *, batch_size: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted labels and class probabilities for every image, computed on the model's device.

    Returns CPU tensors ``(labels, probabilities)``; for a two-class model ``probabilities[:, 1]`` is the
    score of the positive class.

    Examples
    --------
    >>> from course_lib import course_cnn
    >>> labels, probs = predict(course_cnn(num_classes=5), torch.rand(4, 3, 32, 32))
    >>> labels.shape, probs.shape
    (torch.Size([4]), torch.Size([4, 5]))
    """
    if isinstance(data, torch.Tensor):
        x = data
        if x.ndim != 4:
            raise ValueError(f"Images must be shaped (N, channels, height, width), got {tuple(x.shape)}.")
    else:
        x, _ = as_tensors(data)
    dev = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].to(dev)
        if dev.type == "cuda":
            with torch.autocast("cuda", dtype=torch.bfloat16):
                logits = model(xb)
        else:
            logits = model(xb)
        out.append(torch.softmax(logits.float(), 1).cpu())
    model.train(was_training)
    probs = torch.cat(out)
    return probs.argmax(1), probs


def evaluate(model: nn.Module, data: Any, *, average: str | None = None, pos_label: int = 1) -> dict[str, Any]:
    """The course's metrics for ``model`` on ``data``, as a plain dict.

    ``average`` defaults to "binary" for two classes and "macro" otherwise. Keys: n, loss, accuracy,
    precision, recall, f1.
    """
    from .. import metrics as M

    x, y = as_tensors(data)
    labels, probs = predict(model, x)
    n_classes = probs.shape[1]
    avg = average or ("binary" if n_classes == 2 else "macro")
    kw: dict[str, Any] = {"average": avg, "zero_division": 0}
    if avg == "binary":
        kw["pos_label"] = pos_label
    else:
        kw["labels"] = list(range(n_classes))
    loss = float(torch.nn.functional.nll_loss(torch.log(probs.clamp_min(1e-12)), y))
    return {
        "n": len(y),
        "loss": loss,
        "accuracy": M.accuracy_score(y, labels),
        "precision": M.precision_score(y, labels, **kw),
        "recall": M.recall_score(y, labels, **kw),
        "f1": M.f1_score(y, labels, **kw),
    }
