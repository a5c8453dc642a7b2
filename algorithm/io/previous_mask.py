"""The previous refinement step's mask, checked against the image it is meant to refine.

The pipeline maps the previous mask onto the model grid through the image's own geometry
(``algorithm.geometry.mask_to_grid(..., like=image)``), so a mask on another grid would land in
the wrong place without any error: it must have the image's size, spacing, origin and
direction, and be binary. Each refusal says what differs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from algorithm.errors import InputError
from algorithm.io.images import read_image

#: Masks are binary; 255 is accepted as the foreground value some viewers write.
FOREGROUND_VALUES = (1, 255)
#: Spacing and direction may differ by float rounding (format conversions); origins by a
#: thousandth of the finest voxel.
SPACING_RTOL = 1e-5
DIRECTION_ATOL = 1e-5
ORIGIN_VOXEL_FRACTION = 1e-3


def read_previous_mask(path: Path, image: sitk.Image) -> sitk.Image:
    """Read ``path`` and return it as a uint8 0/1 mask on ``image``'s grid, or refuse it."""
    mask = read_image(path)
    check_same_grid(mask, image, f"previous segmentation {Path(path).name}")
    return binary_mask(mask, f"previous segmentation {Path(path).name}")


def check_same_grid(mask: sitk.Image, image: sitk.Image, label: str) -> None:
    def fmt(values) -> str:
        return "(" + ", ".join(f"{v:.6g}" for v in values) + ")"

    if mask.GetSize() != image.GetSize():
        raise InputError(f"{label} has size {mask.GetSize()}, the image {image.GetSize()}: it "
                         "must be on the image's voxel grid")
    spacing_m, spacing_i = np.asarray(mask.GetSpacing()), np.asarray(image.GetSpacing())
    if not np.allclose(spacing_m, spacing_i, rtol=SPACING_RTOL, atol=0.0):
        raise InputError(f"{label} has spacing {fmt(spacing_m)} mm, the image "
                         f"{fmt(spacing_i)} mm: it must be on the image's voxel grid")
    origin_m, origin_i = np.asarray(mask.GetOrigin()), np.asarray(image.GetOrigin())
    origin_tol = ORIGIN_VOXEL_FRACTION * float(spacing_i.min())
    if np.abs(origin_m - origin_i).max() > origin_tol:
        raise InputError(f"{label} has origin {fmt(origin_m)} mm, the image {fmt(origin_i)} mm: "
                         "it must be on the image's voxel grid")
    direction_m, direction_i = np.asarray(mask.GetDirection()), np.asarray(image.GetDirection())
    if np.abs(direction_m - direction_i).max() > DIRECTION_ATOL:
        raise InputError(f"{label} has direction {fmt(direction_m)}, the image "
                         f"{fmt(direction_i)}: it must be on the image's voxel grid")


def binary_mask(mask: sitk.Image, label: str) -> sitk.Image:
    """0/1 uint8 with the mask's geometry; anything but 0 and one foreground value is refused.

    A uint8 0/1 mask, the usual case, is returned as it is, and the values are found without a
    full-size copy: the previous mask of a 1024 x 1024 x 1000 CT is 1 GB, beside a 2 GB scan."""
    values = distinct_values(mask)
    foreground = [v for v in values.tolist() if v != 0]
    if len(foreground) > 1 or (foreground and foreground[0] not in FOREGROUND_VALUES):
        shown = ", ".join(f"{v:g}" for v in values[:6].tolist()) + (", ..." if len(values) > 6 else "")
        raise InputError(f"{label} is not binary: it holds {len(values)} distinct values "
                         f"({shown}); a mask of 0 and 1 is needed")
    if mask.GetPixelID() == sitk.sitkUInt8 and foreground in ([], [1]):
        return mask
    return sitk.NotEqual(mask, 0)  # uint8 0/1 on the same grid


def distinct_values(image: sitk.Image, slab: int = 16) -> np.ndarray:
    """The sorted distinct voxel values of ``image``: from its minimum and maximum when those
    settle it (an integer image within 0..1), else slab by slab, never a full-size copy."""
    extremes = sitk.MinimumMaximumImageFilter()
    extremes.Execute(image)
    low, high = extremes.GetMinimum(), extremes.GetMaximum()
    view = sitk.GetArrayViewFromImage(image)
    if np.issubdtype(view.dtype, np.integer) and 0 <= low and high <= 1:
        return np.unique(np.asarray([low, high], dtype=view.dtype))
    found: set = set()
    for start in range(0, view.shape[0], slab):  # slabs along the first array axis
        found.update(np.unique(view[start:start + slab]).tolist())
    return np.asarray(sorted(found), dtype=view.dtype)
