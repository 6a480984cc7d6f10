"""How far did fine-tuning move the features? Linear CKA and mean cosine similarity between two feature sets.

Both compare the features two networks (say, the pre-trained backbone and its fine-tuned copy) give for the
*same* images, one row per image.

* :func:`linear_cka` (centred kernel alignment with a linear kernel, Kornblith et al., ICML 2019) asks whether
  the two feature sets arrange the images the same way. It is 1 for identical features and unchanged by a
  rotation or an overall rescaling of either set, so it ignores changes that a new linear head could undo.
* :func:`mean_cosine_similarity` compares each image's two feature vectors directly (it needs the same number
  of features in both), so it also sees rotations: a stricter, more literal measure.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["linear_cka", "mean_cosine_similarity"]


def _as_matrix(x: Any, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a 2-D array of numbers (one row per image), got {type(x).__name__}.") from err
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D, shaped (n_images, n_features); got shape {a.shape}. "
                         "Flatten each image's features into one row first (e.g. x.reshape(len(x), -1)).")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return a


def _pair(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    a, b = _as_matrix(x, "x"), _as_matrix(y, "y")
    if len(a) != len(b):
        raise ValueError(f"x and y need one row per image for the same images: x has {len(a)} rows, y {len(b)}.")
    if len(a) < 2:
        raise ValueError("Need features of at least 2 images to compare how they are arranged.")
    return a, b


def linear_cka(x: Any, y: Any) -> float:
    """Linear CKA between two feature matrices for the same images (rows), in [0, 1].

    ``CKA = ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)`` with ``Xc``, ``Yc`` the column-centred features.
    ``x`` and ``y`` may have different numbers of columns. 1 means the same geometry up to a rotation and an
    overall scale; lower values mean the features moved.

    Raises ValueError when a feature set is constant over the images (its CKA is undefined).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(50, 8))
    >>> round(linear_cka(x, x), 6), round(linear_cka(x, 3 * x + 1), 6)
    (1.0, 1.0)
    >>> linear_cka(x, np.random.default_rng(1).normal(size=(50, 4))) < 0.5
    True
    """
    a, b = _pair(x, y)
    a = a - a.mean(0)
    b = b - b.mean(0)
    cross = np.linalg.norm(b.T @ a) ** 2
    na, nb = np.linalg.norm(a.T @ a), np.linalg.norm(b.T @ b)
    if na == 0 or nb == 0:
        raise ValueError("A feature set is the same for every image (all columns constant): CKA is undefined.")
    return float(cross / (na * nb))


def mean_cosine_similarity(x: Any, y: Any) -> float:
    """Mean over images (rows) of the cosine similarity between ``x[i]`` and ``y[i]``, in [-1, 1].

    Needs the same number of features in ``x`` and ``y``; a row of zeros in either raises ValueError.

    Examples
    --------
    >>> mean_cosine_similarity([[1.0, 0.0], [0.0, 2.0]], [[2.0, 0.0], [1.0, 1.0]])
    0.8535533905932737
    """
    a, b = _pair(x, y)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"Cosine similarity compares vectors of one size: x has {a.shape[1]} features, "
                         f"y {b.shape[1]}. Use linear_cka for features of different sizes.")
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    if (na == 0).any() or (nb == 0).any():
        raise ValueError("A feature vector is all zeros: its direction (and cosine similarity) is undefined.")
    return float(np.mean(np.sum(a * b, axis=1) / (na * nb)))
