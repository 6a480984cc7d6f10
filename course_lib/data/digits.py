"""``digits``: scikit-learn's 8x8 handwritten digits, enlarged to RGB images.

The 1,797 digits ship inside the scikit-learn wheel, so they load offline. They are real handwriting,
unlike the procedural shapes: a second, small target task.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from . import _draw as d
from .cache import cached
from .dataset import ImageDataset

__all__ = ["DIGIT_CLASSES", "digits"]

#: Class names, label ``k`` is the digit ``str(k)``.
DIGIT_CLASSES: list[str] = [str(k) for k in range(10)]
_FRACTIONS = {"train": 0.6, "val": 0.2, "test": 0.2}


def _split_positions(targets: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Stratified 60/20/20 split of all positions (every class split in the same proportions)."""
    from sklearn.model_selection import train_test_split

    state = int(d.make_rng(seed, "digits", "split").integers(2**31))  # any seed -> a valid random_state
    pos = np.arange(len(targets))
    train, rest = train_test_split(pos, test_size=0.4, stratify=targets, random_state=state)
    val, test = train_test_split(rest, test_size=0.5, stratify=targets[rest], random_state=state)
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


def _generate(split: str, seed: int, size: int) -> dict:
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # pragma: no cover - scikit-learn is in requirements.txt
        raise ImportError("digits() needs scikit-learn (pip install scikit-learn); it ships the images") from err
    bunch = load_digits()
    targets = np.asarray(bunch.target, dtype=np.int64)
    keep = _split_positions(targets, seed)[split]
    small = torch.as_tensor(bunch.images[keep], dtype=torch.float32).unsqueeze(1) / 16.0
    with d.one_thread():
        big = F.interpolate(small, size=(size, size), mode="bilinear", align_corners=False)
    return {"images": d.to_uint8(big.expand(-1, 3, -1, -1)), "targets": torch.as_tensor(targets[keep]),
            "classes": list(DIGIT_CLASSES), "groups": None, "meta": {"index": torch.as_tensor(keep)}}


def digits(split: str = "train", *, seed: int = 0, size: int = 32, cache: bool = True) -> ImageDataset:
    """scikit-learn's handwritten digits (``load_digits``) as ``3 x size x size`` images in [0, 1].

    The 8x8 images (values 0-16) are scaled to [0, 1], enlarged with bilinear interpolation, copied to
    three channels and stored with 8 bits like every other course image.

    Parameters
    ----------
    split : {"train", "val", "test"}
        A stratified 60 / 20 / 20 split of the 1,797 digits (1,078 / 359 / 360 images).
    seed : int
        Chooses the split (made with scikit-learn's ``train_test_split``).
    size : int
        Image height and width in pixels.
    cache : bool
        Keep the result on disk and reuse it.

    Returns
    -------
    ImageDataset
        Classes ``"0"`` .. ``"9"``; ``meta["index"]`` is each image's position in ``load_digits()``.

    Examples
    --------
    >>> ds = digits("test", cache=False)
    >>> len(ds), ds.classes[:3], tuple(ds.images.shape[1:])
    (360, ['0', '1', '2'], (3, 32, 32))
    """
    split = d.check_split(split, tuple(_FRACTIONS))
    seed, size = d.check_seed(seed), d.check_size(size)
    params = {"split": split, "seed": seed, "size": size}
    payload = cached("digits", params, lambda: _generate(split, seed, size), use_cache=cache)
    return ImageDataset(payload["images"].float().div_(255), payload["targets"], payload["classes"],
                        meta=dict(payload.get("meta") or {}), name=f"digits/{split}")
