"""torchvision's ImageNet-pre-trained models, for learners who have internet (or the weights file).

The course itself runs offline on :func:`course_lib.models.course_cnn`. Real projects usually start from
ImageNet weights; this loader is that path, with an error that says what to do when the download fails.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    import torchvision

__all__ = ["torchvision_model", "WeightsUnavailableError", "weights_cache_path"]


class WeightsUnavailableError(RuntimeError):
    """ImageNet weights could not be downloaded and are not in torch's cache."""


def weights_cache_path(weights: torchvision.models.WeightsEnum) -> Path:
    """Where torchvision looks for a weights file before downloading it."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)


def torchvision_model(name: str, *, weights: str | None = "DEFAULT", **kwargs) -> nn.Module:
    """Build a torchvision architecture, with ImageNet weights by default.

    Parameters
    ----------
    name : str
        A torchvision model name, e.g. ``"resnet18"``, ``"mobilenet_v3_small"``, ``"efficientnet_b0"``.
    weights : str or None
        ``"DEFAULT"`` (best ImageNet weights), a weights name such as ``"IMAGENET1K_V1"``, or ``None`` for
        random initialisation (always works offline).

    Examples
    --------
    >>> model = torchvision_model("resnet18", weights=None)
    >>> model.fc.in_features
    512
    """
    import torchvision  # here, not at the top: it takes a second to import, and most lessons never need it

    try:
        builder = torchvision.models.get_model_builder(name)
    except ValueError:
        known = ", ".join(sorted(torchvision.models.list_models(module=torchvision.models))[:12])
        raise ValueError(f"Unknown torchvision model {name!r}. Examples: {known}, ...") from None
    if weights is None:
        return builder(weights=None, **kwargs)
    if "num_classes" in kwargs:
        raise ValueError(
            "Pass num_classes only with weights=None. With pre-trained weights, load the model first and then "
            "replace its head: model = torchvision_model(name); replace_head(model, num_classes)."
        )
    enum_cls = torchvision.models.get_model_weights(name)
    w = enum_cls[weights] if isinstance(weights, str) else weights
    try:
        return builder(weights=w, **kwargs)
    except (OSError, RuntimeError) as exc:  # URLError is an OSError; a broken partial download a RuntimeError
        target = weights_cache_path(w)
        raise WeightsUnavailableError(
            f"Could not load the ImageNet weights {enum_cls.__name__}.{w.name} for {name} "
            f"({type(exc).__name__}: {str(exc)[:160]}). This machine is probably offline. Either\n"
            "  * use the course's bundled pre-trained backbone: course_cnn(weights='DEFAULT'), or\n"
            f"  * download {w.url} on a machine with internet and place it at {target}."
        ) from exc
