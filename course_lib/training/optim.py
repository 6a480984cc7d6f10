"""Optimizer parameter groups with discriminative learning rates."""

from __future__ import annotations

from torch import nn

from ..models.heads import get_head

__all__ = ["param_groups"]


def param_groups(model: nn.Module, *, lr: float, lr_mult: float = 10.0, weight_decay: float = 0.0) -> list[dict]:
    """Split the *trainable* parameters into a head group at ``lr`` and a body group at ``lr / lr_mult``.

    Pre-trained layers already hold useful features, so they move slowly; the new head starts from random
    numbers, so it moves fast. Frozen parameters are left out; an empty group is dropped.

    Examples
    --------
    >>> import torch
    >>> from course_lib import course_cnn
    >>> groups = param_groups(course_cnn(), lr=1e-3, lr_mult=10)
    >>> [(g["name"], g["lr"]) for g in groups]
    [('body', 0.0001), ('head', 0.001)]
    >>> opt = torch.optim.AdamW(groups)
    """
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}.")
    if not lr_mult > 0:
        raise ValueError(f"lr_mult must be positive (the body learns at lr / lr_mult), got {lr_mult!r}.")
    _, head = get_head(model)
    head_ids = {id(p) for p in head.parameters()}
    head_params = [p for p in head.parameters() if p.requires_grad]
    body_params = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    groups = []
    if body_params:
        groups.append({"params": body_params, "lr": lr / lr_mult, "weight_decay": weight_decay, "name": "body"})
    if head_params:
        groups.append({"params": head_params, "lr": lr, "weight_decay": weight_decay, "name": "head"})
    if not groups:
        raise ValueError("The model has no trainable parameters: unfreeze something (e.g. replace_head or "
                         "unfreeze(model, last_n=1)) before training.")
    return groups
