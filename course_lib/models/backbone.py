"""The course's own small pre-trained backbone, built the way torchvision builds its models.

``course_cnn(weights=...)`` mirrors ``torchvision.models.resnet18(weights=...)``: the weights are an enum
member (or its name as a string, or ``None`` for random initialisation), they carry ``meta`` (categories,
parameter count, how they were trained, what they scored), and a ``num_classes`` that contradicts the weights
is refused: load the pre-trained model first, then swap its head with :func:`course_lib.replace_head`.

The architecture is a VGG-style CNN: three stages of two ``3x3 conv -> BatchNorm -> ReLU`` blocks, the image
halved between stages, a global pooling layer and one linear layer ``fc`` (named like ResNet's head).
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

WEIGHTS_DIR = Path(__file__).with_name("weights")

__all__ = ["CourseCNN", "CourseCNN_Weights", "Weights", "course_cnn", "CheckpointError", "load_checkpoint",
           "save_checkpoint", "load_state_dict"]


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, damaged or belongs to another architecture."""


def _stage(c_in: int, c_out: int, *, downsample: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.MaxPool2d(2)] if downsample else []
    for c in (c_in, c_out):
        layers += [nn.Conv2d(c, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class CourseCNN(nn.Module):
    """A small convolutional network: ``features`` (3 stages) -> ``global_pool`` -> ``fc``.

    Parameters
    ----------
    num_classes : int
        Outputs of the head ``fc``.
    width : int
        Channels of the first stage; the next stages use 2x and 4x as many.
    global_pool : {"avg", "max"}
        Average pooling suits whole objects; max pooling suits small, local evidence such as a scratch.

    Examples
    --------
    >>> model = CourseCNN(num_classes=5)
    >>> model(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 5])
    """

    def __init__(self, num_classes: int = 16, width: int = 24, global_pool: str = "avg") -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be at least 1, got {num_classes}.")
        if global_pool not in ("avg", "max"):
            raise ValueError(f"global_pool must be 'avg' or 'max', got {global_pool!r}.")
        self.width = width
        self.features = nn.Sequential(
            _stage(3, width, downsample=False),
            _stage(width, 2 * width, downsample=True),
            _stage(2 * width, 4 * width, downsample=True),
        )
        self.global_pool = nn.AdaptiveAvgPool2d(1) if global_pool == "avg" else nn.AdaptiveMaxPool2d(1)
        self.flatten = nn.Flatten(1)
        self.fc = nn.Linear(4 * width, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone's output: one feature vector per image (what the head sees)."""
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(
                f"CourseCNN expects images shaped (batch, 3, height, width), got {tuple(x.shape)}. "
                "Add a batch dimension with x.unsqueeze(0), or repeat grey images to 3 channels."
            )
        return self.flatten(self.global_pool(self.features(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.forward_features(x))


@dataclass(frozen=True)
class Weights:
    """Where a checkpoint lives and what it is (torchvision's ``Weights`` without a URL)."""

    file: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return WEIGHTS_DIR / self.file

    @property
    def provenance(self) -> dict[str, Any]:
        """The provenance record written by ``python -m course_lib.pretrain`` beside the checkpoint."""
        p = self.path.with_suffix(".json")
        if not p.exists():
            raise CheckpointError(f"No provenance file {p}. Re-create the checkpoint: python -m course_lib.pretrain")
        return json.loads(p.read_text())

    def transforms(self) -> nn.Module:
        """Pre-processing the backbone expects: images as float tensors in [0, 1], 3 channels. Nothing else."""
        return nn.Identity()

    def get_state_dict(self) -> dict[str, torch.Tensor]:
        return load_state_dict(self.path)


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a checkpoint safely (``weights_only=True``) with errors that say what to do."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(
            f"Checkpoint {path} does not exist. The course ships it in course_lib/models/weights/; "
            "re-create it with `python -m course_lib.pretrain`, or pass weights=None for random initialisation."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, wrong format, pickled code refused by weights_only, ...
        raise CheckpointError(
            f"Checkpoint {path} could not be read ({type(exc).__name__}: {str(exc)[:200]}). The file is damaged or "
            "is not a plain state_dict; restore it with `git checkout -- <file>` or re-create it with "
            "`python -m course_lib.pretrain`."
        ) from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"Checkpoint {path} does not hold a state_dict (a dict of tensors).")
    return state


def sha256_of(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _meta_from_provenance(file: str) -> dict[str, Any]:
    p = (WEIGHTS_DIR / file).with_suffix(".json")
    if not p.exists():
        return {}
    info = json.loads(p.read_text())
    return {
        "categories": info.get("categories", []),
        "num_params": info.get("num_params"),
        "width": info.get("width", 24),
        "recipe": "python -m course_lib.pretrain",
        "source_val_accuracy": info.get("source_val_accuracy"),
    }


class CourseCNN_Weights(enum.Enum):
    """Pre-trained weights for :func:`course_cnn`.

    ``SHAPES_V1``: pre-trained on the course's 16 procedurally drawn source shape classes
    (``course_lib.data.shapes_source``) by ``python -m course_lib.pretrain``. ``DEFAULT`` is the best available.
    """

    SHAPES_V1 = Weights("course_cnn_shapes_v1.pt", _meta_from_provenance("course_cnn_shapes_v1.pt"))
    DEFAULT = SHAPES_V1

    @classmethod
    def verify(cls, weights: CourseCNN_Weights | str | None) -> CourseCNN_Weights | None:
        if weights is None or isinstance(weights, cls):
            return weights
        if isinstance(weights, str):
            try:
                return cls[weights.upper()]
            except KeyError:
                pass
        names = ", ".join(m for m in cls.__members__)
        raise ValueError(f"Unknown weights {weights!r} for course_cnn. Use one of: {names}, or None.")


def course_cnn(
    *,
    weights: CourseCNN_Weights | str | None = None,
    num_classes: int | None = None,
    width: int | None = None,
    global_pool: str = "avg",
) -> CourseCNN:
    """Build the course backbone, optionally with pre-trained weights (works offline).

    Examples
    --------
    >>> model = course_cnn(weights="DEFAULT")          # pre-trained on 16 shape classes
    >>> model.fc.out_features
    16
    >>> scratch = course_cnn(weights=None, num_classes=5)   # random initialisation
    """
    weights = CourseCNN_Weights.verify(weights)
    if weights is None:
        return CourseCNN(num_classes=num_classes or 16, width=width or 24, global_pool=global_pool)

    w = weights.value
    categories = w.meta.get("categories") or []
    if num_classes is not None and num_classes != len(categories):
        raise ValueError(
            f"num_classes={num_classes} contradicts the weights {weights.name}, which have {len(categories)} "
            "classes. Load the pre-trained model first, then replace its head: "
            f"model = course_cnn(weights='{weights.name}'); replace_head(model, {num_classes})."
        )
    arch_width = w.meta.get("width", 24)
    if width is not None and width != arch_width:
        raise ValueError(f"width={width} contradicts the weights {weights.name} (width {arch_width}).")
    model = CourseCNN(num_classes=len(categories) or 16, width=arch_width, global_pool=global_pool)
    return load_checkpoint(model, w.path)


def load_checkpoint(model: nn.Module, path: str | Path) -> nn.Module:
    """Load the weights saved at ``path`` into ``model`` (safely); returns ``model``.

    Errors say whether the file is missing, damaged, or made for another architecture.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = save_checkpoint(CourseCNN(num_classes=5), pathlib.Path(tempfile.mkdtemp()) / "m.pt")
    >>> model = load_checkpoint(CourseCNN(num_classes=5), path)
    """
    state = load_state_dict(path)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(
            f"Checkpoint {path} does not fit {type(model).__name__}: {str(exc)[:300]}. It was saved from another "
            "architecture or head size; build the matching model (e.g. the same num_classes) before loading."
        ) from exc
    return model


def save_checkpoint(model: nn.Module, path: str | Path) -> Path:
    """Save ``model``'s weights (a plain state_dict, loadable with ``weights_only=True``); atomic."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp)
    tmp.replace(path)
    return path
