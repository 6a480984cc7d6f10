"""Freezing: which parts of a pre-trained model learn, and which keep what they know.

In PyTorch a parameter is frozen when ``requires_grad`` is ``False``: no gradient is computed for it and the
optimizer leaves it alone. That is not the whole story for BatchNorm: its *running mean and variance* are
buffers, not parameters, and they keep moving in ``model.train()`` mode whatever ``requires_grad`` says. A
"frozen" backbone would then drift towards the statistics of the new, small dataset. :func:`freeze` therefore
also keeps frozen BatchNorm layers in evaluation mode, even after ``model.train()`` (a forward pre-hook puts
them back in eval mode before each call); :func:`unfreeze` restores normal behaviour.
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from .heads import get_head

__all__ = ["freeze", "unfreeze", "count_params", "count_trainable_params", "blocks", "is_frozen"]

_EXPAND = ("features", "encoder", "layers")


def _keep_eval(module: nn.Module, _inputs) -> None:
    if getattr(module, "_course_frozen", False) and module.training:
        module.train(False)


def _mark_batchnorm(module: nn.Module, frozen: bool) -> None:
    for m in module.modules():
        if isinstance(m, _BatchNorm):
            m._course_frozen = frozen
            if frozen and not getattr(m, "_course_hook", None):
                m._course_hook = m.register_forward_pre_hook(_keep_eval)
            if not frozen:
                m.train(True)  # the next model.eval()/train() call sets it as usual


def blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's blocks in forward order, as ``(name, module)``: the units :func:`unfreeze` counts.

    Containers named ``features``, ``encoder`` or ``layers`` are opened up, so a CourseCNN has its three
    stages plus ``fc``, a MobileNet its feature blocks plus ``classifier``, a ViT its encoder layers.

    Examples
    --------
    >>> from course_lib import course_cnn
    >>> [name for name, _ in blocks(course_cnn())]
    ['features.0', 'features.1', 'features.2', 'fc']
    """

    def walk(module: nn.Module, prefix: str) -> list[tuple[str, nn.Module]]:
        out = []
        for name, child in module.named_children():
            full = f"{prefix}{name}"
            if not any(True for _ in child.parameters()):
                continue
            if name in _EXPAND and len(list(child.children())) > 1:
                out += walk(child, full + ".")
            else:
                out.append((full, child))
        return out

    return walk(model, "")


def freeze(model: nn.Module, *, freeze_batchnorm_stats: bool = True) -> nn.Module:
    """Freeze every parameter (``requires_grad = False``); returns ``model``.

    With ``freeze_batchnorm_stats`` (the default) BatchNorm layers also stop updating their running
    statistics, even in ``model.train()`` mode.

    Examples
    --------
    >>> from course_lib import course_cnn
    >>> model = freeze(course_cnn())
    >>> sum(p.requires_grad for p in model.parameters())
    0
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"freeze expects a torch.nn.Module, got {type(model).__name__}.")
    for p in model.parameters():
        p.requires_grad = False
    if freeze_batchnorm_stats:
        _mark_batchnorm(model, True)
    return model


def unfreeze(
    model: nn.Module, *, last_n: int | None = None, modules: Iterable[str] | None = None
) -> nn.Module:
    """Make parameters trainable again; returns ``model``.

    Parameters
    ----------
    last_n : int, optional
        Unfreeze only the last ``last_n`` blocks (see :func:`blocks`; the head counts as one block).
        ``unfreeze(model, last_n=1)`` trains only the head.
    modules : iterable of str, optional
        Unfreeze these sub-modules by name, e.g. ``["layer4", "fc"]``.

    With neither, the whole model is unfrozen.

    Examples
    --------
    >>> from course_lib import course_cnn, count_trainable_params
    >>> model = unfreeze(freeze(course_cnn()), last_n=1)     # only the head learns
    >>> count_trainable_params(model) == sum(p.numel() for p in model.fc.parameters())
    True
    """
    if last_n is not None and modules is not None:
        raise ValueError("Pass either last_n or modules, not both.")
    if last_n is None and modules is None:
        targets: list[nn.Module] = [model]
    elif modules is not None:
        if isinstance(modules, str):
            modules = [modules]
        targets = []
        for name in modules:
            try:
                targets.append(model.get_submodule(name))
            except AttributeError:
                names = ", ".join(n for n, _ in blocks(model))
                raise ValueError(f"No sub-module named {name!r}. Blocks of this model: {names}.") from None
    else:
        all_blocks = blocks(model)
        if not isinstance(last_n, int) or isinstance(last_n, bool) or not 0 <= last_n <= len(all_blocks):
            raise ValueError(f"last_n must be an integer between 0 and {len(all_blocks)} (the number of blocks), "
                             f"got {last_n!r}.")
        targets = [m for _, m in all_blocks[len(all_blocks) - last_n:]] if last_n else []
    for t in targets:
        for p in t.parameters():
            p.requires_grad = True
        _mark_batchnorm(t, False)
    return model


def count_params(model: nn.Module) -> int:
    """Number of parameters (weights and biases) in ``model``."""
    return sum(p.numel() for p in model.parameters())


def count_trainable_params(model: nn.Module) -> int:
    """Number of parameters that will learn (``requires_grad=True``); 0 after :func:`freeze`.

    Examples
    --------
    >>> from course_lib import course_cnn
    >>> count_trainable_params(freeze(course_cnn()))
    0
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def is_frozen(module: nn.Module) -> bool:
    """True when no parameter of ``module`` is trainable."""
    return not any(p.requires_grad for p in module.parameters())


def head_only_trainable(model: nn.Module) -> bool:
    """True when the head is the only part with trainable parameters (the frozen-feature case)."""
    _, head = get_head(model)
    head_ids = {id(p) for p in head.parameters()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    return bool(trainable) and all(id(p) in head_ids for p in trainable)
