"""``ImageDataset``: a small, tensor-backed image classification dataset.

Every dataset in the course is one of these. The whole dataset lives in memory as two tensors, so a
training loop may either wrap it in a ``DataLoader`` or slice batches straight out of ``.images``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["ImageDataset", "show_samples"]


def _as_index(indices: Any, n: int) -> torch.Tensor:
    """Turn a list / array / tensor of positions (or a boolean mask) into an int64 index tensor."""
    idx = torch.as_tensor(np.asarray(indices) if not isinstance(indices, torch.Tensor) else indices)
    if idx.dtype == torch.bool:
        if idx.shape != (n,):
            raise ValueError(f"a boolean mask must have length {n} (one entry per image), got shape {tuple(idx.shape)}")
        return idx.nonzero().flatten()
    if idx.numel() == 0:
        return torch.zeros(0, dtype=torch.int64)
    if idx.is_floating_point() or idx.is_complex():
        raise TypeError(f"indices must be integers or a boolean mask, got dtype {idx.dtype}")
    idx = idx.to(torch.int64).flatten()
    if int(idx.min()) < -n or int(idx.max()) >= n:
        raise IndexError(f"indices must lie in [-{n}, {n - 1}] for a dataset of {n} images")
    return idx % n if n else idx


class ImageDataset(Dataset):
    """Images, integer labels and class names, all held in memory as tensors.

    Parameters
    ----------
    images : Tensor
        ``float32`` tensor ``N x C x H x W`` with values in ``[0, 1]``.
    targets : Tensor or array-like
        ``N`` integer labels in ``[0, len(classes))``; stored as ``int64``.
    classes : sequence of str
        Class names; ``classes[k]`` names label ``k``.
    groups : Tensor or array-like, optional
        ``N`` integer group ids: images of the same source object share a group (used by ``group_split``).
    meta : dict of str to Tensor, optional
        Extra per-image information, each a tensor whose first dimension is ``N`` (e.g. ``"texture"``).
    name : str
        A short name shown by ``repr``.
    transform : callable, optional
        Applied to the image in ``ds[i]`` only (e.g. augmentation when used with a ``DataLoader``);
        ``.images`` is never changed.

    Examples
    --------
    >>> import torch
    >>> ds = ImageDataset(torch.zeros(4, 3, 8, 8), [0, 1, 1, 0], ["cat", "dog"], name="toy")
    >>> len(ds), ds[1][1], ds.class_counts()
    (4, 1, {'cat': 2, 'dog': 2})
    >>> ds
    ImageDataset('toy', 4 images, 2 classes ['cat', 'dog'], image shape 3x8x8)
    """

    def __init__(
        self,
        images: torch.Tensor,
        targets: Any,
        classes: Sequence[str],
        *,
        groups: Any = None,
        meta: dict[str, torch.Tensor] | None = None,
        name: str = "dataset",
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        if not isinstance(images, torch.Tensor):
            raise TypeError(f"images must be a torch.Tensor (N x C x H x W), got {type(images).__name__}")
        if images.ndim != 4:
            raise ValueError(f"images must have 4 dimensions N x C x H x W, got shape {tuple(images.shape)}")
        if images.dtype != torch.float32:
            raise TypeError(f"images must be float32 in [0, 1], got {images.dtype}; convert with images.float() / 255")
        n = images.shape[0]
        targets = torch.as_tensor(np.asarray(targets) if not isinstance(targets, torch.Tensor) else targets)
        if targets.is_floating_point() or targets.ndim != 1 or targets.shape[0] != n:
            raise ValueError(f"targets must be {n} integer labels (one per image), got dtype {targets.dtype}, "
                             f"shape {tuple(targets.shape)}")
        classes = [str(c) for c in classes]
        if not classes:
            raise ValueError("classes must name at least one class")
        if len(set(classes)) != len(classes):
            raise ValueError(f"class names must be unique, got {classes}")
        targets = targets.to(torch.int64)
        if n and (int(targets.min()) < 0 or int(targets.max()) >= len(classes)):
            raise ValueError(f"targets must lie in [0, {len(classes) - 1}] (one label per class name), "
                             f"got values from {int(targets.min())} to {int(targets.max())}")
        if groups is not None:
            groups = torch.as_tensor(np.asarray(groups) if not isinstance(groups, torch.Tensor) else groups)
            if groups.is_floating_point() or groups.shape != (n,):
                raise ValueError(f"groups must be {n} integer ids (one per image), got dtype {groups.dtype}, "
                                 f"shape {tuple(groups.shape)}")
            groups = groups.to(torch.int64)
        meta = dict(meta or {})
        for key, value in meta.items():
            if not isinstance(value, torch.Tensor) or value.ndim == 0 or value.shape[0] != n:
                raise ValueError(f"meta[{key!r}] must be a tensor with one entry per image (first dimension {n})")
        if transform is not None and not callable(transform):
            raise TypeError("transform must be a callable (image tensor -> image tensor) or None")
        self.images = images
        self.targets = targets
        self.classes = classes
        self.groups = groups
        self.meta = meta
        self.name = str(name)
        self.transform = transform

    # --- the torch Dataset protocol -------------------------------------------------------------
    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = self.images[index]
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.targets[index])

    # --- conveniences -----------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        """Number of classes, ``len(self.classes)``."""
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def subset(self, indices: Any, *, name: str | None = None) -> ImageDataset:
        """A new dataset holding the images at ``indices`` (positions or a boolean mask), in that order.

        Labels, groups and every ``meta`` entry are sliced alike; class names are kept.

        Examples
        --------
        >>> import torch
        >>> ds = ImageDataset(torch.zeros(4, 1, 2, 2), [0, 1, 1, 0], ["a", "b"])
        >>> ds.subset([1, 2]).targets.tolist()
        [1, 1]
        """
        idx = _as_index(indices, len(self))
        return ImageDataset(
            self.images[idx],
            self.targets[idx],
            self.classes,
            groups=None if self.groups is None else self.groups[idx],
            meta={k: v[idx] for k, v in self.meta.items()},
            name=self.name if name is None else name,
            transform=self.transform,
        )

    def class_counts(self) -> dict[str, int]:
        """Number of images per class, as ``{class name: count}`` in class order (zero counts included)."""
        counts = torch.bincount(self.targets, minlength=len(self.classes))
        return {c: int(k) for c, k in zip(self.classes, counts, strict=True)}

    def __repr__(self) -> str:
        shown = self.classes if len(self.classes) <= 8 else self.classes[:6] + ["..."]
        shape = "x".join(str(s) for s in self.image_shape)
        extra = "" if self.groups is None else f", {int(torch.unique(self.groups).numel())} groups"
        return (f"ImageDataset({self.name!r}, {len(self)} images, {len(self.classes)} classes {shown}, "
                f"image shape {shape}{extra})")

    def show(self, n: int = 16, *, ax: Any = None, indices: Any = None, ncols: int | None = None) -> Any:
        """Draw a grid of labelled sample images and return the matplotlib ``Figure``.

        Like every course_lib plot, Jupyter draws the returned figure when ``ds.show()`` is the last line of a
        cell (without a trailing ``;``); elsewhere in a cell, use ``display(ds.show())``.

        Parameters
        ----------
        n : int
            How many images to show. By default they are picked round-robin over the classes
            (the first image of each class, then the second, ...), so every class appears.
        ax : matplotlib Axes, optional
            Draw the whole grid into this one Axes (labels written under each tile); by default a new
            figure with one small Axes per image (labels as titles) is made.
        indices : sequence of int, optional
            Show exactly these images instead.
        ncols : int, optional
            Tiles per row (default: up to 8).

        Examples
        --------
        >>> import torch
        >>> ds = ImageDataset(torch.rand(6, 3, 8, 8), [0, 1, 2, 0, 1, 2], ["a", "b", "c"])
        >>> fig = ds.show(6)
        >>> len(fig.axes)
        6
        """
        return show_samples(self, n, ax=ax, indices=indices, ncols=ncols)


def _round_robin(targets: torch.Tensor, num_classes: int, n: int) -> list[int]:
    """First image of each class, then the second of each, ... until ``n`` are picked."""
    per_class = [torch.nonzero(targets == k).flatten().tolist() for k in range(num_classes)]
    picked: list[int] = []
    depth = 0
    while len(picked) < n and any(depth < len(p) for p in per_class):
        for p in per_class:
            if depth < len(p) and len(picked) < n:
                picked.append(p[depth])
        depth += 1
    return picked


def show_samples(ds: ImageDataset, n: int = 16, *, ax: Any = None, indices: Any = None,
                 ncols: int | None = None) -> Any:
    """Draw a grid of ``n`` labelled images from ``ds``; returns the matplotlib ``Figure``.

    See :meth:`ImageDataset.show` (this is the same function).

    Examples
    --------
    >>> import torch
    >>> ds = ImageDataset(torch.rand(4, 3, 8, 8), [0, 1, 0, 1], ["no", "yes"])
    >>> fig = show_samples(ds, 4)
    """
    from matplotlib.figure import Figure

    from .._display import enable_inline_figures

    enable_inline_figures()

    if not isinstance(ds, ImageDataset):
        raise TypeError(f"show_samples expects an ImageDataset, got {type(ds).__name__}")
    if indices is None:
        if not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"n must be a positive integer (how many images to show), got {n!r}")
        idx = _round_robin(ds.targets, len(ds.classes), min(int(n), len(ds)))
    else:
        idx = _as_index(indices, len(ds)).tolist()
    if not idx:
        raise ValueError("there is nothing to show: the dataset (or the index list) is empty")
    cols = ncols or min(8, len(idx))
    if cols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    rows = math.ceil(len(idx) / cols)

    def tile(i: int) -> np.ndarray:
        img = ds.images[i].detach().cpu().clamp(0, 1)
        return img.permute(1, 2, 0).numpy() if img.shape[0] == 3 else img[0].numpy()

    def label(i: int) -> str:
        return ds.classes[int(ds.targets[i])]

    if ax is None:
        # Figure() rather than plt.subplots(): not registered with pyplot, so Jupyter shows the returned figure
        # once (not a second time from pyplot's own list), and nothing piles up in memory
        fig = Figure(figsize=(1.35 * cols, 1.5 * rows))
        axes = fig.subplots(rows, cols, squeeze=False)
        for a in axes.flat:
            a.axis("off")
        for a, i in zip(axes.flat, idx, strict=False):
            a.imshow(tile(i), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            a.set_title(label(i), fontsize=8)
        fig.tight_layout()
        return fig

    # one Axes: paste the tiles into a mosaic with a 1-pixel-wide white gutter, labels as text
    c, h, w = ds.image_shape
    pad = max(1, h // 16)
    mosaic = np.ones((rows * (h + pad), cols * (w + pad), 3), dtype=np.float32)
    for k, i in enumerate(idx):
        r, q = divmod(k, cols)
        t = tile(i)
        mosaic[r * (h + pad):r * (h + pad) + h, q * (w + pad):q * (w + pad) + w] = t if t.ndim == 3 else t[..., None]
    ax.imshow(mosaic, interpolation="nearest")
    for k, i in enumerate(idx):
        r, q = divmod(k, cols)
        ax.text(q * (w + pad) + w / 2, r * (h + pad) + h - 1, label(i), ha="center", va="bottom", fontsize=7,
                color="white", bbox={"facecolor": "black", "alpha": 0.6, "pad": 1, "linewidth": 0})
    ax.set_axis_off()
    return ax.figure
