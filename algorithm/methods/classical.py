"""A weight-free baseline and fallback: geodesic competition between lesion and background seeds.

Lesion seeds are the positive clicks and the straight segments from their centroid to each click
(inside any star-shaped lesion the user outlined); background seeds are the grid voxels outside
the clicks' volume of interest (past its faces that a prompt bounds) and the negative clicks.
Each voxel goes to the seed set that is geodesically closer, so the boundary settles on intensity
edges between the two (GeoS-style).

Other prompts add their seed voxels (``GridSeeds``): known and likely tumour to the lesion
seeds, known background to the background seeds. Their number costs nothing (a geodesic
distance from a whole annotated slice takes the same sweeps as from one voxel), and an
annotated slice's background, right beside its tumour, puts the boundary on that slice where
the user drew it; the slices next to it follow its edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from algorithm.guidance.encoding import seed_mask
from algorithm.guidance.geodesic import geodesic_distance
from algorithm.methods.base import GridCase


@dataclass
class GeodesicSegmenter:
    name: str = "classical"
    grid_size: int = 64
    #: cost of a full-contrast edge (1 normalised unit) relative to crossing the whole grid
    relative_intensity_weight: float = 1.0
    smoothing_sigma: float = 1.0  #: grid voxels, tames noise before the geodesic
    device: str = "cpu"

    def predict(self, case: GridCase) -> np.ndarray:
        shape = case.image.shape
        image = ndimage.gaussian_filter(case.image, self.smoothing_sigma / case.spacing)
        weight = self.relative_intensity_weight * max(shape)
        fg = seed_mask(star_points(case.positive), shape) if len(case.positive) else np.zeros(
            shape, bool)
        bg = outside_box(shape, *_bounded_faces(case)) | seed_mask(case.negative, shape)
        if case.seeds is not None:
            fg |= case.seeds.positive
            bg |= case.seeds.background
        fg &= ~bg
        if not fg.any():
            return np.zeros(shape, np.float32)
        d_fg = geodesic_distance(image, fg, case.spacing, weight, device=self.device)
        if not bg.any():
            return np.ones(shape, np.float32)
        d_bg = geodesic_distance(image, bg, case.spacing, weight, device=self.device)
        total = d_fg + d_bg
        return np.where(total > 0, d_bg / np.maximum(total, 1e-6), 0.5).astype(np.float32)


def star_points(points: np.ndarray, step: float = 0.5) -> np.ndarray:
    """The clicks plus points along the segments joining their centroid to each click."""
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    centre = pts.mean(axis=0)
    out = [pts, centre[None]]
    for p in pts:
        n = max(2, int(np.ceil(np.linalg.norm(p - centre) / step)) + 1)
        out.append(centre + np.linspace(0.0, 1.0, n)[:, None] * (p - centre))
    return np.concatenate(out)


def _bounded_faces(case: GridCase) -> tuple[np.ndarray, np.ndarray]:
    """The box outside which background seeds lie: the VOI, with its faces that no prompt
    bounds moved out to the grid's border. Outside a face a prompt bounds (clicks, a box's
    edges) lies background; past a face that is only a prior (a box's slice says nothing of the
    lesion's depth) the lesion may go on to the grid's outermost voxels, and the pipeline grows
    the VOI when the mask reaches that face. (No background there at all lets a low-contrast
    lesion's mask run on through similar tissue, growing the VOI each time.)"""
    lo, hi = np.asarray(case.voi_lo, dtype=float), np.asarray(case.voi_hi, dtype=float)
    if case.voi_bounded is None:
        return lo, hi
    border_lo, border_hi = np.full(3, 0.5), np.asarray(case.image.shape, dtype=float) - 1.5
    return (np.where(case.voi_bounded[:, 0], lo, np.minimum(lo, border_lo)),
            np.where(case.voi_bounded[:, 1], hi, np.maximum(hi, border_hi)))


def outside_box(shape: tuple[int, ...], lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    inside = np.ones(shape, dtype=bool)
    for axis, n in enumerate(shape):
        coord = np.arange(n)
        keep = (coord >= lo[axis]) & (coord <= hi[axis])
        view = [None, None, None]
        view[axis] = slice(None)
        inside &= keep[tuple(view)]
    return ~inside
