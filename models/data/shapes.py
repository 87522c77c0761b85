"""The built-in `shapes` data set: procedural 32x32 RGB images of ten classes, deterministic by (seed, split,
index), so every page works with no download."""

import math

import numpy as np
import torch

SHAPES_CLASSES = ("disc", "ring", "square", "frame", "triangle", "cross", "bar", "stripes", "checkers", "spots")
SHAPES_SIZES = {"train": 10_000, "test": 2_000}
# Per-channel statistics of the shapes train split (tests/test_data.py re-measures them).
SHAPES_MEAN = (0.4905, 0.4942, 0.4908)
SHAPES_STD = (0.2988, 0.3005, 0.2989)

_SPLIT_SALT = {"train": 0x5EED_0001, "test": 0x5EED_0002}
_N_PARAMS = 24  # random numbers drawn per image
_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _uniform(seed, split, index, n_params):
    """Counter-based uniforms in [0, 1): (N, n_params), a pure function of (seed, split, index)."""
    with np.errstate(over="ignore"):
        key = np.uint64(seed * 0x9E3779B97F4A7C15 + _SPLIT_SALT[split] & 0xFFFFFFFFFFFFFFFF)
        z = index.astype(np.uint64)[:, None] * np.uint64(n_params) + np.arange(n_params, dtype=np.uint64)
        z = z + key
        # splitmix64 finaliser
        z = (z + np.uint64(0x9E3779B97F4A7C15)) & _M64
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _M64
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _M64
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _masks(label, u, v, r, p):
    """Foreground masks (N, 32, 32) for one class; u, v are rotated, centred pixel coordinates."""
    rad, box = np.hypot(u, v), np.maximum(abs(u), abs(v))
    patch = box < r
    shape = {
        "disc": lambda: rad < r,
        "ring": lambda: (rad < r) & (rad > 0.6 * r),
        "square": lambda: box < 0.8 * r,
        "frame": lambda: (box < 0.85 * r) & (box > 0.55 * r),
        "triangle": lambda: np.all(
            [u * math.cos(a) + v * math.sin(a) < 0.45 * r for a in (math.pi / 2, math.pi * 7 / 6, math.pi * 11 / 6)], axis=0
        ),
        "cross": lambda: ((abs(u) < 0.25 * r) | (abs(v) < 0.25 * r)) & (box < r),
        "bar": lambda: (abs(u) < 1.1 * r) & (abs(v) < 0.22 * r),
        "stripes": lambda: patch & (np.sin(2 * np.pi * u / p) > 0),
        "checkers": lambda: patch & (np.sin(2 * np.pi * u / p) * np.sin(2 * np.pi * v / p) > 0),
        "spots": lambda: patch & (np.cos(2 * np.pi * u / p) * np.cos(2 * np.pi * v / p) > 0.35),
    }
    return shape[SHAPES_CLASSES[label]]()


def make_shapes(split="train", n=None, seed=0, start=0):
    """The `shapes` data set, vectorised.

    Args:
        split: "train" or "test".
        n: number of images (default: the split's size); images are indexed start .. start+n-1.
        seed: data-set seed; image i is the same for the same (seed, split, i), however many are made.
    Returns:
        images (n, 3, 32, 32) uint8, labels (n,) int64 (balanced: label = index mod 10).
    """
    if split not in _SPLIT_SALT:
        raise ValueError(f"split must be 'train' or 'test', not {split!r}.")
    n = SHAPES_SIZES[split] if n is None else n
    idx = np.arange(start, start + n)
    chunks = [_render(seed, split, idx[i : i + 2048]) for i in range(0, n, 2048)] or [np.zeros((0, 32, 32, 3), np.uint8)]
    images = torch.from_numpy(np.concatenate(chunks)).permute(0, 3, 1, 2).contiguous()
    return images, torch.from_numpy(idx % len(SHAPES_CLASSES)).long()


def _render(seed, split, idx):
    """Images (len(idx), 32, 32, 3) uint8."""
    n = len(idx)
    q = _uniform(seed, split, idx, _N_PARAMS + 32 * 32 * 3)  # (n, P + pixels)
    q, noise = q[:, :_N_PARAMS], (q[:, _N_PARAMS:].reshape(n, 32, 32, 3) - 0.5).astype(np.float32)
    labels = idx % len(SHAPES_CLASSES)
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float64) + 0.5  # (32, 32)

    cx, cy = 10 + 12 * q[:, 0], 10 + 12 * q[:, 1]
    r = 6 + 6 * q[:, 2]
    th = 2 * np.pi * q[:, 3]
    period = 3 + 3 * q[:, 4]
    fg = q[:, 5:8]  # (n, 3) foreground colour
    bg = q[:, 8:11].copy()
    # keep the shape visible: a background too close to the foreground is pushed away from it
    close = np.abs(fg - bg).sum(1) < 0.6
    bg[close] = (fg[close] + 0.5) % 1.0

    # textured background: a random low-frequency wave
    fx, fy, ph = (q[:, 11] - 0.5) * 0.6, (q[:, 12] - 0.5) * 0.6, 2 * np.pi * q[:, 13]
    wave = np.sin(fx[:, None, None] * xx + fy[:, None, None] * yy + ph[:, None, None])  # (n, 32, 32)
    img = (bg[:, None, None, :] * (1 + 0.25 * wave[..., None])).astype(np.float32)  # (n, 32, 32, 3)

    dx, dy = xx[None] - cx[:, None, None], yy[None] - cy[:, None, None]
    c, s = np.cos(th)[:, None, None], np.sin(th)[:, None, None]
    u, v = c * dx + s * dy, -s * dx + c * dy
    rr, pp = r[:, None, None], period[:, None, None]
    for label in range(len(SHAPES_CLASSES)):
        sel = np.flatnonzero(labels == label)
        if len(sel):
            m = _masks(label, u[sel], v[sel], rr[sel], pp[sel])  # (k, 32, 32)
            img[sel] = np.where(m[..., None], fg[sel][:, None, None, :], img[sel])

    # a distractor (70% of images): a small rectangle of a random colour somewhere
    x0, y0 = np.floor(q[:, 14] * 28), np.floor(q[:, 15] * 28)
    w, h = 2 + np.floor(q[:, 16] * 3), 2 + np.floor(q[:, 17] * 3)
    dm = (xx[None] >= x0[:, None, None]) & (xx[None] < (x0 + w)[:, None, None])
    dm &= (yy[None] >= y0[:, None, None]) & (yy[None] < (y0 + h)[:, None, None])
    dm &= (q[:, 18] < 0.7)[:, None, None]
    img = np.where(dm[..., None], q[:, 19:22][:, None, None, :], img)

    img = img + noise * (0.05 + 0.15 * q[:, 22])[:, None, None, None]  # pixel noise of random strength
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)


