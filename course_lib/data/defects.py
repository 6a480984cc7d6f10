"""``defects``: an imbalanced surface-inspection task (``ok`` vs ``defect``).

Each image is a patch of a procedural surface: brushed metal, woven cloth, granular coating or wood.
About 5% carry a defect (a thin scratch, a small spot or a branching crack) whose contrast is a few
times the texture's own variation: visible, but not trivial. Every image, defective or not, may also
carry harmless look-alikes: large soft blotches and uneven lighting. A model that always answers
``ok`` is right 95% of the time and useless, which is the point of the lesson.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from . import _draw as d
from .cache import cached
from .dataset import ImageDataset

__all__ = ["DEFECT_CLASSES", "DEFECT_KINDS", "TEXTURES", "defects"]

#: Class names; label 1 (``"defect"``) is the positive class.
DEFECT_CLASSES: list[str] = ["ok", "defect"]
#: Surface textures, indexed by ``ds.meta["texture"]``.
TEXTURES: list[str] = ["brushed metal", "woven", "granular", "wood"]
#: Defect kinds, indexed by ``ds.meta["defect_kind"]`` (-1 for images without a defect).
DEFECT_KINDS: list[str] = ["scratch", "spot", "crack"]

_DEFAULT_N = {"train": 2000, "val": 1000, "test": 2000}
_CHUNK = 256


# --- textures (grey, N x 1 x size x size, roughly mean 0.5) -----------------------------------------
def _metal(rng: np.random.Generator, n: int, size: int) -> torch.Tensor:
    angle = rng.uniform(0, np.pi, n)
    brushed = d.streaks(rng, n, size, along=8.0, across=0.45, angles=angle)
    grain = d.streaks(rng, n, size, along=0.6, across=0.6, angles=angle)
    return d.col(rng.uniform(0.45, 0.7, n)) + d.col(rng.uniform(0.035, 0.06, n)) * (brushed + 0.3 * grain)


def _woven(rng: np.random.Generator, n: int, size: int) -> torch.Tensor:
    x, y = d.pixel_grid(size)
    a, p = rng.uniform(0, np.pi / 2, n), rng.uniform(3.0, 4.5, n)
    ca, sa = d.col(np.cos(a)), d.col(np.sin(a))
    u, v = (x * ca + y * sa) / d.col(p), (-x * sa + y * ca) / d.col(p)
    # over-under weave: threads along u on one checker square, along v on the other
    over = torch.sin(np.pi * u) * torch.sin(np.pi * v) > 0
    thread = torch.where(over, torch.cos(2 * np.pi * v), torch.cos(2 * np.pi * u))
    fuzz = d.streaks(rng, n, size, along=0.7, across=0.7, angles=a)
    return d.col(rng.uniform(0.35, 0.65, n)) + d.col(rng.uniform(0.04, 0.07, n)) * (thread + 0.3 * fuzz)


def _granular(rng: np.random.Generator, n: int, size: int) -> torch.Tensor:
    grains = d.streaks(rng, n, size, along=0.8, across=0.8, angles=np.zeros(n))
    mottle = d.smooth_noise(rng, n, 1, size, grid=6)
    return d.col(rng.uniform(0.35, 0.65, n)) + d.col(rng.uniform(0.04, 0.07, n)) * (grains + 0.35 * mottle)


def _wood(rng: np.random.Generator, n: int, size: int) -> torch.Tensor:
    x, y = d.pixel_grid(size)
    a, p = rng.uniform(0, np.pi, n), rng.uniform(4.0, 7.0, n)
    across = -x * d.col(np.sin(a)) + y * d.col(np.cos(a))
    warp = 2.5 * d.smooth_noise(rng, n, 1, size, grid=3)
    rings = torch.sin(2 * np.pi * (across + warp) / d.col(p))
    fibre = d.streaks(rng, n, size, along=5.0, across=0.5, angles=a)
    return d.col(rng.uniform(0.35, 0.6, n)) + d.col(rng.uniform(0.035, 0.06, n)) * (rings + 0.4 * fibre)


_MAKERS = (_metal, _woven, _granular, _wood)


# --- defects and look-alikes --------------------------------------------------------------------------
def _defect_scene(rng: np.random.Generator, kind: int, size: int) -> list[d.Command]:
    """Drawing commands (pixel coordinates) of one defect of the given kind."""
    margin = 0.2 * size
    c = rng.uniform(margin, size - margin, 2)
    if kind == 0:  # scratch: a long thin straight line
        a, half = rng.uniform(0, np.pi), rng.uniform(0.3, 0.6) * size / 2
        v = half * np.array([np.cos(a), np.sin(a)])
        return [("line", np.stack([c - v, c + v]), rng.uniform(0.7, 1.1), 1)]
    if kind == 1:  # spot: a small blob
        r = rng.uniform(1.3, 2.2)
        return [("poly", d.ellipse(r, r * rng.uniform(0.7, 1.0), *c, k=24), 1)]
    # crack: a jagged random walk, sometimes with a branch
    a = rng.uniform(0, 2 * np.pi)
    pts, cmds = [c], []
    for _ in range(int(rng.integers(4, 7))):
        a += rng.uniform(-0.7, 0.7)
        pts.append(pts[-1] + rng.uniform(2.0, 3.5) * np.array([np.cos(a), np.sin(a)]))
    width = rng.uniform(0.6, 0.9)
    cmds.append(("line", np.stack(pts), width, 1))
    if rng.random() < 0.5:
        j = int(rng.integers(1, len(pts) - 1))
        b = a + rng.choice([-1, 1]) * rng.uniform(0.6, 1.2)
        end = pts[j] + rng.uniform(2.5, 5.0) * np.array([np.cos(b), np.sin(b)])
        cmds.append(("line", np.stack([pts[j], end]), width * 0.8, 1))
    return cmds


def _render_chunk(rng: np.random.Generator, texture: np.ndarray, kind: np.ndarray, size: int) -> torch.Tensor:
    n = len(texture)
    grey = torch.empty(n, 1, size, size)
    for t, make in enumerate(_MAKERS):
        idx = np.flatnonzero(texture == t)
        if len(idx):
            grey[torch.as_tensor(idx)] = make(rng, len(idx), size)
    sd = grey.std(dim=(1, 2, 3)).numpy()  # the texture's own variation sets the defect contrast

    # harmless look-alikes: a large soft blotch, uneven lighting
    x, y = d.pixel_grid(size)
    has_blotch = rng.random(n) < 0.5
    bc = rng.uniform(0, size, (n, 2))
    bs = rng.uniform(3.0, 7.0, n)
    bump = torch.exp(-((x - d.col(bc[:, 0])) ** 2 + (y - d.col(bc[:, 1])) ** 2) / (2 * d.col(bs) ** 2))
    amp = np.where(has_blotch, rng.choice([-1, 1], n) * rng.uniform(1.0, 2.5, n) * sd, 0.0)
    grey = grey + d.col(amp) * bump
    has_light = rng.random(n) < 0.5
    phi = rng.uniform(0, 2 * np.pi, n)
    ramp = ((x - size / 2) * d.col(np.cos(phi)) + (y - size / 2) * d.col(np.sin(phi))) / size
    grey = grey + d.col(np.where(has_light, rng.uniform(0.05, 0.15, n), 0.0)) * ramp

    # defects
    pos = np.flatnonzero(kind >= 0)
    if len(pos):
        scenes = [_defect_scene(rng, int(kind[i]), size) for i in pos]
        cov = d.rasterise(scenes, size).unsqueeze(1)
        spot = torch.as_tensor(kind[pos] == 1)
        if bool(spot.any()):  # soften spots a little: real stains have no hard rim
            cov[spot] = d.blur(cov[spot], 0.5, 0.5)
        dark = rng.random(len(pos)) < np.where(kind[pos] == 0, 0.4, 0.75)
        contrast = rng.uniform(3.5, 6.0, len(pos)) * sd[pos] * np.where(dark, -1.0, 1.0)
        grey[torch.as_tensor(pos)] += d.col(contrast) * cov

    grey = grey + d.col(rng.uniform(0.008, 0.02, n)) * torch.from_numpy(
        rng.standard_normal(grey.shape, dtype=np.float32))
    tint = 1 + rng.uniform(-0.04, 0.04, (n, 3))
    return d.to_uint8(grey * d.col(tint))


def _generate(split: str, n: int, n_pos: int, seed: int, size: int) -> dict:
    plan = d.make_rng(seed, "defects", split, n, n_pos, size, "plan")
    label = np.zeros(n, dtype=np.int64)
    label[plan.permutation(n)[:n_pos]] = 1
    texture = plan.integers(0, len(TEXTURES), n)
    kind = np.where(label == 1, plan.integers(0, len(DEFECT_KINDS), n), -1)
    chunks = []
    with d.one_thread():
        for start in range(0, n, _CHUNK):
            rng = d.make_rng(seed, "defects", split, n, n_pos, size, start)
            sl = slice(start, start + _CHUNK)
            chunks.append(_render_chunk(rng, texture[sl], kind[sl], size))
    return {"images": torch.cat(chunks), "targets": torch.as_tensor(label), "classes": list(DEFECT_CLASSES),
            "groups": None, "meta": {"texture": torch.as_tensor(texture), "defect_kind": torch.as_tensor(kind)}}


def defects(split: str = "train", *, positive_rate: float = 0.05, n: int | None = None, seed: int = 0,
            size: int = 32, cache: bool = True) -> ImageDataset:
    """Surface patches labelled ``ok`` (0) or ``defect`` (1), with few defects.

    Parameters
    ----------
    split : {"train", "val", "test"}
        Default sizes 2,000 / 1,000 / 2,000 images; the splits never share an image.
    positive_rate : float
        Fraction of defective images, strictly between 0 and 1. Exactly ``round(n * positive_rate)``
        images are defective, at random positions.
    n : int, optional
        Number of images (overrides the split's default).
    seed : int
        Same seed, same pixels.
    size : int
        Image height and width in pixels.
    cache : bool
        Keep the generated images on disk and reuse them.

    Returns
    -------
    ImageDataset
        Lightly tinted grey RGB images. ``meta["texture"]`` indexes ``TEXTURES``; ``meta["defect_kind"]``
        indexes ``DEFECT_KINDS`` (-1 when there is no defect).

    Examples
    --------
    >>> ds = defects("val", n=100, positive_rate=0.1, cache=False)
    >>> ds.class_counts()
    {'ok': 90, 'defect': 10}
    """
    split = d.check_split(split, tuple(_DEFAULT_N))
    n = d.check_count(_DEFAULT_N[split] if n is None else n, "n")
    if isinstance(positive_rate, bool) or not isinstance(positive_rate, int | float | np.floating) \
            or not 0.0 < float(positive_rate) < 1.0:
        raise ValueError(f"positive_rate must be a number strictly between 0 and 1 (e.g. 0.05 for 5% defects), "
                         f"got {positive_rate!r}")
    n_pos = math.floor(n * float(positive_rate) + 0.5)
    if not 0 < n_pos < n:
        raise ValueError(f"n={n} images at positive_rate={positive_rate} gives {n_pos} defects; both classes need "
                         "at least one image: raise n or move positive_rate away from 0 and 1")
    seed, size = d.check_seed(seed), d.check_size(size)
    params = {"split": split, "n": n, "n_pos": n_pos, "seed": seed, "size": size}
    payload = cached("defects", params, lambda: _generate(split, n, n_pos, seed, size), use_cache=cache)
    return ImageDataset(payload["images"].float().div_(255), payload["targets"], payload["classes"],
                        meta=dict(payload.get("meta") or {}), name=f"defects/{split}")

