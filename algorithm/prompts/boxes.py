"""A box around the tumour on one slice: grand-challenge's "2D bounding box" or "Multiple 2D
bounding boxes" value (socket ``lesion-box``).

The schemas mirror the platform's ``2DBB`` (``type``, ``corners`` and ``version`` required;
``name`` and ``probability`` optional) and ``M2DB`` (``type``, ``boxes`` and ``version``
required, ``name`` optional; each box a ``2D-bounding-box-object`` with ``corners`` required and
``name``, ``type``, ``probability`` optional); no other keys. ``corners`` are four world points.
A box gives the tumour's extent on its slice; two boxes on orthogonal slices bound it in 3D.
Names do not matter here: every box is the same tumour's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import SimpleITK as sitk
from pydantic import Field

from algorithm.errors import InputError
from algorithm.geometry import shape_zyx
from algorithm.prompts.common import (
    PlatformModel, Probability, Version, WorldPoint, read_json_file, validate_kind,
)
from algorithm.prompts.facts import (
    ExtentPiece, PromptFacts, no_voxels, plane_shape, points_to_index, slice_voxels,
)
from algorithm.prompts.raster import SNAP, in_plane_axes, slice_of

WHAT = "box"
SINGLE, MULTIPLE = "2D bounding box", "Multiple 2D bounding boxes"
#: a box thinner than this (mm) in either direction of its plane has no area
MIN_SIDE_MM = 1e-6
#: the weak tumour evidence: the box's middle, this fraction of its width and height
CENTRE_FRACTION = 1.0 / 3.0

Corners = Annotated[list[WorldPoint], Field(min_length=4, max_length=4)]


class BoundingBoxObject(PlatformModel):
    """``2D-bounding-box-object``."""

    name: str | None = None
    type: Literal["2D bounding box"] | None = None
    corners: Corners
    probability: Probability | None = None


class BoundingBox2D(PlatformModel):
    """grand-challenge kind "2D bounding box" (``2DBB``)."""

    type: Literal["2D bounding box"]
    corners: Corners
    name: str | None = None
    version: Version
    probability: Probability | None = None


class MultipleBoundingBoxes(PlatformModel):
    """grand-challenge kind "Multiple 2D bounding boxes" (``M2DB``)."""

    type: Literal["Multiple 2D bounding boxes"]
    name: str | None = None
    boxes: list[BoundingBoxObject]
    version: Version


@dataclass(frozen=True)
class BoundingBox:
    """Four world corners (x, y, z mm), (4, 3), in the platform's order."""

    corners: np.ndarray


def parse_boxes(data: object) -> tuple[BoundingBox, ...]:
    value = validate_kind(data, {SINGLE: BoundingBox2D, MULTIPLE: MultipleBoundingBoxes}, WHAT)
    if isinstance(value, BoundingBox2D):
        corner_sets, where = [value.corners], ["corners"]
    else:
        corner_sets = [b.corners for b in value.boxes]
        where = [f"boxes.{i}.corners" for i in range(len(corner_sets))]
    boxes = []
    for corners, place in zip(corner_sets, where):
        array = np.asarray(corners, dtype=float)
        if in_plane_sides_mm(array)[1] < MIN_SIDE_MM:
            raise InputError(f"invalid {WHAT} JSON at '{place}': the box has zero area (its "
                             "corners lie on one line or one point)")
        boxes.append(BoundingBox(array))
    return tuple(boxes)


def in_plane_sides_mm(corners: np.ndarray) -> np.ndarray:
    """The corners' spread along the two main directions of their plane (largest first), mm:
    whatever the corners' order, a zero second value means no area."""
    centred = corners - corners.mean(axis=0)
    return np.linalg.svd(centred, compute_uv=False)[:2]


def read_boxes(path: Path) -> tuple[BoundingBox, ...]:
    return parse_boxes(read_json_file(path, WHAT))


def box_facts(image: sitk.Image, boxes: tuple[BoundingBox, ...]) -> PromptFacts:
    """On each box's slice, every voxel whose centre lies outside the box is background (the
    box holds the tumour), and the box's middle third (of its width and of its height) is weak
    tumour evidence: it lies inside the ellipse inscribed in the box ((1/6)^2 + (1/6)^2 of
    the half-axes squared, well under 1), so inside any roughly elliptical tumour that touches
    the box's four edges, but a crescent or a ring may leave it. The box bounds the lesion in
    its plane, not across it. Refused: a box off any one slice (half a voxel)."""
    shape = shape_zyx(image)
    background, weak, extent = [no_voxels()], [no_voxels()], []
    for i, box in enumerate(boxes):
        index = points_to_index(image, box.corners, f"box {i + 1}")
        axis, number = slice_of(index, shape, f"box {i + 1}")
        rows, cols = in_plane_axes(axis)
        lo, hi = index.min(axis=0), index.max(axis=0)
        lo[axis] = hi[axis] = number
        plane = plane_shape(shape, axis)
        inside = _centres_within(lo[[rows, cols]], hi[[rows, cols]], plane)
        middle, half = (lo + hi) / 2.0, (hi - lo) * CENTRE_FRACTION / 2.0
        centre = _centres_within((middle - half)[[rows, cols]], (middle + half)[[rows, cols]],
                                 plane) & inside
        if not centre.any():  # a box a few voxels wide: the voxel at its middle, which it
            cell = np.clip(np.rint(middle[[rows, cols]]), 0, np.asarray(plane) - 1).astype(int)
            centre[tuple(cell)] = inside[tuple(cell)] = True  # overlaps even if its centre is out
        background.append(slice_voxels(axis, number, ~inside))
        weak.append(slice_voxels(axis, number, centre))
        bounded = np.ones((3, 2), dtype=bool)
        bounded[axis] = False
        extent.append(ExtentPiece.of(lo, hi, bounded))
    return PromptFacts(background=np.concatenate(background), weak_tumour=np.concatenate(weak),
                       extent=tuple(extent))


def _centres_within(lo: np.ndarray, hi: np.ndarray, plane: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: voxel centres inside the closed rectangle ``lo`` .. ``hi`` (row, column),
    within ``SNAP``."""
    rows = (np.arange(plane[0]) >= lo[0] - SNAP) & (np.arange(plane[0]) <= hi[0] + SNAP)
    cols = (np.arange(plane[1]) >= lo[1] - SNAP) & (np.arange(plane[1]) <= hi[1] + SNAP)
    return rows[:, None] & cols[None, :]
