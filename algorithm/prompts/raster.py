"""Exact rasterisation of prompt geometry in continuous image indices (z, y, x).

Voxel ``k`` spans ``k - 0.5 .. k + 0.5`` along each axis and its centre is ``k``, as in
``algorithm.geometry``. A line marks every voxel whose cell it passes through (a supercover, in
any orientation and across slices, not a sampling that could skip a voxel it clips); a polygon's
interior is the voxels whose centres it holds (even-odd rule, half-open on its right edges, so
two outlines that share an edge never both claim a voxel), which is how a reference mask labels
voxels, so the training simulator can produce the same seeds from a mask.
"""

from __future__ import annotations

import numpy as np

from algorithm.errors import InputError

#: points of a slice prompt lie at most this far (voxels) from one slice's plane
SLICE_TOLERANCE = 0.5
#: coordinates this close (voxels) to a voxel centre count as on it: world-to-index round trips
#: leave ~1e-12, and an outline drawn through voxel centres must not depend on their sign
SNAP = 1e-6
#: edges per block in the crossing test: bounds its memory (blocks x edges x 8 bytes x a few)
_CROSSING_BLOCK = 2_000_000


def segment_voxels(points: np.ndarray, shape: tuple[int, ...] | np.ndarray) -> np.ndarray:
    """(K, 3) int: the distinct voxels whose cells the polyline through ``points`` ((N, 3)
    continuous indices, N >= 1) passes through, clipped to ``shape``.

    Each segment is cut where it crosses a voxel face (``k + 0.5`` along an axis); the middle of
    each piece lies strictly inside one voxel's cell, so rounding it names that voxel exactly."""
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    if len(pts) == 1:
        return clip_voxels(np.rint(pts), shape)
    a, b = pts[:-1], pts[1:]
    segment_ids, params = [np.arange(len(a))] * 2, [np.zeros(len(a)), np.ones(len(a))]
    for axis in range(3):
        lo, hi = np.minimum(a[:, axis], b[:, axis]), np.maximum(a[:, axis], b[:, axis])
        first = np.floor(lo - 0.5).astype(np.int64) + 1  # first face k + 0.5 above lo
        last = np.ceil(hi - 0.5).astype(np.int64) - 1  # last face below hi
        counts = np.maximum(last - first + 1, 0)
        if counts.sum() == 0:
            continue
        ids = np.repeat(np.arange(len(a)), counts)
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        faces = first[ids] + offsets + 0.5
        delta = b[ids, axis] - a[ids, axis]
        segment_ids.append(ids)
        params.append((faces - a[ids, axis]) / delta)
    ids = np.concatenate(segment_ids)
    t = np.concatenate(params)
    order = np.lexsort((t, ids))
    ids, t = ids[order], t[order]
    same = ids[1:] == ids[:-1]
    mid_ids, mid_t = ids[1:][same], ((t[1:] + t[:-1]) / 2.0)[same]
    middles = a[mid_ids] + mid_t[:, None] * (b[mid_ids] - a[mid_ids])
    voxels = np.concatenate([np.rint(middles), np.rint(pts)])
    return np.unique(clip_voxels(voxels, shape), axis=0)


def clip_voxels(voxels: np.ndarray, shape) -> np.ndarray:
    """Voxel indices as int, clipped into the image (a point on the image's outer face, index
    ``n - 0.5``, rounds to ``n``)."""
    upper = np.asarray(shape, dtype=np.int64) - 1
    return np.clip(np.asarray(voxels, dtype=float).reshape(-1, 3), 0, upper).astype(np.int64)


def slice_of(index: np.ndarray, shape, what: str, prefer: int | None = None) -> tuple[int, int]:
    """(array axis, slice number) of the one image slice all ``index`` points lie in: within
    ``SLICE_TOLERANCE`` voxels of that slice's centre plane (inside its voxels' cells). Of
    several such axes (a line along an image axis lies in two), ``prefer`` if it is one, else
    the flattest."""
    pts = np.asarray(index, dtype=float).reshape(-1, 3)
    number = np.rint((pts.min(axis=0) + pts.max(axis=0)) / 2.0)
    deviation = np.abs(pts - number).max(axis=0)
    axes = [a for a in range(3) if deviation[a] <= SLICE_TOLERANCE + SNAP]
    if not axes:
        spread = pts.max(axis=0) - pts.min(axis=0)
        raise InputError(f"{what} does not lie in one slice of the image: its points are "
                         f"{spread.min():.1f} voxels apart along every image axis (all must lie "
                         f"within {SLICE_TOLERANCE:g} voxel of one slice)")
    axis = prefer if prefer in axes else min(axes, key=lambda a: deviation[a])
    return axis, int(np.clip(number[axis], 0, int(shape[axis]) - 1))


def in_plane_axes(axis: int) -> tuple[int, int]:
    """The two array axes of a slice across ``axis``, in increasing order."""
    return tuple(a for a in range(3) if a != axis)  # type: ignore[return-value]


def polygon_interior(vertices: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: voxel centres (integer row, column) inside the closed polygon through
    ``vertices`` ((N, 2) continuous row, column), by the even-odd rule.

    Scanline fill: each edge crosses the rows ``r`` with ``min <= r < max`` of its end rows
    (so a vertex on a row is counted once), and between each pair of crossings along a row the
    columns ``start <= c < end`` are inside (comparisons within ``SNAP``)."""
    height, width = shape
    r0, c0 = np.asarray(vertices, dtype=float).T
    r1, c1 = np.roll(r0, -1), np.roll(c0, -1)
    first = np.maximum(np.ceil(np.minimum(r0, r1) - SNAP), 0).astype(np.int64)
    last = np.minimum(np.ceil(np.maximum(r0, r1) - SNAP) - 1, height - 1).astype(np.int64)
    counts = np.maximum(last - first + 1, 0)
    out = np.zeros(shape, dtype=bool)
    if counts.sum() == 0:
        return out
    edge = np.repeat(np.arange(len(r0)), counts)
    rows = first[edge] + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    cols = c0[edge] + (rows - r0[edge]) * (c1[edge] - c0[edge]) / (r1[edge] - r0[edge])
    order = np.lexsort((cols, rows))
    rows, cols = rows[order], cols[order]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")
    starts, ends = rank % 2 == 0, rank % 2 == 1
    # every row has an even number of crossings (a closed polygon), so pairs line up
    begin = np.clip(np.ceil(cols[starts] - SNAP), 0, width).astype(np.int64)
    stop = np.clip(np.ceil(cols[ends] - SNAP), 0, width).astype(np.int64)
    change = np.zeros((height, width + 1), dtype=np.int64)
    np.add.at(change, (rows[starts], begin), 1)
    np.add.at(change, (rows[ends], stop), -1)
    return np.cumsum(change, axis=1)[:, :width] > 0


def polygon_area(vertices: np.ndarray) -> float:
    """Unsigned area of a closed 2D polygon (shoelace)."""
    r, c = np.asarray(vertices, dtype=float).T
    return 0.5 * abs(float(np.dot(r, np.roll(c, -1)) - np.dot(c, np.roll(r, -1))))


def first_crossing(polygons: list[np.ndarray]) -> tuple[int, int] | None:
    """(i, j) of two polygons (closed, (N, 2) vertices each) whose edges cross, or (i, i) of one
    that crosses itself; None when no two edges cross. Edges that only touch (at a vertex, or
    along a shared line) do not count as crossing."""
    starts = np.concatenate([np.asarray(p, dtype=float) for p in polygons])
    ends = np.concatenate([np.roll(np.asarray(p, dtype=float), -1, axis=0) for p in polygons])
    owner = np.concatenate([np.full(len(p), i) for i, p in enumerate(polygons)])
    n = len(starts)
    block = max(1, _CROSSING_BLOCK // max(n, 1))
    for lo in range(0, n, block):
        p, q = starts[lo:lo + block, None, :], ends[lo:lo + block, None, :]
        r, s = starts[None], ends[None]
        d1, d2 = _orient(p, q, r), _orient(p, q, s)
        d3, d4 = _orient(r, s, p), _orient(r, s, q)
        crossing = (d1 * d2 < 0) & (d3 * d4 < 0)
        hit = np.argwhere(crossing)
        if len(hit):
            i, j = hit[0]
            return tuple(sorted((int(owner[lo + i]), int(owner[j]))))  # type: ignore[return-value]
    return None


def _orient(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Twice the signed area of triangles (a, b, c): > 0 counter-clockwise, 0 collinear."""
    return ((b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1])
            - (b[..., 1] - a[..., 1]) * (c[..., 0] - a[..., 0]))
