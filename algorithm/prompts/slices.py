"""Fully annotated slices: outlines drawn on a slice, or a mask in which only some slices are
annotated (``--slice-mask``, from ITK-SNAP or 3D Slicer), say what every voxel of those slices
is.

A slice mask is on the image's own grid (size, spacing, origin, direction). Its annotated
slices are recognised thus: along each array axis, count the slices holding any non-zero
voxel; the axis where those are fewest is the one the user annotated across (ties: the coarser
spacing, thick slices being the ones drawn on; then the lower array axis, the stored slices),
and every slice along it with any non-zero voxel is annotated as a whole: non-zero is tumour,
zero is background. The other slices say nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from algorithm.errors import InputError
from algorithm.geometry import spacing_zyx
from algorithm.io.images import read_image
from algorithm.io.previous_mask import check_same_grid
from algorithm.prompts.facts import ExtentPiece, PromptFacts, no_voxels, slice_voxels
from algorithm.prompts.raster import in_plane_axes


def annotated_slice_facts(slices: list[tuple[int, int]], tumour: list[np.ndarray],
                          background: list[np.ndarray]) -> PromptFacts:
    """Facts of slices ``(axis, number)`` with their 2D tumour and background planes. The
    tumour on a slice bounds the lesion within that slice's plane; across the slice it says
    only that the lesion reaches it."""
    tumour_voxels, background_voxels, extent = [no_voxels()], [no_voxels()], []
    for (axis, number), on, off in zip(slices, tumour, background):
        tumour_voxels.append(slice_voxels(axis, number, on))
        background_voxels.append(slice_voxels(axis, number, off))
        if len(tumour_voxels[-1]):
            bounded = np.ones((3, 2), dtype=bool)
            bounded[axis] = False
            extent.append(ExtentPiece.of(tumour_voxels[-1].min(axis=0),
                                         tumour_voxels[-1].max(axis=0), bounded))
    return PromptFacts(tumour=np.concatenate(tumour_voxels),
                       background=np.concatenate(background_voxels), extent=tuple(extent))


def annotated_slices(mask: np.ndarray, spacing: np.ndarray,
                     label: str = "the slice mask") -> tuple[int, list[int]]:
    """(array axis, slice numbers) of a slice mask's annotated slices (module docstring)."""
    nonzero = np.asarray(mask) != 0
    per_axis = [np.flatnonzero(nonzero.any(axis=in_plane_axes(axis))) for axis in range(3)]
    if not len(per_axis[0]):
        raise InputError(f"{label} has no non-zero voxel: it annotates no slice")
    axis = min(range(3), key=lambda a: (len(per_axis[a]), -float(spacing[a]), a))
    return axis, [int(k) for k in per_axis[axis]]


def slice_mask_facts(mask: np.ndarray, spacing: np.ndarray) -> PromptFacts:
    """The annotated slices of a slice mask ((z, y, x) on the image grid) as known voxels."""
    axis, numbers = annotated_slices(mask, spacing)
    planes = [np.take(np.asarray(mask), k, axis=axis) != 0 for k in numbers]
    return annotated_slice_facts([(axis, k) for k in numbers], planes, [~p for p in planes])


def read_slice_mask(path: Path, image: sitk.Image) -> np.ndarray:
    """A slice mask file as a (z, y, x) bool array on ``image``'s grid, or refuse it."""
    mask = read_image(path)
    check_same_grid(mask, image, f"slice mask {Path(path).name}")
    array = sitk.GetArrayViewFromImage(mask) != 0
    annotated_slices(array, spacing_zyx(image), f"slice mask {Path(path).name}")  # refuse now
    return array
