"""Maximum axial diameter (= RECIST long axis) and RECIST short axis of a 3D mask, in mm.

Convention: every axial slice of the mask (all its connected components together, as one lesion)
is reduced to the centres of its boundary pixels, in mm. The slice's long axis is its maximum
Feret diameter (largest centre-to-centre distance); the short axis is the longest chord of the
convex hull of those centres perpendicular to the long axis. The reported pair comes from the
slice with the largest long axis (ties: larger short axis, then lower slice index). Distances are
between voxel centres, no voxel width is added: a one-voxel lesion measures 0 mm and a run of n
voxels (n - 1) x spacing. For convex lesions the short axis equals the caliper measurement
perpendicular to the long axis; for concave ones the hull bridges the concavity, as a caliper does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError
from scipy.spatial.distance import pdist, squareform


@dataclass(frozen=True)
class AxialDiameters:
    long_mm: float
    short_mm: float
    slice_index: int | None  # index along the axial axis; None for an empty mask


def boundary_points_mm(slice_mask: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """(N, 2) mm coordinates of the centres of a 2D mask's 4-connected boundary pixels."""
    mask = np.asarray(slice_mask, dtype=bool)
    edge = mask & ~ndimage.binary_erosion(mask, border_value=0)
    return np.argwhere(edge) * np.asarray(spacing, dtype=float)


def _perpendicular_chord(hull: np.ndarray, u: np.ndarray) -> float:
    """Longest chord of a convex polygon (vertices in order) perpendicular to unit vector ``u``.

    The chord length is a concave, piecewise linear function of the position t along ``u`` with
    breakpoints at the vertices, so its maximum is at one of the vertices' t.
    """
    v = np.array([-u[1], u[0]])
    t, s = hull @ u, hull @ v
    t_next, s_next = np.roll(t, -1), np.roll(s, -1)
    eps = 1e-9 * max(float(np.ptp(t)), 1.0)
    best = 0.0
    for t0 in t:
        lo, hi = np.minimum(t, t_next), np.maximum(t, t_next)
        crossing = (lo - eps <= t0) & (t0 <= hi + eps) & (hi - lo > eps)
        frac = (t0 - t[crossing]) / (t_next[crossing] - t[crossing])
        values = np.concatenate(
            [s[crossing] + frac * (s_next[crossing] - s[crossing]), s[np.abs(t - t0) <= eps]]
        )
        best = max(best, float(values.max() - values.min()))
    return best


def feret_diameters(points: np.ndarray) -> tuple[float, float]:
    """(long, short) axis of a 2D point set: max Feret diameter and longest perpendicular chord."""
    pts = np.unique(np.asarray(points, dtype=float).reshape(-1, 2), axis=0)
    if len(pts) < 2:
        return 0.0, 0.0
    try:
        hull = pts[ConvexHull(pts).vertices]
    except QhullError:  # all points on one line: a segment has no width
        centred = pts - pts.mean(axis=0)
        direction = np.linalg.svd(centred, full_matrices=False)[2][0]
        return float(np.ptp(centred @ direction)), 0.0
    distances = squareform(pdist(hull))
    i, j = np.unravel_index(np.argmax(distances), distances.shape)
    long_mm = float(distances[i, j])
    u = (hull[j] - hull[i]) / long_mm
    return long_mm, _perpendicular_chord(hull, u)


def axial_diameters(
    mask: np.ndarray, spacing: Sequence[float], axial_axis: int = 0
) -> AxialDiameters:
    """Long and short axis in the axial slice (along ``axial_axis``) where the lesion is longest."""
    volume = np.asarray(mask, dtype=bool)
    if volume.ndim != 3 or len(spacing) != 3:
        raise ValueError("axial diameters need a 3D mask and three spacings")
    if not volume.any():
        return AxialDiameters(long_mm=0.0, short_mm=0.0, slice_index=None)
    box = ndimage.find_objects(volume.astype(np.uint8))[0]
    volume = np.moveaxis(volume[box], axial_axis, 0)
    in_plane = [float(s) for k, s in enumerate(spacing) if k != axial_axis]
    offset = box[axial_axis].start
    best = (-1.0, -1.0, 0)
    for k in np.flatnonzero(volume.any(axis=(1, 2))):
        long_mm, short_mm = feret_diameters(boundary_points_mm(volume[k], in_plane))
        if (long_mm, short_mm) > best[:2]:
            best = (long_mm, short_mm, int(k) + offset)
    return AxialDiameters(long_mm=best[0], short_mm=best[1], slice_index=best[2])
