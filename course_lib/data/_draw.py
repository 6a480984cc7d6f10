"""Drawing helpers shared by the procedural datasets (private).

Geometry is rasterised with Pillow's ``ImageDraw`` on a grid ``SS`` times finer than the image and
averaged down, which gives anti-aliased edges. Backgrounds, textures and compositing are vectorised
torch code over a whole chunk of images. All randomness comes from one ``numpy.random.Generator``,
so the same seed always gives the same pixels.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

SS = 4  # supersampling factor for geometry

# A drawing command in pixel coordinates of the final image:
#   ("poly", points (K x 2), fill in {0, 1})   - fill (1) or cut out (0) a polygon
#   ("line", points (K x 2), width_px, fill)   - a polyline of the given width (in final-image pixels)
Command = tuple


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread while generating: the tensors are small, so extra threads only add
    synchronisation (10x slower on a busy 2-core machine), and one thread keeps every sum in the same order."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def check_seed(seed: object) -> int:
    """A seed must be a non-negative integer (it feeds ``numpy.random.SeedSequence``)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def make_rng(seed: int, *names: object) -> np.random.Generator:
    """An independent random stream for ``seed`` and a path of names (dataset, split, chunk, ...)."""
    codes = [zlib.crc32(str(n).encode()) for n in names]
    return np.random.default_rng(np.random.SeedSequence([check_seed(seed), *codes]))


def check_size(size: object) -> int:
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or not 16 <= size <= 256:
        raise ValueError(f"size must be an integer between 16 and 256 (image height = width in pixels), got {size!r}")
    return int(size)


def check_split(split: object, allowed: Sequence[str]) -> str:
    if split not in allowed:
        raise ValueError(f"unknown split {split!r}; choose one of {list(allowed)}")
    return str(split)


def check_count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer (at least 1), got {value!r}")
    return int(value)


# --- geometry ---------------------------------------------------------------------------------------
def regular_polygon(k: int, radius: float = 1.0, phase: float = 0.0) -> np.ndarray:
    """``k`` vertices evenly spaced on a circle (the first one at angle ``phase`` from straight up)."""
    t = phase + np.pi / 2 + 2 * np.pi * np.arange(k) / k
    return np.stack([radius * np.cos(t), radius * np.sin(t)], axis=1)


def star(points: int, inner: float) -> np.ndarray:
    """A star with ``points`` tips on the unit circle and notches at radius ``inner``."""
    t = np.pi / 2 + np.pi * np.arange(2 * points) / points
    r = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)


def ellipse(rx: float = 1.0, ry: float = 1.0, cx: float = 0.0, cy: float = 0.0, k: int = 48) -> np.ndarray:
    t = 2 * np.pi * np.arange(k) / k
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def fit_unit_disc(ops: list[Command]) -> list[Command]:
    """Centre the shape's bounding box on the origin and scale it so every point lies in the unit disc."""
    pts = np.concatenate([op[1] for op in ops if op[0] == "poly" and op[2] == 1])
    centre = (pts.max(0) + pts.min(0)) / 2
    scale = np.sqrt(((pts - centre) ** 2).sum(1)).max()
    return [(op[0], (op[1] - centre) / scale, *op[2:]) for op in ops]


def place(ops: list[Command], cx: float, cy: float, radius: float, theta: float,
          ax: float = 1.0, ay: float = 1.0) -> list[Command]:
    """Map a shape from its unit-disc frame (y up) to image pixels: squash, rotate, scale, move."""
    c, s = math.cos(theta), math.sin(theta)
    out = []
    for op in ops:
        x, y = op[1][:, 0] * ax, op[1][:, 1] * ay
        px = cx + radius * (c * x - s * y)
        py = cy - radius * (s * x + c * y)
        out.append((op[0], np.stack([px, py], axis=1), *op[2:]))
    return out


def rasterise(scenes: Sequence[Sequence[Command]], size: int, ss: int = SS) -> torch.Tensor:
    """Coverage masks ``N x size x size`` (float32 in [0, 1]) of the drawing commands of each scene.

    Each scene is drawn ``ss`` times finer and box-averaged down (anti-aliasing).
    """
    big = size * ss
    out = np.zeros((len(scenes), size, size), dtype=np.uint8)
    for i, scene in enumerate(scenes):
        if not scene:
            continue
        im = Image.new("L", (big, big), 0)
        draw = ImageDraw.Draw(im)
        for op in scene:
            xy = (op[1] * ss - 0.5).ravel().tolist()
            if op[0] == "poly":
                draw.polygon(xy, fill=255 * int(op[2]))
            else:
                draw.line(xy, fill=255 * int(op[3]), width=max(1, round(op[2] * ss)), joint="curve")
        out[i] = np.asarray(im.reduce(ss))
    return torch.from_numpy(out).float().div_(255.0)


# --- colour -----------------------------------------------------------------------------------------
def hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised HSV -> RGB, all inputs in [0, 1]; returns ``(..., 3)``."""
    i = np.floor(h * 6).astype(int) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    table = np.stack([np.stack(c, -1) for c in
                      [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]], 0)
    return np.take_along_axis(table, i[None, ..., None].repeat(3, -1), 0)[0]


def random_colours(rng: np.random.Generator, shape: tuple[int, ...], *, s: tuple[float, float] = (0.0, 1.0),
                   v: tuple[float, float] = (0.1, 1.0)) -> np.ndarray:
    return hsv_to_rgb(rng.random(shape), rng.uniform(*s, shape), rng.uniform(*v, shape))


def contrasting_colours(rng: np.random.Generator, against: np.ndarray, *, min_dist: float = 0.45,
                        tries: int = 16) -> np.ndarray:
    """For each background colour in ``against`` (``n x 3``) a random vivid colour at least ``min_dist``
    away in RGB (the farthest of ``tries`` candidates if none is that far)."""
    n = against.shape[0]
    cand = random_colours(rng, (n, tries), s=(0.25, 1.0), v=(0.15, 1.0))
    dist = np.sqrt(((cand - against[:, None, :]) ** 2).sum(-1))
    ok = dist >= min_dist
    pick = np.where(ok.any(1), ok.argmax(1), dist.argmax(1))
    return cand[np.arange(n), pick]


# --- fields and textures (torch, N x C x size x size) ---------------------------------------------------
def pixel_grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-centre coordinates ``x`` (1 x 1 x 1 x W) and ``y`` (1 x 1 x H x 1) in pixel units."""
    g = torch.arange(size, dtype=torch.float32) + 0.5
    return g.view(1, 1, 1, size), g.view(1, 1, size, 1)


def col(a: np.ndarray) -> torch.Tensor:
    """Per-image values ``(n,)`` or colours ``(n, 3)`` as a broadcastable ``n x C x 1 x 1`` tensor."""
    t = torch.as_tensor(np.asarray(a, dtype=np.float32))
    return t.view(t.shape[0], -1, 1, 1)


def smooth_noise(rng: np.random.Generator, n: int, channels: int, size: int, grid: int = 4) -> torch.Tensor:
    """Low-frequency noise: a ``grid x grid`` random lattice upsampled (bicubic) to ``size``; std about 1."""
    lattice = torch.from_numpy(rng.standard_normal((n, channels, grid, grid), dtype=np.float32))
    return F.interpolate(lattice, size=(size, size), mode="bicubic", align_corners=False)


def gaussian_kernel1d(sigma: float) -> torch.Tensor:
    r = max(1, int(math.ceil(3 * sigma)))
    x = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (x / max(sigma, 1e-3)) ** 2)
    return k / k.sum()


def blur(x: torch.Tensor, sigma_y: float, sigma_x: float) -> torch.Tensor:
    """Separable Gaussian blur of ``N x C x H x W`` with different widths along y and x (reflect padding)."""
    c = x.shape[1]
    if sigma_y > 0:
        k = gaussian_kernel1d(sigma_y)
        x = F.pad(x, (0, 0, len(k) // 2, len(k) // 2), mode="reflect")
        x = F.conv2d(x, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
    if sigma_x > 0:
        k = gaussian_kernel1d(sigma_x)
        x = F.pad(x, (len(k) // 2, len(k) // 2, 0, 0), mode="reflect")
        x = F.conv2d(x, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return x


def rotate_crop(field: torch.Tensor, angles: np.ndarray, size: int) -> torch.Tensor:
    """Rotate each ``N x C x P x P`` field by its angle and crop the central ``size x size`` (P >= 1.5 size)."""
    n, p = field.shape[0], field.shape[-1]
    a = torch.as_tensor(np.asarray(angles, dtype=np.float32))
    s = size / p
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = torch.cos(a) * s, -torch.sin(a) * s
    theta[:, 1, 0], theta[:, 1, 1] = torch.sin(a) * s, torch.cos(a) * s
    grid = F.affine_grid(theta, [n, field.shape[1], size, size], align_corners=False)
    return F.grid_sample(field, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def streaks(rng: np.random.Generator, n: int, size: int, along: float, across: float,
            angles: np.ndarray) -> torch.Tensor:
    """Oriented noise (long streaks when ``along >> across``), normalised to zero mean and unit std per image."""
    p = int(math.ceil(size * 1.5)) + 2
    noise = torch.from_numpy(rng.standard_normal((n, 1, p, p), dtype=np.float32))
    f = rotate_crop(blur(noise, along, across), angles, size)
    return normalise(f)


def normalise(f: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit standard deviation per image."""
    f = f - f.mean(dim=(1, 2, 3), keepdim=True)
    return f / f.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)


def voronoi(rng: np.random.Generator, n: int, size: int, cells: int, ss: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Random stones: each (supersampled) pixel takes its nearest seed point's random value.

    Returns ``(value, edge)``, both ``N x 1 x size x size``: the cell value in [0, 1] and an edge
    map that is 0 on the border between two cells and rises to 1 inside.
    """
    big = size * ss
    pts = torch.from_numpy(rng.uniform(-2, size + 2, (n, cells, 2)).astype(np.float32)) * ss
    vals = torch.from_numpy(rng.random((n, cells), dtype=np.float32))
    g = torch.arange(big, dtype=torch.float32) + 0.5
    yy, xx = torch.meshgrid(g, g, indexing="ij")
    pix = torch.stack([xx.flatten(), yy.flatten()], 1)  # P x 2
    # squared distances |p - q|^2 = |p|^2 - 2 p.q + |q|^2, as one batched matrix product (N x cells x P)
    d = (pts.pow(2).sum(-1, keepdim=True) - 2 * pts @ pix.T + pix.pow(2).sum(-1)).clamp_min_(0)
    d1, i1 = d.min(dim=1)
    d2 = d.scatter(1, i1.unsqueeze(1), float("inf")).min(dim=1).values
    d1, d2 = d1.sqrt(), d2.sqrt()
    value = torch.gather(vals, 1, i1).view(n, 1, big, big)
    edge = ((d2 - d1) / (1.2 * ss)).clamp(0, 1).view(n, 1, big, big)
    return F.avg_pool2d(value, ss), F.avg_pool2d(edge, ss)


def to_uint8(img: torch.Tensor) -> torch.Tensor:
    """Clamp to [0, 1] and quantise to 8 bits, as any stored image would be."""
    return (img.clamp(0, 1) * 255).round_().to(torch.uint8)
