"""Find and replace a model's classification head (its final layer).

A pre-trained model ends in a layer sized for its old classes (16 shapes, 1,000 ImageNet classes). Fine-tuning
for new classes starts by swapping that layer for a fresh one with one output per new class.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["get_head", "replace_head"]


def _last_linear_name(model: nn.Module) -> str | None:
    name = None
    for n, m in model.named_modules():
        if isinstance(m, nn.Linear):
            name = n
    return name


def get_head(model: nn.Module) -> tuple[str, nn.Module]:
    """Return ``(dotted_name, module)`` of the final classification layer.

    Knows the conventions of the course backbone and torchvision: ``fc`` (CourseCNN, ResNet, RegNet,
    ShuffleNet, GoogLeNet), ``classifier`` (DenseNet), ``classifier[-1]`` (MobileNet, EfficientNet, VGG,
    ConvNeXt, AlexNet, MaxViT), ``classifier[1]`` convolution (SqueezeNet), ``heads.head`` (ViT), ``head`` (Swin).

    Examples
    --------
    >>> import torchvision
    >>> get_head(torchvision.models.mobilenet_v3_small(weights=None))[0]
    'classifier.3'
    """
    for attr in ("fc", "head"):
        m = getattr(model, attr, None)
        if isinstance(m, nn.Linear):
            return attr, m
    heads = getattr(model, "heads", None)
    if isinstance(heads, nn.Module) and isinstance(getattr(heads, "head", None), nn.Linear):
        return "heads.head", heads.head
    clf = getattr(model, "classifier", None)
    if isinstance(clf, nn.Linear):
        return "classifier", clf
    if isinstance(clf, nn.Sequential):
        for i in range(len(clf) - 1, -1, -1):
            if isinstance(clf[i], nn.Linear):
                return f"classifier.{i}", clf[i]
            if isinstance(clf[i], nn.Conv2d) and clf[i].kernel_size == (1, 1):  # SqueezeNet
                return f"classifier.{i}", clf[i]
    hint = _last_linear_name(model)
    where = f" Its last Linear layer is `{hint}`." if hint else ""
    raise ValueError(
        f"Don't know where the classification head of {type(model).__name__} is.{where} Print the model, find "
        "its final layer and replace it by hand, e.g. `model.<name> = nn.Linear(in_features, num_classes)`."
    )


def _set_submodule(model: nn.Module, dotted: str, new: nn.Module) -> None:
    parent_name, _, child = dotted.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    if isinstance(parent, nn.Sequential) and child.isdigit():
        parent[int(child)] = new
    else:
        setattr(parent, child, new)


def replace_head(model: nn.Module, num_classes: int, *, seed: int | None = None) -> nn.Module:
    """Swap the final layer for a new, trainable one with ``num_classes`` outputs; returns ``model``.

    The new layer is freshly initialised (PyTorch's default initialisation), keeps the old layer's device and
    dtype, and is trainable even if the rest of the model is frozen. With ``seed`` the initialisation is the
    same on every run, and the global random state is left as it was (so it does not shift later shuffles).

    Examples
    --------
    >>> from course_lib import course_cnn, freeze
    >>> model = freeze(course_cnn(weights=None))
    >>> replace_head(model, 5).fc
    Linear(in_features=96, out_features=5, bias=True)
    >>> a = replace_head(course_cnn(weights=None), 5, seed=0).fc.weight
    >>> bool((a == replace_head(course_cnn(weights=None), 5, seed=0).fc.weight).all())
    True
    """
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}.")
    name, old = get_head(model)
    p = next(old.parameters())
    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        if isinstance(old, nn.Linear):
            new: nn.Module = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
        else:  # 1x1 convolution head (SqueezeNet)
            new = nn.Conv2d(old.in_channels, num_classes, kernel_size=1)
    new = new.to(device=p.device, dtype=p.dtype)
    _set_submodule(model, name, new)
    if hasattr(model, "num_classes"):
        model.num_classes = num_classes
    return model
