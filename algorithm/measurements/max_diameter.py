"""Maximum 3D diameter of a mask: the largest distance between two of its voxel centres, in mm.

Exact, and fast for large lesions. The farthest pair of a point set are vertices of its convex
hull. A hull vertex is the first or last voxel of its row along the last array axis and is not the
midpoint of two lesion voxels (its opposite neighbours in any of the 13 directions of the
26-neighbourhood), so the hull is built from the boundary voxels that pass both tests, in mm with
the mask's (anisotropic) spacing, and distances are taken among its vertices only (pruned by a
bound, see ``farthest_distance``). Flat lesions (all centres in one plane or on one line) get the
hull in that plane. As for the RECIST axes, no voxel width is added: one voxel measures 0 mm.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.spatial import ConvexHull
from scipy.spatial.distance import cdist

from algorithm.measurements.bounding_box import bounding_box

# Rows of the distance matrix computed at once (bounds memory at BLOCK x vertices doubles).
BLOCK = 1024

# The 13 directions of a 26-neighbourhood up to sign: a voxel with both neighbours along one of
# them is the midpoint of two lesion voxels, so it is not a hull vertex.
_OFFSETS = [np.subtract(d, 1) for d in np.ndindex(3, 3, 3)]
HALF_NEIGHBOURHOOD = np.array([d for d in _OFFSETS if tuple(d) > (0, 0, 0)])  # one of each +-d


def extreme_voxel_candidates(mask: np.ndarray) -> np.ndarray:
    """(N, 3) integer indices of voxels that may be vertices of the hull of the voxel centres.

    Every hull vertex is the first or last voxel of its row along the last axis and is not the
    midpoint of two lesion voxels that are its opposite neighbours; the rest are dropped.
    """
    volume = np.asarray(mask, dtype=bool)
    if volume.ndim != 3:
        raise ValueError(f"a 3D mask is needed, got {volume.ndim} dimensions")
    if not volume.any():
        return np.zeros((0, 3), dtype=np.int64)
    box = bounding_box(volume)
    padded = np.pad(volume[box], 1)
    rows = np.argwhere(padded.any(axis=2))
    first = np.argmax(padded[rows[:, 0], rows[:, 1]], axis=1)
    last = padded.shape[2] - 1 - np.argmax(padded[rows[:, 0], rows[:, 1], ::-1], axis=1)
    single = first == last
    points = np.concatenate(
        [np.column_stack([rows, first]), np.column_stack([rows, last])[~single]]
    )
    keep = np.ones(len(points), dtype=bool)
    for step in HALF_NEIGHBOURHOOD:
        ahead, behind = points + step, points - step
        keep &= ~(padded[ahead[:, 0], ahead[:, 1], ahead[:, 2]]
                  & padded[behind[:, 0], behind[:, 1], behind[:, 2]])
    return points[keep] - 1 + np.array([s.start for s in box])


def hull_vertices(points: np.ndarray) -> np.ndarray:
    """The points that are vertices of their convex hull (a superset on degenerate sets is fine
    for a farthest pair; here: the hull within the points' own plane or line)."""
    if len(points) < 3:
        return points
    centred = points - points.mean(axis=0)
    _, singular, basis = np.linalg.svd(centred, full_matrices=False)
    rank = int(np.sum(singular > 1e-9 * max(float(singular[0]), 1e-12)))
    if rank == 3:
        return points[ConvexHull(points).vertices]
    if rank == 2:
        return points[ConvexHull(centred @ basis[:2].T).vertices]
    along = centred @ basis[0]
    return points[[int(np.argmin(along)), int(np.argmax(along))]]


def farthest_distance(points: np.ndarray) -> float:
    """Largest pairwise Euclidean distance in an (N, D) point set (0 for fewer than two).

    Two farthest-point sweeps find a long pair (length d0, midpoint c). A longer pair (x, y)
    needs |x - c| + |y - c| >= |x - y| > d0, so both lie farther than d0 - max |p - c| from c:
    only those are compared pairwise (on a round lesion, few; never a pair is missed).
    """
    if len(points) < 2:
        return 0.0
    start = points[int(np.argmax(((points - points[0]) ** 2).sum(axis=1)))]
    end = points[int(np.argmax(((points - start) ** 2).sum(axis=1)))]
    lower = float(np.sqrt(((end - start) ** 2).sum()))
    radius = np.sqrt(((points - (start + end) / 2) ** 2).sum(axis=1))
    candidates = points[radius >= lower - float(radius.max()) - 1e-9 * max(lower, 1.0)]
    best = lower**2
    for first in range(0, len(candidates) - 1, BLOCK):
        block = cdist(candidates[first : first + BLOCK], candidates[first:], "sqeuclidean")
        best = max(best, float(block.max()))
    return float(np.sqrt(best))


def max_3d_diameter_mm(mask: np.ndarray, spacing: Sequence[float]) -> float:
    """Largest distance between two voxel centres of ``mask`` in mm (``spacing``: array order)."""
    if len(spacing) != 3:
        raise ValueError(f"three spacings are needed, got {tuple(spacing)}")
    points = extreme_voxel_candidates(mask) * np.asarray(spacing, dtype=float)
    return farthest_distance(hull_vertices(points))
