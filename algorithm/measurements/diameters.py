"""RECIST axes of a 3D mask: the maximum in-plane diameter (long axis) and the perpendicular short
axis, in mm, with their end points.

Convention (shared by the algorithm's measurements and evaluation/'s scores: changing it changes
both): every slice of the mask across ``axial_axis`` (all its connected components together, as
one lesion) is reduced to the centres of its boundary pixels, in mm. The slice's long axis is
their maximum Feret diameter (largest centre-to-centre distance); the short axis is the longest
chord of the convex hull of those centres perpendicular to the long axis. The reported pair comes
from the slice with the largest long axis (ties: larger short axis, then lower slice index).
Distances are between voxel centres, no voxel width is added: a one-voxel lesion measures 0 mm
and a run of n voxels (n - 1) x spacing. For convex lesions the short axis equals the caliper
measurement perpendicular to the long axis; for concave ones the hull bridges the concavity, as a
caliper does.

End points are continuous array indices (axis order of the mask). The long axis joins two
boundary voxel centres (ties: the first pair of hull vertices in Qhull's order); the short axis's
ends lie on edges of the hull (a voxel centre or a point between two), so that their distance is
exactly the reported short axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError
from scipy.spatial.distance import pdist, squareform

from algorithm.measurements.bounding_box import bounding_box

IndexPoint = tuple[float, float, float]


@dataclass(frozen=True)
class PlanarAxes:
    """Long and short axis of a 2D point set; ends are (start, end) in the points' mm frame."""

    long_mm: float
    short_mm: float
    long_ends: tuple[np.ndarray, np.ndarray]
    short_ends: tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class AxialDiameters:
    long_mm: float
    short_mm: float
    slice_index: int | None  # index along the axial axis; None for an empty mask
    # (start, end) as continuous array indices; None for an empty mask
    long_ends_index: tuple[IndexPoint, IndexPoint] | None = None
    short_ends_index: tuple[IndexPoint, IndexPoint] | None = None


def boundary_points_mm(slice_mask: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """(N, 2) mm coordinates of the centres of a 2D mask's 4-connected boundary pixels."""
    mask = np.asarray(slice_mask, dtype=bool)
    edge = mask & ~ndimage.binary_erosion(mask, border_value=0)
    return np.argwhere(edge) * np.asarray(spacing, dtype=float)


def _perpendicular_chord(
    hull: np.ndarray, u: np.ndarray
) -> tuple[float, tuple[np.ndarray, np.ndarray]]:
    """Longest chord of a convex polygon (vertices in order) perpendicular to unit vector ``u``,
    and its (start, end): the end with the smaller coordinate along ``u``'s normal first.

    The chord length is a concave, piecewise linear function of the position t along ``u`` with
    breakpoints at the vertices, so its maximum is at one of the vertices' t (ties: the first).
    All vertices are tried at once: row r holds the chord at vertex r's t, from the edges that
    cross it and the vertices on it.
    """
    v = np.array([-u[1], u[0]])
    t, s = hull @ u, hull @ v
    t_next, s_next = np.roll(t, -1), np.roll(s, -1)
    eps = 1e-9 * max(float(np.ptp(t)), 1.0)
    t0 = t[:, None]
    lo, hi = np.minimum(t, t_next), np.maximum(t, t_next)
    crossing = (lo - eps <= t0) & (t0 <= hi + eps) & (hi - lo > eps)
    with np.errstate(divide="ignore", invalid="ignore"):  # non-crossing edges are masked out
        on_edge = s + (t0 - t) / (t_next - t) * (s_next - s)
    on_vertex = np.abs(t - t0) <= eps  # always holds the row's own vertex
    top = np.maximum(np.where(crossing, on_edge, -np.inf).max(axis=1),
                     np.where(on_vertex, s, -np.inf).max(axis=1))
    bottom = np.minimum(np.where(crossing, on_edge, np.inf).min(axis=1),
                        np.where(on_vertex, s, np.inf).min(axis=1))
    lengths = top - bottom
    best = int(np.argmax(lengths))
    if not lengths[best] > 0.0:
        return 0.0, (hull[0], hull[0])
    ends = (t[best] * u + bottom[best] * v, t[best] * u + top[best] * v)
    return float(lengths[best]), ends


def feret_axes(points: np.ndarray) -> PlanarAxes:
    """Long axis (max Feret diameter) and longest perpendicular chord of a 2D point set (N >= 1)."""
    pts = np.unique(np.asarray(points, dtype=float).reshape(-1, 2), axis=0)
    if len(pts) == 0:
        raise ValueError("feret_axes needs at least one point")
    if len(pts) == 1:
        return PlanarAxes(0.0, 0.0, (pts[0], pts[0]), (pts[0], pts[0]))
    try:
        hull = pts[ConvexHull(pts).vertices]
    except QhullError:  # all points on one line: a segment has no width
        centred = pts - pts.mean(axis=0)
        direction = np.linalg.svd(centred, full_matrices=False)[2][0]
        along = centred @ direction
        start, end = pts[np.argmin(along)], pts[np.argmax(along)]
        return PlanarAxes(float(np.ptp(along)), 0.0, (start, end), (start, start))
    distances = squareform(pdist(hull))
    i, j = np.unravel_index(np.argmax(distances), distances.shape)
    long_mm = float(distances[i, j])
    u = (hull[j] - hull[i]) / long_mm
    short_mm, short_ends = _perpendicular_chord(hull, u)
    return PlanarAxes(long_mm, short_mm, (hull[i], hull[j]), short_ends)


def feret_diameters(points: np.ndarray) -> tuple[float, float]:
    """(long, short) axis of a 2D point set: max Feret diameter and longest perpendicular chord."""
    if np.asarray(points).size == 0:
        return 0.0, 0.0
    axes = feret_axes(points)
    return axes.long_mm, axes.short_mm


def _slice_diagonals_mm(volume: np.ndarray, in_plane: np.ndarray) -> np.ndarray:
    """Per slice (axis 0), the diagonal in mm of its pixels' bounding box; -1 where empty."""
    out = np.full(volume.shape[0], -1.0)
    extents = []
    for axis in (2, 1):  # rows present (reduce over columns), then columns present
        present = volume.any(axis=axis)
        first = np.argmax(present, axis=1)
        last = present.shape[1] - 1 - np.argmax(present[:, ::-1], axis=1)
        extents.append((last - first) * 1.0)
    occupied = volume.any(axis=(1, 2))
    diagonal = np.hypot(extents[0] * in_plane[0], extents[1] * in_plane[1])
    out[occupied] = diagonal[occupied]
    return out


def axial_diameters(
    mask: np.ndarray, spacing: Sequence[float], axial_axis: int = 0
) -> AxialDiameters:
    """Long and short axis in the slice across ``axial_axis`` where the lesion is longest."""
    volume = np.asarray(mask, dtype=bool)
    if volume.ndim != 3 or len(spacing) != 3:
        raise ValueError("axial diameters need a 3D mask and three spacings")
    if not volume.any():
        return AxialDiameters(long_mm=0.0, short_mm=0.0, slice_index=None)
    box = bounding_box(volume)
    volume = np.moveaxis(volume[box], axial_axis, 0)
    in_plane_axes = [k for k in range(3) if k != axial_axis]  # moveaxis keeps their order
    in_plane = np.array([float(spacing[k]) for k in in_plane_axes])
    offset = box[axial_axis].start
    best, best_axes = (-1.0, -1.0, 0), None
    # Slices in decreasing order of their bounding box's diagonal, which no long axis exceeds:
    # once it falls below the best long axis, no later slice can win (exactly the result of
    # measuring every slice, ties included, at a fraction of the cost for a large lesion).
    bound = _slice_diagonals_mm(volume, in_plane)
    for k in sorted(np.flatnonzero(bound >= 0.0), key=lambda k: (-bound[k], k)):
        if bound[k] * (1.0 + 1e-9) + 1e-9 < best[0]:
            break
        axes = feret_axes(boundary_points_mm(volume[k], in_plane))
        candidate = (axes.long_mm, axes.short_mm, int(k) + offset)
        if candidate[:2] > best[:2] or (candidate[:2] == best[:2] and candidate[2] < best[2]):
            best, best_axes = candidate, axes

    def to_index(point_mm: np.ndarray) -> IndexPoint:
        index = [0.0, 0.0, 0.0]
        index[axial_axis] = float(best[2])
        for axis, value in zip(in_plane_axes, point_mm / in_plane):
            index[axis] = float(value) + box[axis].start
        return (index[0], index[1], index[2])

    assert best_axes is not None  # the mask is non-empty, so some slice was measured
    return AxialDiameters(
        long_mm=best[0],
        short_mm=best[1],
        slice_index=best[2],
        long_ends_index=(to_index(best_axes.long_ends[0]), to_index(best_axes.long_ends[1])),
        short_ends_index=(to_index(best_axes.short_ends[0]), to_index(best_axes.short_ends[1])),
    )
