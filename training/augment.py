"""Augmentation on the model grid, nnU-Net style but cheap enough for CPU training.

Spatial variety comes mostly from the sampling itself (random clicks move the VOI and its scale;
random crops of backgrounds); here: flips of all channels, and intensity changes of the image
channel before the guidance is computed from it (so the geodesic map sees the same image).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def augment_intensity(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = image.astype(np.float32, copy=True)
    if rng.random() < 0.15:
        out += rng.normal(0.0, rng.uniform(0.0, 0.1), out.shape).astype(np.float32)
    if rng.random() < 0.2:
        out = ndimage.gaussian_filter(out, rng.uniform(0.5, 1.0))
    if rng.random() < 0.15:
        out *= rng.uniform(0.75, 1.25)
    if rng.random() < 0.15:
        mean = out.mean()
        out = (out - mean) * rng.uniform(0.75, 1.25) + mean
    if rng.random() < 0.3:
        lo, hi = float(out.min()), float(out.max())
        if hi - lo > 1e-6:
            unit = (out - lo) / (hi - lo)
            out = unit ** rng.uniform(0.7, 1.5) * (hi - lo) + lo
            if rng.random() < 0.1:  # inverted contrast: another sequence, same lesion
                out = hi + lo - out
    return out.astype(np.float32)


def random_flip(x: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    for axis in range(3):
        if rng.random() < 0.5:
            x = np.flip(x, axis=axis + 1)
            y = np.flip(y, axis=axis)
    return np.ascontiguousarray(x), np.ascontiguousarray(y)
