"""Train/test splits: a fair random one, one that respects groups, and a deliberately leaky one.

- ``random_split``: stratified by class (scikit-learn's ``train_test_split``).
- ``group_split``: every group (all views of one object) lands on one side only.
- ``leaky_split``: plants slightly altered copies of training images in the test set, the classic
  data-leakage mistake, and records where each came from so the damage can be measured.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from . import _draw as d
from .dataset import ImageDataset

__all__ = ["group_split", "leaky_split", "random_split"]


def _check_dataset(ds: object) -> ImageDataset:
    if not isinstance(ds, ImageDataset):
        raise TypeError(f"expected an ImageDataset, got {type(ds).__name__}")
    if len(ds) < 2:
        raise ValueError(f"a split needs at least 2 images, the dataset has {len(ds)}")
    return ds


def _check_fraction(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating) or not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must be a number strictly between 0 and 1 (e.g. 0.3), got {value!r}")
    return float(value)


def _state(seed: int, *names: object) -> int:
    """A scikit-learn ``random_state`` derived from any non-negative seed."""
    return int(d.make_rng(seed, *names).integers(2**31))


def random_split(ds: ImageDataset, *, test_fraction: float, seed: int = 0) -> tuple[ImageDataset, ImageDataset]:
    """Split ``ds`` at random into ``(train, test)``, keeping the class proportions (stratified).

    Parameters
    ----------
    ds : ImageDataset
    test_fraction : float
        Share of images that go to ``test``, strictly between 0 and 1.
    seed : int
        Same seed, same split.

    Examples
    --------
    >>> import torch
    >>> ds = ImageDataset(torch.rand(10, 3, 4, 4), [0] * 5 + [1] * 5, ["a", "b"])
    >>> train, test = random_split(ds, test_fraction=0.4)
    >>> len(train), len(test), test.class_counts()
    (6, 4, {'a': 2, 'b': 2})
    """
    from sklearn.model_selection import train_test_split

    ds = _check_dataset(ds)
    test_fraction = _check_fraction(test_fraction, "test_fraction")
    seed = d.check_seed(seed)
    targets = ds.targets.numpy()
    counts = np.bincount(targets, minlength=len(ds.classes))
    if counts[counts > 0].min() < 2:
        raise ValueError("a stratified split needs at least 2 images of every class present; "
                         f"class counts are {ds.class_counts()}")
    try:
        train, test = train_test_split(np.arange(len(ds)), test_size=test_fraction, stratify=targets,
                                       random_state=_state(seed, "random_split"))
    except ValueError as err:
        raise ValueError(f"cannot split {len(ds)} images with test_fraction={test_fraction} while keeping every "
                         f"class on both sides ({err}); use a test_fraction nearer 0.5 or more images") from err
    return ds.subset(np.sort(train)), ds.subset(np.sort(test))


def group_split(ds: ImageDataset, *, test_fraction: float, seed: int = 0) -> tuple[ImageDataset, ImageDataset]:
    """Split ``ds`` into ``(train, test)`` so that no group has images on both sides.

    Groups (``ds.groups``: e.g. several photos of one object) are shuffled class by class and about
    ``test_fraction`` of each class's groups go to ``test``, so class proportions stay close too.

    Examples
    --------
    >>> import torch
    >>> ds = ImageDataset(torch.rand(8, 3, 4, 4), [0, 0, 0, 0, 1, 1, 1, 1], ["a", "b"],
    ...                   groups=[0, 0, 1, 1, 2, 2, 3, 3])
    >>> train, test = group_split(ds, test_fraction=0.5)
    >>> sorted(set(train.groups.tolist()) & set(test.groups.tolist()))
    []
    """
    ds = _check_dataset(ds)
    if ds.groups is None:
        raise ValueError(f"group_split needs ds.groups (which images come from the same object), but "
                         f"{ds.name!r} has none; use random_split, or build the dataset with groups "
                         "(e.g. shapes_target(..., views=3))")
    test_fraction = _check_fraction(test_fraction, "test_fraction")
    rng = d.make_rng(d.check_seed(seed), "group_split")
    groups, targets = ds.groups.numpy(), ds.targets.numpy()
    uniq, first = np.unique(groups, return_index=True)
    # a group's class: the majority label of its images (a group normally has one label)
    label = np.array([np.bincount(targets[groups == g]).argmax() for g in uniq]) if len(uniq) < len(ds) \
        else targets[first]
    if len(uniq) < 2:
        raise ValueError("group_split needs at least 2 different groups")
    test_groups = []
    for k in np.unique(label):
        members = rng.permutation(uniq[label == k])
        take = int(np.floor(len(members) * test_fraction + 0.5))
        if len(members) >= 2:
            take = min(max(take, 1), len(members) - 1)
        test_groups.append(members[:take])
    in_test = np.isin(groups, np.concatenate(test_groups))
    if in_test.all() or not in_test.any():
        raise ValueError(f"test_fraction={test_fraction} leaves one side empty with {len(uniq)} groups; "
                         "use a fraction nearer 0.5")
    return ds.subset(np.flatnonzero(~in_test)), ds.subset(np.flatnonzero(in_test))


def _near_copy(images: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Label-preserving near-duplicates: a shift of up to half a pixel each way (bilinear, edges repeated),
    brightness +-6%, light noise."""
    n, _, h, w = images.shape
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = torch.as_tensor(rng.uniform(-0.5, 0.5, n) * 2 / w, dtype=torch.float32)
    theta[:, 1, 2] = torch.as_tensor(rng.uniform(-0.5, 0.5, n) * 2 / h, dtype=torch.float32)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    shifted = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    bright = d.col(rng.uniform(0.94, 1.06, n))
    noise = 0.02 * torch.from_numpy(rng.standard_normal(shifted.shape, dtype=np.float32))
    return (shifted * bright + noise).clamp(0, 1)


def leaky_split(ds: ImageDataset, *, test_fraction: float = 0.3, leak_fraction: float = 0.3,
                seed: int = 0) -> tuple[ImageDataset, ImageDataset]:
    """A *deliberately wrong* split: some test images are near-copies of training images.

    First a fair ``random_split`` (same ``test_fraction`` and ``seed``); then ``leak_fraction`` of the
    test images are replaced by slightly altered copies (shift of at most half a pixel, small
    brightness change, light noise) of training images of the same class, as happens when duplicates are not
    removed before splitting. ``test.meta["leaked_from"]`` holds, for each test image, the index in
    ``train`` it was copied from, or -1 for a genuine test image. A model that memorises its training
    images scores higher on this test set than on a clean one.

    Returns
    -------
    (train, test) : tuple of ImageDataset
        ``train`` is exactly the fair split's training set; ``test`` has the same size and class counts
        as the fair test set. Copies take over the group of their original (when ``ds`` has groups).

    Examples
    --------
    >>> import torch
    >>> ds = ImageDataset(torch.rand(20, 3, 8, 8), [0, 1] * 10, ["a", "b"])
    >>> train, test = leaky_split(ds, test_fraction=0.5, leak_fraction=0.4)
    >>> int((test.meta["leaked_from"] >= 0).sum())
    4
    """
    train, test = random_split(ds, test_fraction=test_fraction, seed=seed)
    leak_fraction = _check_fraction(leak_fraction, "leak_fraction")
    rng = d.make_rng(seed, "leaky_split")
    n_leak = int(np.floor(len(test) * leak_fraction + 0.5))
    planted = np.sort(rng.permutation(len(test))[:n_leak])
    source = np.full(len(test), -1, dtype=np.int64)
    train_targets = train.targets.numpy()
    for i in planted:  # copy a training image of the same class, so the class counts do not move
        same = np.flatnonzero(train_targets == int(test.targets[i]))
        source[i] = rng.choice(same)
    images = test.images.clone()
    if n_leak:
        images[torch.as_tensor(planted)] = _near_copy(train.images[torch.as_tensor(source[planted])], rng)
    groups = None
    if test.groups is not None:
        groups = test.groups.clone()
        if n_leak:
            groups[torch.as_tensor(planted)] = train.groups[torch.as_tensor(source[planted])]
    meta = {k: v.clone() for k, v in test.meta.items()}
    for k, v in meta.items():
        if n_leak and k in train.meta:
            v[torch.as_tensor(planted)] = train.meta[k][torch.as_tensor(source[planted])]
    meta["leaked_from"] = torch.as_tensor(source)
    leaky = ImageDataset(images, test.targets.clone(), test.classes, groups=groups, meta=meta,
                         name=f"{ds.name} (leaky test)", transform=test.transform)
    return train, leaky
