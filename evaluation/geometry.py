"""Image grid geometry: spacing in array order, grid comparison, and which axis is axial.

SimpleITK reports size/spacing/origin in (x, y, z) order and the direction as a row-major 3x3
matrix whose column j is the patient-space (LPS) direction of image index axis j. numpy arrays
from ``GetArrayFromImage`` are (z, y, x), so array axis k is image index axis 2 - k.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from algorithm.measurements.axial import axial_array_axis  # noqa: F401  (re-exported)

# Tolerances for "the same grid": loose enough for float32 round trips (NIfTI headers), tight
# enough that any real resampling or shift is caught.
SPACING_RTOL = 1e-4
ORIGIN_TOL_VOXELS = 1e-2  # fraction of the smallest spacing
DIRECTION_ATOL = 1e-4


@dataclass(frozen=True)
class Geometry:
    size_xyz: tuple[int, ...]
    spacing_xyz: tuple[float, ...]
    origin_xyz: tuple[float, ...]
    direction: tuple[float, ...]  # row-major, dimension x dimension

    @classmethod
    def of(cls, image: sitk.Image) -> Geometry:
        return cls(
            size_xyz=tuple(int(v) for v in image.GetSize()),
            spacing_xyz=tuple(float(v) for v in image.GetSpacing()),
            origin_xyz=tuple(float(v) for v in image.GetOrigin()),
            direction=tuple(float(v) for v in image.GetDirection()),
        )

    @property
    def spacing_zyx(self) -> tuple[float, ...]:
        """Spacing in numpy array axis order, the order every metric function expects."""
        return tuple(reversed(self.spacing_xyz))

    @property
    def axial_axis(self) -> int:
        return axial_array_axis(self.direction)

    def mismatch(self, other: Geometry) -> str | None:
        """Describe how ``other`` lies on a different voxel grid, or None if it is the same."""
        if self.size_xyz != other.size_xyz:
            return f"size {other.size_xyz} != {self.size_xyz}"
        if not np.allclose(other.spacing_xyz, self.spacing_xyz, rtol=SPACING_RTOL, atol=0):
            return f"spacing {_fmt(other.spacing_xyz)} != {_fmt(self.spacing_xyz)}"
        origin_tol = ORIGIN_TOL_VOXELS * min(self.spacing_xyz)
        if not np.allclose(other.origin_xyz, self.origin_xyz, rtol=0, atol=origin_tol):
            return f"origin {_fmt(other.origin_xyz)} != {_fmt(self.origin_xyz)}"
        if not np.allclose(other.direction, self.direction, rtol=0, atol=DIRECTION_ATOL):
            return f"direction {_fmt(other.direction)} != {_fmt(self.direction)}"
        return None


def _fmt(values: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in values) + ")"
