"""RECIST axes: grand-challenge's "Distance measurement" or "Multiple distance measurements"
value (socket ``lesion-recist``).

The schemas mirror the platform's ``DIST`` (``type``, ``start``, ``end`` and ``version``
required; ``name`` and ``probability`` optional) and ``MDIS`` (``type``, ``lines`` and
``version`` required, ``name`` optional; each line a ``line-object`` with ``start`` and ``end``
required and ``name``, ``type``, ``probability`` optional); no other keys. The lines are the
RECIST long axis on the key slice and, optionally, the short axis: one or two lines, the longer
one the long axis (names do not matter, so the product's own ``lesion-recist-axes`` output can
be fed back). Each needs a non-zero length; both must lie on one slice of the image.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import SimpleITK as sitk

from algorithm.errors import InputError
from algorithm.geometry import shape_zyx, spacing_zyx
from algorithm.measurements.axial import axial_array_axis
from algorithm.prompts.common import (
    PlatformModel, Probability, Version, WorldPoint, read_json_file, validate_kind,
)
from algorithm.prompts.facts import (
    ExtentPiece, PromptFacts, no_voxels, plane_shape, points_to_index, slice_voxels,
)
from algorithm.prompts.raster import (
    SLICE_TOLERANCE, in_plane_axes, polygon_interior, segment_voxels, slice_of,
)

WHAT = "RECIST"
SINGLE, MULTIPLE = "Distance measurement", "Multiple distance measurements"
#: a line shorter than this (mm) has zero length
MIN_LENGTH_MM = 1e-6
#: the seed lines stop short of the ends, which lie on the boundary (where the voxel holding an
#: end may have its centre outside the lesion): by one in-plane voxel, at most this share
MAX_END_TRIM = 0.25


class LineObject(PlatformModel):
    """``line-object``."""

    name: str | None = None
    type: Literal["Distance measurement"] | None = None
    start: WorldPoint
    end: WorldPoint
    probability: Probability | None = None


class DistanceMeasurement(PlatformModel):
    """grand-challenge kind "Distance measurement" (``DIST``)."""

    type: Literal["Distance measurement"]
    start: WorldPoint
    end: WorldPoint
    name: str | None = None
    version: Version
    probability: Probability | None = None


class MultipleDistanceMeasurements(PlatformModel):
    """grand-challenge kind "Multiple distance measurements" (``MDIS``)."""

    type: Literal["Multiple distance measurements"]
    name: str | None = None
    lines: list[LineObject]
    version: Version


@dataclass(frozen=True)
class RecistAxes:
    """The long axis and, when given, the short axis: each (2, 3) world points (start, end)."""

    long: np.ndarray
    short: np.ndarray | None = None

    @property
    def lines(self) -> tuple[np.ndarray, ...]:
        return (self.long,) if self.short is None else (self.long, self.short)


def parse_recist(data: object) -> RecistAxes:
    value = validate_kind(
        data, {SINGLE: DistanceMeasurement, MULTIPLE: MultipleDistanceMeasurements}, WHAT)
    if isinstance(value, DistanceMeasurement):
        lines, where = [(value.start, value.end)], ["<root>"]
    else:
        lines = [(line.start, line.end) for line in value.lines]
        where = [f"lines.{i}" for i in range(len(lines))]
        if not 1 <= len(lines) <= 2:
            raise InputError(f"invalid {WHAT} JSON at 'lines': the long axis and optionally the "
                             f"short axis are needed (1 or 2 lines), not {len(lines)}")
    arrays = [np.asarray(line, dtype=float) for line in lines]
    for array, place in zip(arrays, where):
        if np.linalg.norm(array[1] - array[0]) < MIN_LENGTH_MM:
            raise InputError(f"invalid {WHAT} JSON at '{place}': the line has zero length (its "
                             "start and end are the same point)")
    arrays.sort(key=lambda a: -np.linalg.norm(a[1] - a[0]))  # the long axis first
    return RecistAxes(arrays[0], arrays[1] if len(arrays) == 2 else None)


def read_recist(path: Path) -> RecistAxes:
    return parse_recist(read_json_file(path, WHAT))


def recist_facts(image: sitk.Image, axes: RecistAxes) -> PromptFacts:
    """The long and short axes, a voxel short of their ends, are tumour, and the quadrilateral
    of their four ends is likely tumour (inside the lesion when it is convex). They bound the
    lesion in the slice's plane (``_in_plane_extent``) but not across it. Refused: an axis whose ends lie on different slices (half a voxel), or
    long and short axes on different slices. Of the slice orientations a line may lie in (one
    along an image axis lies in two), the axial one is taken, where RECIST measures."""
    shape, spacing = shape_zyx(image), spacing_zyx(image)
    names = ("RECIST long axis", "RECIST short axis")
    index = [points_to_index(image, line, name) for line, name in zip(axes.lines, names)]
    prefer = axial_array_axis(image.GetDirection())
    axis, number = slice_of(index[0], shape, f"{names[0]} (its ends)", prefer)
    if len(index) == 2:
        both = np.concatenate(index)
        try:
            axis, number = slice_of(both, shape, "the RECIST axes", prefer)
        except InputError:
            slice_of(index[1], shape, f"{names[1]} (its ends)", prefer)  # the short one alone?
            raise InputError("the RECIST long and short axes lie on different slices of the "
                             f"image (both must lie within {SLICE_TOLERANCE:g} voxel of the key "
                             "slice)") from None
    in_plane = list(in_plane_axes(axis))
    seeds = []
    for ends in index:
        ends = ends.copy()
        ends[:, axis] = number
        seeds.append(segment_voxels(_trimmed(ends, spacing, in_plane), shape))
    lo, hi = np.full(3, float(number)), np.full(3, float(number))
    lo[in_plane], hi[in_plane] = _in_plane_extent([i[:, in_plane] for i in index],
                                                  spacing[in_plane])
    bounded = np.ones((3, 2), dtype=bool)
    bounded[axis] = False
    weak = no_voxels()
    if len(index) == 2:  # the quadrilateral of the four ends lies inside a convex lesion
        corners = _around_crossing(np.concatenate(index)[:, in_plane])
        plane = polygon_interior(corners, plane_shape(shape, axis))
        weak = slice_voxels(axis, number, plane)
    return PromptFacts(tumour=np.concatenate(seeds), weak_tumour=weak,
                       extent=(ExtentPiece.of(lo, hi, bounded),))


def _around_crossing(ends: np.ndarray) -> np.ndarray:
    """The four axis ends (2D) in order of angle around their mean: a simple quadrilateral."""
    angle = np.arctan2(*(ends - ends.mean(axis=0)).T)
    return ends[np.argsort(angle)]


def _in_plane_extent(lines: list[np.ndarray], spacing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) in-plane indices of where the lesion lies on the key slice. The long axis is
    its longest diameter there, so it lies within the disc of that diameter around the axis's
    middle (exactly so for an ellipse); with the short axis, the longest diameter across it,
    within the rectangle the long axis long and the short axis wide, across the short axis's
    middle (exactly an ellipse's bounding rectangle)."""
    ends = [line * spacing for line in lines]  # mm in the plane
    along = ends[0][1] - ends[0][0]
    length = float(np.linalg.norm(along))
    middle = ends[0].mean(axis=0)
    if len(ends) == 1:
        return (middle - length / 2.0) / spacing, (middle + length / 2.0) / spacing
    across = np.array([-along[1], along[0]]) / length
    width = abs(float(np.dot(ends[1][1] - ends[1][0], across)))
    offset = float(np.dot(ends[1].mean(axis=0) - middle, across))
    corners = np.array([ends[0][0] + across * (offset + sign * width / 2.0) for sign in (-1, 1)]
                       + [ends[0][1] + across * (offset + sign * width / 2.0) for sign in (-1, 1)])
    return corners.min(axis=0) / spacing, corners.max(axis=0) / spacing


def _trimmed(ends: np.ndarray, spacing: np.ndarray, in_plane: list[int]) -> np.ndarray:
    length_mm = float(np.linalg.norm((ends[1] - ends[0]) * spacing))
    trim = min(float(spacing[in_plane].max()) / max(length_mm, 1e-12), MAX_END_TRIM)
    return ends[0] + np.array([[trim], [1.0 - trim]]) * (ends[1] - ends[0])
