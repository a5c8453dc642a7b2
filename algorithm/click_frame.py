"""Clicks from world coordinates (LPS mm) to voxel indices, refusing any outside the image.

Clicks are LPS, as DICOM, ITK, SimpleITK and grand-challenge use. 3D Slicer shows and often
exports RAS, which negates x and y; such clicks usually fall outside the image, and a bare
"outside the image" leaves the user guessing. When negating x and y would put every click
inside, the error says so.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from algorithm.errors import InputError
from algorithm.geometry import check_inside, inside_image, shape_zyx, world_to_index
from algorithm.prompts import Clicks

RAS_HINT = ("these look like RAS coordinates (3D Slicer): flip x and y, or pass the .mrk.json "
            "(clicks are LPS world mm, as DICOM and ITK use)")
_FLIP_XY = np.array([-1.0, -1.0, 1.0])


def clicks_to_index(image: sitk.Image, clicks: Clicks) -> tuple[np.ndarray, np.ndarray]:
    """Continuous (z, y, x) indices of the positive and the negative clicks."""
    shape = shape_zyx(image)
    positive = world_to_index(image, clicks.positive)
    negative = world_to_index(image, clicks.negative)
    try:
        check_inside(positive, shape, "tumor click")
        check_inside(negative, shape, "background click")
    except InputError as exc:
        if _all_inside(image, clicks.positive * _FLIP_XY, clicks.negative * _FLIP_XY):
            raise InputError(f"{exc}; {RAS_HINT}") from None
        raise
    return positive, negative


def _all_inside(image: sitk.Image, *points_xyz: np.ndarray) -> bool:
    index = np.concatenate([world_to_index(image, p) for p in points_xyz])
    return bool(inside_image(index, shape_zyx(image)).all())
