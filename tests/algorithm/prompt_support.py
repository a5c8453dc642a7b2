"""Prompts drawn from a reference mask the way a user draws them, as platform JSON in world mm
(mapped with SimpleITK), for the end-to-end tests of every prompt kind."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from algorithm.measurements import measure_lesion
from algorithm.phantom import make_phantom

V = {"major": 1, "minor": 0}


def small_phantom(modality: str = "CT"):
    """An oblique, anisotropic phantom small enough for quick end-to-end runs."""
    return make_phantom(modality, shape=(24, 64, 64), spacing_zyx=(3.0, 1.0, 1.0),
                        radii_mm=(20.0, 16.0, 12.0))


def world(image: sitk.Image, index_zyx) -> list[list[float]]:
    return [list(image.TransformContinuousIndexToPhysicalPoint([float(v) for v in p[::-1]]))
            for p in np.asarray(index_zyx, dtype=float).reshape(-1, 3)]


def largest_slice(mask: np.ndarray) -> int:
    return int(mask.sum(axis=(1, 2)).argmax())


def box_value(image: sitk.Image, mask: np.ndarray, k: int | None = None) -> dict:
    """The tumour's extent on its largest slice (or slice ``k``) across array axis 0, to the
    voxels' outer edges."""
    k = largest_slice(mask) if k is None else k
    rows, cols = np.nonzero(mask[k])
    y0, y1, x0, x1 = rows.min() - 0.5, rows.max() + 0.5, cols.min() - 0.5, cols.max() + 0.5
    corners = world(image, [(k, y0, x0), (k, y0, x1), (k, y1, x1), (k, y1, x0)])
    return {"type": "2D bounding box", "corners": corners, "version": V}


def recist_value(image: sitk.Image, mask: np.ndarray) -> dict:
    """The product's own RECIST measurement (long and short axis on the axial slice)."""
    measured = measure_lesion(mask.astype(bool), image)
    lines = [{"name": name, "start": list(axis.start), "end": list(axis.end)}
             for name, axis in (("long", measured.long_axis), ("short", measured.short_axis))]
    return {"type": "Multiple distance measurements", "lines": lines, "version": V}


def outline_value(image: sitk.Image, mask: np.ndarray, angles: int = 72) -> dict:
    """The largest slice's contour: from its centroid, the boundary in each direction (the
    phantom's slices are star-shaped), half a voxel past the last tumour voxel."""
    k = largest_slice(mask)
    plane = mask[k].astype(bool)
    centre = np.argwhere(plane).mean(axis=0)
    points = []
    for theta in np.linspace(0.0, 2.0 * np.pi, angles, endpoint=False):
        step = np.array([np.sin(theta), np.cos(theta)])
        r = 0.0
        while True:
            cell = np.rint(centre + (r + 0.25) * step).astype(int)
            if (cell < 0).any() or (cell >= plane.shape).any() or not plane[tuple(cell)]:
                break
            r += 0.25
        points.append((k, *(centre + (r + 0.25) * step)))
    polygon = {"name": "tumor", "seed_point": world(image, [points[0]])[0],
               "path_points": world(image, points), "sub_type": "poly", "groups": []}
    return {"type": "Multiple polygons", "polygons": [polygon], "version": V}


def scribbles_value(image: sitk.Image, mask: np.ndarray) -> dict:
    """Two tumour strokes, short of the border: over the middle half of the largest slice's
    central row, and across the slices (the middle half of the lesion's run through its
    centre); a background stroke just beyond the tumour's top edge on the largest slice."""
    k = largest_slice(mask)
    rows, cols = np.nonzero(mask[k])
    row = int(np.rint(rows.mean()))
    inside = np.flatnonzero(mask[k, row])
    lo, hi = inside.min(), inside.max()
    in_plane = [(k, row, lo + 0.25 * (hi - lo)), (k, row + 1.5, (lo + hi) / 2),
                (k, row, lo + 0.75 * (hi - lo))]
    column = int(np.rint(cols.mean()))
    run = np.flatnonzero(mask[:, row, column])
    z0, z1 = run.min(), run.max()
    across = [(z0 + 0.25 * (z1 - z0), row - 1.0, column), (z0 + 0.75 * (z1 - z0), row + 1.0,
                                                          column + 1.0)]
    above = rows.min() - 3
    outside = [(k, above, cols.min()), (k, above, cols.max())]
    lines = [{"name": "tumor", "seed_points": [],
              "path_point_lists": [world(image, in_plane), world(image, across)]},
             {"name": "background", "seed_points": [],
              "path_point_lists": [world(image, outside)]}]
    return {"type": "Multiple lines", "lines": lines, "version": V}


def slice_mask_image(image: sitk.Image, mask: np.ndarray) -> sitk.Image:
    """The reference mask on its largest slice only, on the image's grid."""
    annotated = np.zeros(mask.shape, np.uint8)
    k = largest_slice(mask)
    annotated[k] = mask[k]
    out = sitk.GetImageFromArray(annotated)
    out.CopyInformation(image)
    return out
