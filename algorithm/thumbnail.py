"""A PNG a radiologist can judge a mask by at a glance: three slices through the lesion.

Three square panels side by side, each ``panel`` pixels and ``field_mm`` wide in both
directions (so the voxels' physical aspect ratio shows, whatever the spacing): the slices across
array axes 0, 1 and 2 through the lesion's centre (its bounding box's middle voxel), i.e. the
axial, coronal and sagittal slices of a usual axial scan, in the image's own array axes (not
resampled to the patient's axes on an oblique scan). Where array axis 0 runs down a panel it is
drawn with higher indices at the top (superior up for a usual CT). Intensities: CT in a
soft-tissue window (level 40, width 400 HU), MR between the 1st and 99th percentiles of the
three slices. The mask's outline is drawn in ``OUTLINE_RGB``. Pillow and numpy only (the
algorithm container has no matplotlib); nearest-neighbour sampling, so no new intensities.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from algorithm.geometry import spacing_zyx
from algorithm.io.atomic import write_atomic
from algorithm.measurements.bounding_box import bounding_box
from algorithm.preprocessing import Modality

OUTLINE_RGB = (255, 40, 40)
CT_SOFT_TISSUE = (40.0 - 200.0, 40.0 + 200.0)  #: level 40, width 400 HU
MR_PERCENTILES = (1.0, 99.0)
PANEL_PX = 256
MIN_FIELD_MM = 40.0
#: the field of view is this many times the lesion's largest extent (at least MIN_FIELD_MM)
FIELD_PER_EXTENT = 2.0


def thumbnail_rgb(image: sitk.Image, mask: np.ndarray, modality: Modality,
                  panel: int = PANEL_PX) -> np.ndarray:
    """(panel, 3 panel, 3) uint8: the three slices with the outline (see the module)."""
    array = sitk.GetArrayViewFromImage(image)
    if array.ndim != 3 or array.shape != mask.shape:
        raise ValueError(f"a 3D image and a mask of its shape are needed: {array.shape}, "
                         f"{mask.shape}")
    spacing = spacing_zyx(image)
    centre, field = _view(mask, spacing)
    planes = [_sample(array, mask, centre, spacing, axis, field, panel) for axis in range(3)]
    lo, hi = _window(np.concatenate([p[0].ravel() for p in planes]), modality)
    panels = [_draw(values, outline_of(labels), lo, hi) for values, labels in planes]
    return np.concatenate(panels, axis=1)


def write_thumbnail(image: sitk.Image, mask: np.ndarray, modality: Modality, path: Path,
                    panel: int = PANEL_PX) -> Path:
    from PIL import Image

    rgb = thumbnail_rgb(image, mask, modality, panel)
    return write_atomic(path, lambda tmp: Image.fromarray(rgb, "RGB").save(tmp, format="PNG"),
                        ".png", "thumbnail")


def outline_of(labels: np.ndarray) -> np.ndarray:
    """The mask's pixels that touch a background pixel (4-connected): a one-pixel outline."""
    labels = np.asarray(labels, dtype=bool)
    return labels & ~ndimage.binary_erosion(labels, border_value=0)


def _view(mask: np.ndarray, spacing: np.ndarray) -> tuple[np.ndarray, float]:
    """The lesion's centre (array index) and the field of view in mm; the image's centre and
    its largest extent for an empty mask."""
    if not np.any(mask):
        shape = np.asarray(mask.shape)
        return (shape - 1) / 2.0, float(np.max(shape * spacing))
    box = bounding_box(np.asarray(mask) != 0)
    lo = np.array([s.start for s in box], dtype=float)
    hi = np.array([s.stop - 1 for s in box], dtype=float)
    extent = float(np.max((hi - lo + 1) * spacing))
    return np.round((lo + hi) / 2.0), max(MIN_FIELD_MM, FIELD_PER_EXTENT * extent)


def _sample(array: np.ndarray, mask: np.ndarray, centre: np.ndarray, spacing: np.ndarray,
            axis: int, field: float, panel: int) -> tuple[np.ndarray, np.ndarray]:
    """(values, labels) on the panel's pixels: the slice across ``axis`` through ``centre``,
    ``field`` mm wide, by nearest neighbour; outside the image: NaN values, no label."""
    rows_axis, cols_axis = (a for a in range(3) if a != axis)
    offsets = (np.arange(panel) + 0.5 - panel / 2.0) * (field / panel)  # mm from the centre
    row_offsets = -offsets if rows_axis == 0 else offsets  # axis 0 upward
    rows = np.rint(centre[rows_axis] + row_offsets / spacing[rows_axis]).astype(int)
    cols = np.rint(centre[cols_axis] + offsets / spacing[cols_axis]).astype(int)
    inside = ((rows >= 0) & (rows < array.shape[rows_axis]))[:, None] & (
        (cols >= 0) & (cols < array.shape[cols_axis]))[None, :]
    index = [np.full((panel, panel), int(centre[axis]))] * 3
    index[rows_axis] = np.broadcast_to(np.clip(rows, 0, array.shape[rows_axis] - 1)[:, None],
                                       (panel, panel))
    index[cols_axis] = np.broadcast_to(np.clip(cols, 0, array.shape[cols_axis] - 1)[None, :],
                                       (panel, panel))
    values = np.where(inside, array[tuple(index)].astype(np.float32), np.nan)
    labels = inside & (np.asarray(mask)[tuple(index)] != 0)
    return values, labels


def _window(values: np.ndarray, modality: Modality) -> tuple[float, float]:
    if modality == "CT":
        return CT_SOFT_TISSUE
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(finite, MR_PERCENTILES))
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def _draw(values: np.ndarray, outline: np.ndarray, lo: float, hi: float) -> np.ndarray:
    grey = np.clip((np.nan_to_num(values, nan=lo) - lo) / (hi - lo), 0.0, 1.0)
    rgb = np.repeat(np.rint(grey * 255.0).astype(np.uint8)[..., None], 3, axis=2)
    rgb[outline] = OUTLINE_RGB
    return rgb
