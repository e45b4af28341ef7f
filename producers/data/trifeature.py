"""A Trifeature generator (after Hermann & Lampinen, 2020): shape x texture x colour.

Each image shows one of 10 **shapes** filled with one of 10 **textures** in one of 10
**colours**, on a grey background (RGB 128, 128, 128):

- shapes (the label): triangle, square, plus, circle, tee, rhombus, pentagon, star,
  fivesquare, trapezoid;
- textures (``group.texture``): solid, stripes, grid, hexgrid, dots, noise, triangles, zigzags,
  rain, pluses;
- colours (``group.color``): red, green, blue, yellow, pink, cyan, purple, ocean, orange, white.

Rendering. The shape is drawn inside a disk of radius ``0.3 * size`` centred at a uniform
random position that keeps the whole disk inside the image, and rotated by a uniform random
angle in [-45, 45) degrees. The texture is a periodic pattern (period ``0.45 x`` the shape
radius) with its own uniform random rotation in [0, 180) degrees and random phase; texture
"on" pixels take the colour, "off" pixels 30% of it. Images are rendered with supersampling
(``ceil(64 / size)`` x, at most 4 x) and averaged down, so small images stay readable.

Determinism and the split rule. Samples come in blocks of 1,000. Block ``b`` of split ``s``
(0 = train, 1 = test) draws everything from ``numpy.random.default_rng([seed, s, b])``. Inside
a block, sample ``j`` has shape ``j % 10``, and the 100 samples of each shape take the 100
(colour, texture) pairs in a random order: **every block of 1,000 holds each of the 1,000
combinations exactly once**, and labels are balanced in every run of 10 consecutive samples.
Train and test use independent streams (so no test image is a train image: positions,
rotations and phases differ), and ``n`` samples are always the first ``n`` of the stream: a
larger split extends a smaller one. ``sample_id`` is the index in its split.

Balance. Because every block holds every combination once, a split of ``n = 1000 k`` samples
has exactly ``k`` samples per (shape, colour, texture), ``10 k`` per (shape, colour) and per
(shape, texture): the default test split (50,000) has 500 images in every shape x colour and
shape x texture cell, so a group's per-class rate is estimated from 500 positives (standard
error <= 2.2 points) instead of 20. `cell_counts` counts the cells of a split.

Speed. Rendering is pure numpy, about 1-2 ms per 32 px image on one core; ``workers > 1``
renders chunks in that many processes (identical output: the parameters are drawn first).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import numpy as np

from . import DatasetSplits, ImageSplit

__all__ = [
    "COLORS",
    "SHAPES",
    "TEXTURES",
    "TrifeatureParams",
    "cell_counts",
    "generate_split",
    "load_trifeature",
    "render",
    "sample_params",
]

SHAPES = (
    "triangle",
    "square",
    "plus",
    "circle",
    "tee",
    "rhombus",
    "pentagon",
    "star",
    "fivesquare",
    "trapezoid",
)
TEXTURES = (
    "solid",
    "stripes",
    "grid",
    "hexgrid",
    "dots",
    "noise",
    "triangles",
    "zigzags",
    "rain",
    "pluses",
)
COLORS = {
    "red": (230, 25, 25),
    "green": (30, 200, 40),
    "blue": (30, 60, 230),
    "yellow": (250, 230, 20),
    "pink": (250, 120, 200),
    "cyan": (30, 230, 230),
    "purple": (140, 30, 180),
    "ocean": (0, 110, 140),
    "orange": (250, 140, 0),
    "white": (255, 255, 255),
}
BACKGROUND = 128
OFF_SHADE = 0.3
SHAPE_RADIUS = 0.3  # of the image size
TEXTURE_PERIOD = 0.45  # of the shape radius
BLOCK = 1000
_COLOR_RGB = np.array(list(COLORS.values()), dtype=np.float32)


# --- shapes: boolean masks in the shape's frame (unit disk, y pointing down) -------------------


def _polygon(u: np.ndarray, v: np.ndarray, verts: list[tuple[float, float]]) -> np.ndarray:
    """Even-odd (crossing number) point-in-polygon test, vectorised over points."""
    inside = np.zeros(u.shape, dtype=bool)
    n = len(verts)
    for k in range(n):
        x1, y1 = verts[k]
        x2, y2 = verts[(k + 1) % n]
        if y1 == y2:
            continue
        crosses = (y1 > v) != (y2 > v)
        x_at = (x2 - x1) * (v - y1) / (y2 - y1) + x1
        inside ^= crosses & (u < x_at)
    return inside


def _regular(k: int, radius: float, start: float = -90.0) -> list[tuple[float, float]]:
    return [
        (
            radius * math.cos(math.radians(start + 360.0 * i / k)),
            radius * math.sin(math.radians(start + 360.0 * i / k)),
        )
        for i in range(k)
    ]


def _star(outer: float = 0.97, inner: float = 0.42) -> list[tuple[float, float]]:
    pts = []
    for i in range(10):
        r = outer if i % 2 == 0 else inner
        a = math.radians(-90.0 + 36.0 * i)
        pts.append((r * math.cos(a), r * math.sin(a)))
    return pts


def _box(u, v, cx, cy, hw, hh):
    return (np.abs(u - cx) <= hw) & (np.abs(v - cy) <= hh)


_SHAPE_FUNCS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "triangle": lambda u, v: _polygon(u, v, _regular(3, 0.98)),
    "square": lambda u, v: _box(u, v, 0, 0, 0.68, 0.68),
    "plus": lambda u, v: _box(u, v, 0, 0, 0.3, 0.95) | _box(u, v, 0, 0, 0.95, 0.3),
    "circle": lambda u, v: u * u + v * v <= 0.85**2,
    "tee": lambda u, v: _box(u, v, 0, -0.57, 0.7, 0.2) | _box(u, v, 0, 0.2, 0.2, 0.67),
    "rhombus": lambda u, v: np.abs(u) / 0.6 + np.abs(v) / 0.97 <= 1.0,
    "pentagon": lambda u, v: _polygon(u, v, _regular(5, 0.92)),
    "star": lambda u, v: _polygon(u, v, _star()),
    "fivesquare": lambda u, v: (
        _box(u, v, 0, 0, 0.2, 0.2)
        | _box(u, v, 0.45, 0.45, 0.2, 0.2)
        | _box(u, v, -0.45, 0.45, 0.2, 0.2)
        | _box(u, v, 0.45, -0.45, 0.2, 0.2)
        | _box(u, v, -0.45, -0.45, 0.2, 0.2)
    ),
    "trapezoid": lambda u, v: _polygon(
        u, v, [(-0.45, -0.45), (0.45, -0.45), (0.86, 0.45), (-0.86, 0.45)]
    ),
}


# --- textures: boolean "on" masks in texture coordinates (a, b), period 1 ---------------------


def _frac(x: np.ndarray) -> np.ndarray:
    return x - np.floor(x)


def _hexgrid(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # Voronoi edges of a triangular lattice (= a honeycomb): on where the nearest and the
    # second-nearest lattice points are almost equally far.
    s3 = math.sqrt(3.0)
    t = b / (s3 / 2)
    s = a - 0.5 * t
    fs, ft = np.floor(s), np.floor(t)
    d1 = np.full(a.shape, np.inf, dtype=a.dtype)
    d2 = np.full(a.shape, np.inf, dtype=a.dtype)
    for di in (-1, 0, 1, 2):
        for dj in (-1, 0, 1, 2):
            i, j = fs + di, ft + dj
            px, py = i + 0.5 * j, j * (s3 / 2)
            d = np.hypot(a - px, b - py)
            closer = d < d1
            d2 = np.where(closer, d1, np.minimum(d2, d))
            d1 = np.where(closer, d, d1)
    return (d2 - d1) < 0.16


def _noise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ca, cb = np.floor(a * 3.0), np.floor(b * 3.0)
    h = _frac(np.sin(ca * 12.9898 + cb * 78.233) * 43758.5453)
    return h > 0.5


def _rain(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    fb = _frac(b)
    fa = _frac(a + 0.5 * np.floor(b))
    x_line = 0.2 + 0.3 * (fb - 0.1)
    return (np.abs(fa - x_line) < 0.1) & (fb > 0.1) & (fb < 0.9)


_TEXTURE_FUNCS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "solid": lambda a, b: np.ones(a.shape, dtype=bool),
    "stripes": lambda a, b: _frac(a) < 0.5,
    "grid": lambda a, b: (_frac(a) < 0.28) | (_frac(b) < 0.28),
    "hexgrid": _hexgrid,
    "dots": lambda a, b: (_frac(a) - 0.5) ** 2 + (_frac(b) - 0.5) ** 2 < 0.3**2,
    "noise": _noise,
    "triangles": lambda a, b: (
        (_frac(b) > 0.12) & (_frac(b) < 0.88) & (np.abs(_frac(a) - 0.5) <= 0.5 * (_frac(b) - 0.12))
    ),
    "zigzags": lambda a, b: _frac(b + np.abs(_frac(a) - 0.5)) < 0.45,
    "rain": _rain,
    "pluses": lambda a, b: (
        ((np.abs(_frac(a) - 0.5) < 0.12) & (np.abs(_frac(b) - 0.5) < 0.38))
        | ((np.abs(_frac(b) - 0.5) < 0.12) & (np.abs(_frac(a) - 0.5) < 0.38))
    ),
}


# --- parameters and rendering ----------------------------------------------------------------


class TrifeatureParams:
    """Per-sample generative parameters of one split (arrays of length N).

    ``shape``, ``texture``, ``color`` are indices into `SHAPES`, `TEXTURES`, `COLORS`;
    ``cx``, ``cy`` the shape centre and ``radius``-relative positions in [0, 1] of the free
    range; ``angle`` the shape rotation in degrees; ``tex_angle`` (degrees) and ``phase``
    (N, 2) the texture's rotation and offset.
    """

    __slots__ = ("shape", "texture", "color", "cx", "cy", "angle", "tex_angle", "phase")

    def __init__(self, **arrays: np.ndarray) -> None:
        for k in self.__slots__:
            setattr(self, k, arrays[k])

    def __len__(self) -> int:
        return len(self.shape)

    def take(self, idx) -> TrifeatureParams:
        return TrifeatureParams(**{k: getattr(self, k)[idx] for k in self.__slots__})


def _block_params(seed: int, split: int, block: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, split, block])
    j = np.arange(BLOCK)
    shape = j % 10
    pairs = np.empty(BLOCK, dtype=np.int64)
    for k in range(10):
        pairs[k::10] = rng.permutation(100)
    return {
        "shape": shape.astype(np.int64),
        "color": pairs // 10,
        "texture": pairs % 10,
        "cx": rng.random(BLOCK),
        "cy": rng.random(BLOCK),
        "angle": rng.uniform(-45.0, 45.0, BLOCK),
        "tex_angle": rng.uniform(0.0, 180.0, BLOCK),
        "phase": rng.random((BLOCK, 2)),
    }


def sample_params(n: int, *, seed: int = 0, split: int = 0) -> TrifeatureParams:
    """Parameters of the first ``n`` samples of split ``split`` (0 train, 1 test)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    blocks = [_block_params(seed, split, b) for b in range(max(1, -(-n // BLOCK)))]
    return TrifeatureParams(**{k: np.concatenate([b[k] for b in blocks])[:n] for k in blocks[0]})


def render(params: TrifeatureParams, size: int, *, chunk_pixels: int = 4_000_000) -> np.ndarray:
    """Render images (N, size, size, 3) uint8 from parameters; vectorised over samples."""
    if size < 4:
        raise ValueError(f"image size must be >= 4, got {size}")
    n = len(params)
    ss = int(min(4, max(1, math.ceil(64 / size))))
    big = size * ss
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    step = max(1, chunk_pixels // (big * big))
    grid = (np.arange(big, dtype=np.float32) + 0.5) / ss  # pixel centres in output pixels
    radius = SHAPE_RADIUS * size
    period = TEXTURE_PERIOD * radius
    for start in range(0, n, step):
        p = params.take(slice(start, start + step))
        m = len(p)
        cx = (radius + p.cx * (size - 2 * radius)).astype(np.float32)[:, None, None]
        cy = (radius + p.cy * (size - 2 * radius)).astype(np.float32)[:, None, None]
        dx = grid[None, None, :] - cx
        dy = grid[None, :, None] - cy
        th = np.radians(p.angle).astype(np.float32)[:, None, None]
        u = (np.cos(th) * dx + np.sin(th) * dy) / radius
        v = (-np.sin(th) * dx + np.cos(th) * dy) / radius
        ta = np.radians(p.tex_angle).astype(np.float32)[:, None, None]
        a = (np.cos(ta) * dx + np.sin(ta) * dy) / period + p.phase[:, 0].astype(np.float32)[
            :, None, None
        ]
        b = (-np.sin(ta) * dx + np.cos(ta) * dy) / period + p.phase[:, 1].astype(np.float32)[
            :, None, None
        ]
        inside = np.zeros((m, big, big), dtype=bool)
        on = np.zeros((m, big, big), dtype=bool)
        for k, name in enumerate(SHAPES):
            idx = np.flatnonzero(p.shape == k)
            if idx.size:
                inside[idx] = _SHAPE_FUNCS[name](u[idx], v[idx])
        for k, name in enumerate(TEXTURES):
            idx = np.flatnonzero(p.texture == k)
            if idx.size:
                on[idx] = _TEXTURE_FUNCS[name](a[idx], b[idx])
        rgb = _COLOR_RGB[p.color][:, None, None, :]  # (m, 1, 1, 3)
        shade = np.where(on[..., None], np.float32(1.0), np.float32(OFF_SHADE))
        img = np.where(inside[..., None], rgb * shade, np.float32(BACKGROUND))
        if ss > 1:
            img = img.reshape(m, size, ss, size, ss, 3).mean(axis=(2, 4))
        out[start : start + m] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return out


def _render_parallel(params: TrifeatureParams, size: int, workers: int) -> np.ndarray:
    """`render` in ``workers`` processes, chunk by chunk (same pixels as one process)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    n = len(params)
    if workers <= 1 or n < 2 * BLOCK:
        return render(params, size)
    bounds = np.linspace(0, n, min(workers * 4, -(-n // BLOCK)) + 1).astype(int)
    chunks = [params.take(slice(a, b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    # spawn, not fork: the caller may hold CUDA or OpenMP threads (a sweep's main process)
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        for a, img in zip(bounds[:-1], pool.map(render, chunks, [size] * len(chunks)), strict=True):
            out[a : a + len(img)] = img
    return out


def cell_counts(split: ImageSplit, attribute: str) -> np.ndarray:
    """Counts (10 shapes x 10 groups) of ``split`` per (label, ``group.<attribute>``) cell.

    Columns follow `COLORS` for ``"color"`` and `TEXTURES` for ``"texture"``.
    """
    names = {"color": list(COLORS), "texture": list(TEXTURES)}[attribute]
    lookup = {name: i for i, name in enumerate(names)}
    idx = np.array([lookup[str(g)] for g in split.groups[attribute]], dtype=np.int64)
    counts = np.zeros((len(SHAPES), len(names)), dtype=np.int64)
    np.add.at(counts, (np.asarray(split.labels, dtype=np.int64), idx), 1)
    return counts


def generate_split(
    n: int, *, size: int = 224, seed: int = 0, split: int = 0, workers: int = 1
) -> ImageSplit:
    """The first ``n`` images of a split with labels (shape) and groups (color, texture).

    ``workers > 1`` renders in that many processes (the same images).
    """
    params = sample_params(n, seed=seed, split=split)
    names_c = np.array(list(COLORS), dtype=object)
    names_t = np.array(TEXTURES, dtype=object)
    return ImageSplit(
        images=_render_parallel(params, size, workers),
        labels=params.shape.astype(np.int64),
        sample_id=np.arange(n, dtype=np.int64),
        groups={"color": names_c[params.color], "texture": names_t[params.texture]},
    )


TRAIN_SIZE = 20_000
TEST_SIZE = 50_000


def load_trifeature(
    *,
    image_size: int = 224,
    train_size: int = TRAIN_SIZE,
    test_size: int = TEST_SIZE,
    seed: int = 0,
    workers: int | None = None,
) -> DatasetSplits:
    """Generate the Trifeature train and test splits (see the module docstring for the rule).

    ``seed`` is the *dataset* seed: keep it fixed across a sweep so that every run is tested on
    the same images (the training seed is separate). The defaults (20,000 training, 50,000
    test images) give 500 test images per shape x colour and shape x texture cell. ``workers``
    (default: the CPU count, at most 16) renders in parallel processes; the images are the same
    for any value.
    """
    if workers is None:
        workers = min(16, os.cpu_count() or 1)
    return DatasetSplits(
        "trifeature",
        generate_split(train_size, size=image_size, seed=seed, split=0, workers=workers),
        generate_split(test_size, size=image_size, seed=seed, split=1, workers=workers),
        SHAPES,
    )
