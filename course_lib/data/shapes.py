"""The procedural shapes datasets: a 16-class *source* task and a 5-class *target* task of new shapes.

The source task (``shapes_source``) is what the course backbone is pre-trained on. The target task
(``shapes_target``) holds five shapes the backbone has never seen (heart, arrow, crescent, L-shape,
bowtie), drawn in the same style, with few training images: the setting in which fine-tuning pays off.
Every image is a coloured shape at a random size, rotation, aspect and position on a smooth, sometimes
striped, noisy background crossed by distractor lines; edges are anti-aliased by drawing at 4x and
averaging down.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from . import _draw as d
from .cache import cached
from .dataset import ImageDataset

__all__ = ["SOURCE_CLASSES", "TARGET_CLASSES", "shapes_source", "shapes_target"]

Ops = list[d.Command]


# --- shape templates: each returns drawing commands in the unit disc (y up) ---------------------------
def _poly(pts: np.ndarray) -> Ops:
    return [("poly", pts, 1)]


def _triangle(rng: np.random.Generator) -> Ops:
    return _poly(d.regular_polygon(3))


def _square(rng: np.random.Generator) -> Ops:
    return _poly(d.regular_polygon(4, phase=np.pi / 4))


def _pentagon(rng: np.random.Generator) -> Ops:
    return _poly(d.regular_polygon(5))


def _hexagon(rng: np.random.Generator) -> Ops:
    return _poly(d.regular_polygon(6))


def _circle(rng: np.random.Generator) -> Ops:
    return _poly(d.ellipse())


def _ring(rng: np.random.Generator) -> Ops:
    return [("poly", d.ellipse(), 1), ("poly", d.ellipse(*(2 * [rng.uniform(0.48, 0.62)])), 0)]


def _star5(rng: np.random.Generator) -> Ops:
    return _poly(d.star(5, rng.uniform(0.38, 0.48)))


def _star6(rng: np.random.Generator) -> Ops:
    return _poly(d.star(6, rng.uniform(0.45, 0.55)))


def _plus(rng: np.random.Generator) -> Ops:
    w = rng.uniform(0.2, 0.3)
    a = np.sqrt(1 - w * w)
    pts = np.array([(w, w), (w, a), (-w, a), (-w, w), (-a, w), (-a, -w),
                    (-w, -w), (-w, -a), (w, -a), (w, -w), (a, -w), (a, w)])
    return _poly(pts)


def _clover(rng: np.random.Generator) -> Ops:
    r, off = rng.uniform(0.42, 0.5), rng.uniform(0.5, 0.58)
    lobes = [("poly", d.ellipse(r, r, off * np.cos(a), off * np.sin(a), k=32), 1)
             for a in np.pi / 2 + 2 * np.pi * np.arange(3) / 3]
    return d.fit_unit_disc([*lobes, ("poly", d.ellipse(off, off, k=32), 1)])


def _ellipse(rng: np.random.Generator) -> Ops:
    return _poly(d.ellipse(1.0, rng.uniform(0.5, 0.65)))


def _semicircle(rng: np.random.Generator) -> Ops:
    t = np.linspace(0, np.pi, 33)
    return d.fit_unit_disc(_poly(np.stack([np.cos(t), np.sin(t)], 1)))


def _trapezoid(rng: np.random.Generator) -> Ops:
    top, h = rng.uniform(0.4, 0.55), rng.uniform(0.55, 0.7)
    return d.fit_unit_disc(_poly(np.array([(-1.0, -h), (1.0, -h), (top, h), (-top, h)])))


def _tri_frame(rng: np.random.Generator) -> Ops:
    tri = d.regular_polygon(3)
    inner = rng.uniform(0.4, 0.5)
    return [("poly", tri, 1), ("poly", tri * inner, 0)]


def _frame(rng: np.random.Generator) -> Ops:
    inner = rng.uniform(0.5, 0.64)
    sq = d.regular_polygon(4, phase=np.pi / 4)
    return [("poly", sq, 1), ("poly", sq * inner, 0)]


def _gear(rng: np.random.Generator) -> Ops:
    teeth, depth = int(rng.integers(7, 10)), rng.uniform(0.22, 0.3)
    pts = []
    for k in range(teeth):
        a0 = 2 * np.pi * k / teeth
        step = 2 * np.pi / teeth
        for frac, r in ((0.0, 1 - depth), (0.12, 1.0), (0.45, 1.0), (0.57, 1 - depth)):
            a = a0 + frac * step
            pts.append((r * np.cos(a), r * np.sin(a)))
    return _poly(np.array(pts))


# target shapes (none of these is, or is a rotation of, a source shape)
def _heart(rng: np.random.Generator) -> Ops:
    t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)
    return d.fit_unit_disc(_poly(np.stack([x, y], 1)))


def _arrow(rng: np.random.Generator) -> Ops:
    w, hw, neck = rng.uniform(0.13, 0.2), rng.uniform(0.42, 0.55), rng.uniform(0.05, 0.3)
    pts = np.array([(-1.0, -w), (neck, -w), (neck, -hw), (1.0, 0.0), (neck, hw), (neck, w), (-1.0, w)])
    return d.fit_unit_disc(_poly(pts))


def _crescent(rng: np.random.Generator) -> Ops:
    r, off = rng.uniform(0.78, 0.92), rng.uniform(0.38, 0.55)
    return [("poly", d.ellipse(), 1), ("poly", d.ellipse(r, r, off, 0.0), 0)]


def _l_shape(rng: np.random.Generator) -> Ops:
    w, h, t = 1.0, rng.uniform(1.2, 1.6), rng.uniform(0.36, 0.46)
    return d.fit_unit_disc(_poly(np.array([(0, 0), (w, 0), (w, t), (t, t), (t, h), (0, h)], dtype=float)))


def _bowtie(rng: np.random.Generator) -> Ops:
    h, knot = rng.uniform(0.55, 0.75), rng.uniform(0.1, 0.16)
    left = np.array([(-1.0, -h), (0.0, 0.0), (-1.0, h)])
    ops = [("poly", left, 1), ("poly", left * [-1, 1], 1),
           ("poly", np.array([(-knot, -knot * 1.6), (knot, -knot * 1.6), (knot, knot * 1.6), (-knot, knot * 1.6)]), 1)]
    return d.fit_unit_disc(ops)


# name -> (template, aspect range: the shape's height is squashed by a factor drawn from it)
_SOURCE: dict[str, tuple[Callable[[np.random.Generator], Ops], tuple[float, float]]] = {
    "triangle": (_triangle, (0.8, 1.0)),
    "square": (_square, (0.85, 1.0)),
    "pentagon": (_pentagon, (0.85, 1.0)),
    "hexagon": (_hexagon, (0.85, 1.0)),
    "circle": (_circle, (0.93, 1.0)),
    "ring": (_ring, (0.9, 1.0)),
    "star5": (_star5, (0.85, 1.0)),
    "star6": (_star6, (0.85, 1.0)),
    "plus": (_plus, (0.85, 1.0)),
    "clover": (_clover, (0.9, 1.0)),
    "ellipse": (_ellipse, (0.9, 1.0)),
    "semicircle": (_semicircle, (0.85, 1.0)),
    "trapezoid": (_trapezoid, (0.85, 1.0)),
    "tri-frame": (_tri_frame, (0.85, 1.0)),
    "frame": (_frame, (0.85, 1.0)),
    "gear": (_gear, (0.92, 1.0)),
}
_TARGET: dict[str, tuple[Callable[[np.random.Generator], Ops], tuple[float, float]]] = {
    "heart": (_heart, (0.85, 1.0)),
    "arrow": (_arrow, (0.85, 1.0)),
    "crescent": (_crescent, (0.85, 1.0)),
    "L-shape": (_l_shape, (0.85, 1.0)),
    "bowtie": (_bowtie, (0.85, 1.0)),
}

#: The 16 shapes of the pre-training (source) task, in label order.
SOURCE_CLASSES: list[str] = list(_SOURCE)
#: The 5 new shapes of the fine-tuning (target) task, in label order.
TARGET_CLASSES: list[str] = list(_TARGET)

# Bumped when only the target generator changes, so stale target caches are rebuilt without changing
# DATA_VERSION (which the pre-trained backbone records). 2: faster gravel texture (a few pixels differ by 1/255).
_TARGET_REVISION = 2
_CHUNK = 256  # objects rendered together; fixed so that the pixels never depend on memory settings
_DOMAINS = ("shapes", "textured")


# --- backgrounds --------------------------------------------------------------------------------------
def _smooth_backgrounds(rng: np.random.Generator, n: int, size: int) -> torch.Tensor:
    """A colour gradient with low-frequency blotches, sometimes faint stripes."""
    x, y = d.pixel_grid(size)
    base = d.random_colours(rng, (n,), s=(0.0, 0.9), v=(0.1, 0.95))
    other = np.clip(base + rng.uniform(-0.25, 0.25, (n, 3)), 0, 1)
    phi = rng.uniform(0, 2 * np.pi, n)
    t = ((x - size / 2) * d.col(np.cos(phi)) + (y - size / 2) * d.col(np.sin(phi))) / size + 0.5
    bg = d.col(base) + (d.col(other) - d.col(base)) * t
    bg = bg + d.col(rng.uniform(0.02, 0.09, n)) * d.smooth_noise(rng, n, 3, size, grid=4)
    striped = rng.random(n) < 0.3
    period, angle, phase = rng.uniform(3, 8, n), rng.uniform(0, np.pi, n), rng.uniform(0, 2 * np.pi, n)
    wave = torch.sin(2 * np.pi * (x * d.col(np.cos(angle)) + y * d.col(np.sin(angle))) / d.col(period) + d.col(phase))
    return bg + d.col(np.where(striped, rng.uniform(0.03, 0.08, n), 0.0)) * wave


def _brick(rng: np.random.Generator, n: int, size: int, ss: int = 2) -> torch.Tensor:
    big = size * ss
    g = (torch.arange(big, dtype=torch.float32) + 0.5) / ss
    yy, xx = torch.meshgrid(g, g, indexing="ij")
    a = torch.as_tensor(rng.uniform(-0.35, 0.35, n) + np.pi / 2 * (rng.random(n) < 0.3), dtype=torch.float32)
    c, s = torch.cos(a).view(n, 1, 1), torch.sin(a).view(n, 1, 1)
    xr, yr = c * xx + s * yy, -s * xx + c * yy
    hb = torch.as_tensor(rng.uniform(4.5, 8.0, n), dtype=torch.float32).view(n, 1, 1)
    wb = hb * torch.as_tensor(rng.uniform(1.8, 2.6, n), dtype=torch.float32).view(n, 1, 1)
    row = torch.floor(yr / hb)
    xo = xr + torch.remainder(row, 2) * wb / 2
    colm = torch.floor(xo / wb)
    mw = torch.as_tensor(rng.uniform(0.7, 1.3, n), dtype=torch.float32).view(n, 1, 1)
    mortar = ((yr - row * hb) < mw) | ((xo - colm * wb) < mw)
    table = torch.as_tensor(rng.standard_normal((n, 64), dtype=np.float32))
    cell = (torch.remainder(row * 7 + colm * 13, 64)).long().view(n, -1)
    jitter = torch.gather(table, 1, cell).view(n, big, big)
    red = rng.random(n) < 0.7
    brick_col = np.where(red[:, None], np.stack([rng.uniform(0.45, 0.75, n), rng.uniform(0.18, 0.35, n),
                                                 rng.uniform(0.12, 0.28, n)], 1),
                         rng.uniform(0.35, 0.6, (n, 1)) + rng.uniform(-0.05, 0.05, (n, 3)))
    mortar_col = rng.uniform(0.6, 0.85, (n, 1)) + rng.uniform(-0.04, 0.04, (n, 3))
    img = d.col(brick_col) * (1 + 0.18 * jitter.unsqueeze(1))
    img = torch.where(mortar.unsqueeze(1), d.col(mortar_col).expand(n, 3, big, big), img)
    img = torch.nn.functional.avg_pool2d(img, ss)
    return img + 0.05 * d.smooth_noise(rng, n, 1, size, grid=8)


def _grass(rng: np.random.Generator, n: int, size: int) -> torch.Tensor:
    angles = rng.uniform(-0.5, 0.5, n)
    coarse = d.streaks(rng, n, size, along=3.0, across=0.7, angles=angles)
    fine = d.streaks(rng, n, size, along=1.5, across=0.5, angles=angles)
    field = 0.7 * coarse + 0.5 * fine
    green = np.stack([rng.uniform(0.15, 0.45, n), rng.uniform(0.4, 0.65, n), rng.uniform(0.08, 0.25, n)], 1)
    return d.col(green) * (1 + d.col(rng.uniform(0.25, 0.4, n)) * field)


def _gravel(rng: np.random.Generator, n: int, size: int) -> torch.Tensor:
    value, edge = d.voronoi(rng, n, size, cells=int(rng.integers(20, 40)))
    tint = rng.uniform(0.45, 0.7, (n, 1)) + np.stack([rng.uniform(0.0, 0.08, n), rng.uniform(-0.02, 0.04, n),
                                                     rng.uniform(-0.08, 0.0, n)], 1)
    grey = (0.65 + 0.6 * (value - 0.5)) * (0.55 + 0.45 * edge)
    return d.col(tint) * grey + 0.04 * d.smooth_noise(rng, n, 1, size, grid=16)


def _textured_backgrounds(rng: np.random.Generator, n: int, size: int) -> torch.Tensor:
    kind = rng.integers(0, 3, n)
    out = torch.empty(n, 3, size, size)
    for k, make in enumerate((_brick, _grass, _gravel)):
        idx = np.flatnonzero(kind == k)
        if len(idx):
            out[torch.as_tensor(idx)] = make(rng, len(idx), size).float()
    return out


# --- the renderer -----------------------------------------------------------------------------------
def _render_chunk(rng: np.random.Generator, templates: list, labels: np.ndarray, size: int, views: int,
                  domain: str) -> torch.Tensor:
    """Draw ``len(labels)`` objects, each ``views`` times, as ``uint8`` images (views of an object adjacent)."""
    m = len(labels)
    # scene per object
    radius = rng.uniform(0.32, 0.46, m) * size
    theta = rng.uniform(0, 2 * np.pi, m)
    aspect = np.array([rng.uniform(*templates[k][1]) for k in labels])
    local = [templates[k][0](rng) for k in labels]
    cx = rng.uniform(radius + 0.5, size - radius - 0.5)
    cy = rng.uniform(radius + 0.5, size - radius - 0.5)
    if domain == "shapes":
        bg = _smooth_backgrounds(rng, m, size)
        n_lines = rng.choice(4, m, p=[0.25, 0.35, 0.25, 0.15])
    else:
        bg = _textured_backgrounds(rng, m, size)
        n_lines = rng.choice(4, m, p=[0.6, 0.3, 0.1, 0.0])
    bg_mean = bg.clamp(0, 1).mean(dim=(2, 3)).numpy()
    colour = d.contrasting_colours(rng, bg_mean)
    line_col = d.random_colours(rng, (m, 3))
    lines = []
    for i in range(m):
        scene = []
        for k in range(n_lines[i]):
            p = rng.uniform(0, size, 2)
            a = rng.uniform(0, np.pi)
            v = 2 * size * np.array([np.cos(a), np.sin(a)])
            scene.append((np.stack([p - v, p + v]), rng.uniform(0.6, 1.4), rng.uniform(0.5, 1.0), line_col[i, k]))
        lines.append(scene)
    shade_dir, shade_amt = rng.uniform(0, 2 * np.pi, m), rng.uniform(-0.25, 0.25, m)

    # views: small shifts, rotations, scale and colour changes of the same object on the same background
    v = views
    rep = np.repeat(np.arange(m), v)
    if v > 1:
        jit = rng.uniform(-1, 1, (m * v, 6))
        r_v = radius[rep] * (1 + 0.05 * jit[:, 0])
        th_v = theta[rep] + 0.2 * jit[:, 1]
        cx_v = np.clip(cx[rep] + 1.5 * jit[:, 2], r_v + 0.5, size - r_v - 0.5)
        cy_v = np.clip(cy[rep] + 1.5 * jit[:, 3], r_v + 0.5, size - r_v - 0.5)
        col_v = np.clip(colour[rep] + 0.06 * rng.uniform(-1, 1, (m * v, 3)), 0, 1)
        bright_v = 1 + 0.05 * jit[:, 4]
    else:
        r_v, th_v, cx_v, cy_v, col_v, bright_v = radius, theta, cx, cy, colour, np.ones(m)

    obj = d.rasterise([d.place(local[i], cx_v[j], cy_v[j], r_v[j], th_v[j], 1.0, aspect[i])
                       for j, i in enumerate(rep)], size).unsqueeze(1)
    img = bg[torch.as_tensor(rep)] * d.col(bright_v)
    max_lines = max((len(s) for s in lines), default=0)
    for slot in range(max_lines):
        has = [slot < len(lines[i]) for i in range(m)]
        cmds = [[("line", lines[i][slot][0], lines[i][slot][1], 1)] if has[i] else [] for i in range(m)]
        alpha = d.rasterise(cmds, size).unsqueeze(1) * d.col(
            np.array([lines[i][slot][2] if has[i] else 0.0 for i in range(m)]))
        lc = d.col(np.array([lines[i][slot][3] if has[i] else np.zeros(3) for i in range(m)]))
        sel = torch.as_tensor(rep)
        img = img * (1 - alpha[sel]) + lc[sel] * alpha[sel]
    x, y = d.pixel_grid(size)
    shade = 1 + d.col(shade_amt[rep]) * ((x - d.col(cx_v)) * d.col(np.cos(shade_dir[rep]))
                                         + (y - d.col(cy_v)) * d.col(np.sin(shade_dir[rep]))) / d.col(r_v)
    img = img * (1 - obj) + (d.col(col_v) * shade).clamp(0, 1) * obj
    lo, hi = (0.0, 0.05) if domain == "shapes" else (0.02, 0.06)
    sigma = rng.uniform(lo, hi, m * v)
    img = img + d.col(sigma) * torch.from_numpy(rng.standard_normal(img.shape, dtype=np.float32))
    return d.to_uint8(img)


def _generate(name: str, table: dict, split: str, n_per_class: int, seed: int, size: int, views: int,
              domain: str) -> dict:
    templates = list(table.values())
    labels = np.repeat(np.arange(len(templates)), n_per_class)
    chunks = []
    with d.one_thread():
        for start in range(0, len(labels), _CHUNK):
            rng = d.make_rng(seed, name, domain, split, size, views, n_per_class, start)
            chunks.append(_render_chunk(rng, templates, labels[start:start + _CHUNK], size, views, domain))
    images = torch.cat(chunks)
    targets = torch.as_tensor(np.repeat(labels, views), dtype=torch.int64)
    groups = torch.as_tensor(np.repeat(np.arange(len(labels)), views), dtype=torch.int64)
    order = torch.as_tensor(d.make_rng(seed, name, domain, split, "order").permutation(len(targets)))
    return {"images": images[order], "targets": targets[order], "classes": list(table),
            "groups": groups[order], "meta": {}}


def _as_dataset(payload: dict, name: str, keep_groups: bool) -> ImageDataset:
    return ImageDataset(payload["images"].float().div_(255), payload["targets"], payload["classes"],
                        groups=payload["groups"] if keep_groups else None, meta=dict(payload.get("meta") or {}),
                        name=name)


_SOURCE_DEFAULT = {"train": 600, "val": 100}
_TARGET_DEFAULT = {"train": 20, "val": 20, "test": 200}


def shapes_source(split: str = "train", *, n_per_class: int | None = None, seed: int = 0, size: int = 32,
                  cache: bool = True) -> ImageDataset:
    """The 16-class source task the course backbone is pre-trained on.

    Parameters
    ----------
    split : {"train", "val"}
        ``"train"`` has 600 images per class (9,600), ``"val"`` 100 per class; the two never share an image.
    n_per_class : int, optional
        Override the number of images per class.
    seed : int
        Same seed, same pixels (bit for bit).
    size : int
        Image height and width in pixels (default 32).
    cache : bool
        Keep the generated images on disk (see ``course_lib.data.cache``) and reuse them next time.

    Returns
    -------
    ImageDataset
        RGB images ``3 x size x size`` in [0, 1], classes ``SOURCE_CLASSES``.

    Examples
    --------
    >>> ds = shapes_source("val", n_per_class=2, cache=False)
    >>> len(ds), ds.images.shape[1:], ds.classes[:3]
    (32, torch.Size([3, 32, 32]), ['triangle', 'square', 'pentagon'])
    """
    split = d.check_split(split, tuple(_SOURCE_DEFAULT))
    n = d.check_count(_SOURCE_DEFAULT[split] if n_per_class is None else n_per_class, "n_per_class")
    seed, size = d.check_seed(seed), d.check_size(size)
    params = {"split": split, "n_per_class": n, "seed": seed, "size": size}
    payload = cached("shapes_source", params,
                     lambda: _generate("shapes_source", _SOURCE, split, n, seed, size, 1, "shapes"), use_cache=cache)
    return _as_dataset(payload, f"shapes_source/{split}", keep_groups=False)


def shapes_target(split: str = "train", *, n_per_class: int | None = None, seed: int = 0, size: int = 32,
                  views: int = 1, domain: str = "shapes", cache: bool = True) -> ImageDataset:
    """The 5-class target task: shapes the backbone never saw (heart, arrow, crescent, L-shape, bowtie).

    Parameters
    ----------
    split : {"train", "val", "test"}
        Default sizes per class: train 20, val 20, test 200 (objects; see ``views``).
    n_per_class : int, optional
        Override the number of objects per class.
    seed : int
        Same seed, same pixels.
    size : int
        Image height and width in pixels.
    views : int
        Draw every object this many times with small changes (shift up to 1.5 px, rotation up to
        ~11 degrees, 5% scale, colour and brightness jitter, fresh noise) on the same background. The
        images of one object share a ``groups`` id: near-duplicates for the data-leakage lesson.
    domain : {"shapes", "textured"}
        ``"textured"`` draws the same shapes on rough brick, grass and gravel textures instead of smooth
        backgrounds: a domain shift away from the source task.
    cache : bool
        Keep the generated images on disk and reuse them.

    Returns
    -------
    ImageDataset
        ``n_per_class * views * 5`` RGB images; ``.groups`` holds the object id of each image.

    Examples
    --------
    >>> ds = shapes_target("train", n_per_class=3, views=2, cache=False)
    >>> len(ds), ds.classes
    (30, ['heart', 'arrow', 'crescent', 'L-shape', 'bowtie'])
    >>> int(ds.groups.unique().numel())
    15
    """
    split = d.check_split(split, tuple(_TARGET_DEFAULT))
    n = d.check_count(_TARGET_DEFAULT[split] if n_per_class is None else n_per_class, "n_per_class")
    views = d.check_count(views, "views")
    seed, size = d.check_seed(seed), d.check_size(size)
    if domain not in _DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; choose one of {list(_DOMAINS)}")
    params = {"split": split, "n_per_class": n, "seed": seed, "size": size, "views": views, "domain": domain,
              "revision": _TARGET_REVISION}
    payload = cached("shapes_target", params,
                     lambda: _generate("shapes_target", _TARGET, split, n, seed, size, views, domain), use_cache=cache)
    suffix = "" if domain == "shapes" else f"/{domain}"
    return _as_dataset(payload, f"shapes_target/{split}{suffix}", keep_groups=True)
