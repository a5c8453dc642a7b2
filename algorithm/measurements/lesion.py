"""All measurements of one lesion mask on its image, with end points in world coordinates.

The RECIST axes are measured on axial slices, as RECIST 1.1 asks: the slices across the image
axis closest to the patient's z axis (``axial_array_axis``; array axis 0 for a usual CT, another
for an MR stored sagittally or coronally). On an oblique scan these are the acquired slices, not
the patient's true axial plane, as a radiologist measures them. evaluation/ measures with the
same code and rule, so the algorithm's reported axes and the evaluation's agree.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
import SimpleITK as sitk
from pydantic import BaseModel, ConfigDict, Field

from algorithm.measurements.axial import axial_array_axis
from algorithm.measurements.bounding_box import bounding_box
from algorithm.measurements.components import count_components
from algorithm.measurements.diameters import IndexPoint, axial_diameters
from algorithm.measurements.max_diameter import max_3d_diameter_mm
from algorithm.measurements.volume import volume_ml

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
WorldPoint = tuple[Finite, Finite, Finite]


class Axis(BaseModel):
    """One measured line: its length and its end points in world mm (LPS: x, y, z)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    length_mm: NonNegative
    start: WorldPoint
    end: WorldPoint


class LesionMeasurements(BaseModel):
    """Measurements of one lesion (all its components together)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    volume_ml: NonNegative = Field(description="foreground voxels x voxel volume, in ml")
    long_axis: Axis | None = Field(
        description="RECIST long axis: the largest in-plane diameter, between boundary voxel "
        "centres, on the key slice; null for an empty mask"
    )
    short_axis: Axis | None = Field(
        description="RECIST short axis: the longest chord of the slice's convex hull "
        "perpendicular to the long axis, on the same slice; null for an empty mask"
    )
    recist_slice_index: int | None = Field(
        description="index, along recist_slice_axis, of the axial slice holding both axes: the "
        "slice with the longest long axis; null for an empty mask"
    )
    recist_slice_axis: int = Field(
        ge=0, le=2, description="array axis (z, y, x order; ITK index axis 2 - this) across "
        "which the axial slices lie: the image axis closest to the patient's z axis, 0 for a "
        "usual axial scan"
    )
    max_3d_diameter_mm: NonNegative = Field(
        description="largest distance between two voxel centres of the lesion, in mm"
    )
    n_components: int = Field(ge=0, description="number of 26-connected components")


def measure_lesion(mask_zyx: np.ndarray, image: sitk.Image) -> LesionMeasurements:
    """Measure the nonzero voxels of ``mask_zyx`` (the array of ``image``'s grid, z, y, x).

    Only ``image``'s geometry is used (size, spacing, origin, direction cosines).
    """
    mask = np.asarray(mask_zyx)  # compared with 0 only inside the lesion's box: a full-size
    # boolean copy of a 1024 x 1024 x 1000 mask would cost 1 GB
    if image.GetDimension() != 3:
        raise ValueError(f"a 3D image is needed, got {image.GetDimension()} dimensions")
    grid_shape = tuple(int(n) for n in reversed(image.GetSize()))
    if mask.shape != grid_shape:
        raise ValueError(f"mask shape {mask.shape} is not the image's grid (z, y, x) {grid_shape}")
    spacing = tuple(float(s) for s in reversed(image.GetSpacing()))
    slice_axis = axial_array_axis(image.GetDirection())
    if not mask.any():
        return LesionMeasurements(
            volume_ml=0.0, long_axis=None, short_axis=None, recist_slice_index=None,
            recist_slice_axis=slice_axis, max_3d_diameter_mm=0.0, n_components=0,
        )
    # Crop once to the lesion's box: every measurement below is translation invariant except the
    # slice index and the end points, which are shifted back.
    box = bounding_box(mask)
    lesion = mask[box] != 0
    offset = np.array([s.start for s in box], dtype=float)
    recist = axial_diameters(lesion, spacing, axial_axis=slice_axis)
    assert recist.slice_index is not None and recist.long_ends_index is not None
    assert recist.short_ends_index is not None

    def axis(length_mm: float, ends: tuple[IndexPoint, IndexPoint]) -> Axis:
        start, end = (world_point(image, np.asarray(p) + offset) for p in ends)
        return Axis(length_mm=length_mm, start=start, end=end)

    return LesionMeasurements(
        volume_ml=volume_ml(lesion, spacing),
        long_axis=axis(recist.long_mm, recist.long_ends_index),
        short_axis=axis(recist.short_mm, recist.short_ends_index),
        recist_slice_index=recist.slice_index + box[slice_axis].start,
        recist_slice_axis=slice_axis,
        max_3d_diameter_mm=max_3d_diameter_mm(lesion, spacing),
        n_components=count_components(lesion),
    )


def world_point(image: sitk.Image, index_zyx: np.ndarray) -> tuple[float, float, float]:
    """World (x, y, z) mm of a continuous array index (k, j, i), i.e. ITK index (i, j, k)."""
    k, j, i = (float(v) for v in index_zyx)
    x, y, z = image.TransformContinuousIndexToPhysicalPoint((i, j, k))
    return (float(x), float(y), float(z))
