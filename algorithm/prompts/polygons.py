"""Outlines: grand-challenge's "Multiple polygons" value (socket ``lesion-outlines``).

The schema mirrors the platform's ``MPOL`` with ``polygon-object`` items: ``type``, ``polygons``
and ``version`` required; each polygon needs ``seed_point``, ``path_points``, ``sub_type`` and
``groups`` and may have a ``name``, a ``type`` ("Polygon") and a ``probability``; no other keys.
A polygon is a closed contour on one image slice (``path_points``, at least 3 distinct points;
``seed_point``, ``sub_type`` and ``groups`` are the viewer's and are not used). A ``tumor`` (or
unnamed) polygon says its slice is fully annotated: inside is tumour, the rest of the slice is
not; a ``background`` polygon cuts a hole (or, on a slice without a tumour polygon, marks its
inside as background).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import SimpleITK as sitk

from algorithm.errors import InputError
from algorithm.geometry import shape_zyx
from algorithm.prompts.common import (
    PlatformModel, Probability, Version, WorldPoint, is_tumour, read_json_file, validate,
)
from algorithm.prompts.facts import (
    PromptFacts, no_voxels, plane_shape, points_to_index, slice_voxels,
)
from algorithm.prompts.raster import (
    first_crossing, in_plane_axes, polygon_area, polygon_interior, slice_of,
)
from algorithm.prompts.slices import annotated_slice_facts

WHAT = "outlines"
MIN_POINTS = 3
#: a polygon enclosing less than this (voxels^2) on its slice encloses nothing
MIN_AREA_VOXELS = 1e-9
AXIS_NAMES = ("k", "j", "i")  #: ITK voxel index names of the array axes (z, y, x)


class PolygonObject(PlatformModel):
    """``polygon-object``."""

    name: str | None = None
    type: Literal["Polygon"] | None = None
    seed_point: WorldPoint
    path_points: list[WorldPoint]
    sub_type: str
    groups: list[str]
    probability: Probability | None = None


class MultiplePolygons(PlatformModel):
    """grand-challenge kind "Multiple polygons" (``MPOL``)."""

    type: Literal["Multiple polygons"]
    name: str | None = None
    polygons: list[PolygonObject]
    version: Version


@dataclass(frozen=True)
class Outline:
    """One closed contour: (N >= 3, 3) world points (x, y, z mm), the closing edge implied."""

    points: np.ndarray
    tumour: bool  #: its inside is tumour (``tumor``) or a hole of background (``background``)


def parse_outlines(data: object) -> tuple[Outline, ...]:
    value = validate(MultiplePolygons, data, WHAT)
    outlines = []
    for i, polygon in enumerate(value.polygons):
        points = distinct_vertices(np.asarray(polygon.path_points, dtype=float).reshape(-1, 3))
        if len(points) < MIN_POINTS:
            raise InputError(f"invalid {WHAT} JSON at 'polygons.{i}.path_points': a polygon needs "
                             f"at least {MIN_POINTS} distinct points, this one has {len(points)}")
        outlines.append(Outline(points, is_tumour(polygon.name, f"polygons.{i}", WHAT)))
    return tuple(outlines)


def distinct_vertices(points: np.ndarray) -> np.ndarray:
    """The vertices without repeats in a row, nor a last one repeating the first (viewers often
    close the contour explicitly)."""
    if len(points) == 0:
        return points
    keep = np.ones(len(points), dtype=bool)
    keep[1:] = np.any(points[1:] != points[:-1], axis=1)
    points = points[keep]
    if len(points) > 1 and np.array_equal(points[0], points[-1]):
        points = points[:-1]
    return points


def read_outlines(path: Path) -> tuple[Outline, ...]:
    return parse_outlines(read_json_file(path, WHAT))


def outline_facts(image: sitk.Image, outlines: tuple[Outline, ...]) -> PromptFacts:
    """Per slice: the tumour polygons' inside, less the background polygons' inside, is tumour
    and (when the slice has a tumour polygon) the rest of the slice is background; a slice
    with background polygons only has their inside as background. Refused: a polygon off any
    one slice (half a voxel), enclosing no area, or crossing another on its slice or itself."""
    shape = shape_zyx(image)
    by_slice: dict[tuple[int, int], list[tuple[int, np.ndarray, bool]]] = {}
    for i, outline in enumerate(outlines):
        index = points_to_index(image, outline.points, f"outline {i + 1}")
        axis, number = slice_of(index, shape, f"outline {i + 1}")
        vertices = index[:, list(in_plane_axes(axis))]
        by_slice.setdefault((axis, number), []).append((i, vertices, outline.tumour))
    tumour, background = [], []
    for (axis, number), polygons in sorted(by_slice.items()):
        _refuse_crossings(polygons, axis, number)
        for i, vertices, _ in polygons:
            if polygon_area(vertices) < MIN_AREA_VOXELS:
                raise InputError(f"outline {i + 1} encloses no area on its slice (its points "
                                 "lie on one line)")
        plane = plane_shape(shape, axis)
        inside = {True: np.zeros(plane, bool), False: np.zeros(plane, bool)}
        for _, vertices, is_tumour_polygon in polygons:
            filled = polygon_interior(vertices, plane)
            if is_tumour_polygon and not filled.any():  # smaller than a voxel: its middle one
                middle = np.clip(np.rint(vertices.mean(axis=0)), 0, np.asarray(plane) - 1)
                filled[tuple(middle.astype(int))] = True
            inside[is_tumour_polygon] |= filled
        if inside[True].any():
            tumour.append(inside[True] & ~inside[False])
            background.append(~tumour[-1])
        else:
            tumour.append(np.zeros(plane, bool))
            background.append(inside[False])
    slices = [(axis, number) for axis, number in sorted(by_slice)]
    return annotated_slice_facts(slices, tumour, background)


def _refuse_crossings(polygons: list[tuple[int, np.ndarray, bool]], axis: int,
                      number: int) -> None:
    crossing = first_crossing([vertices for _, vertices, _ in polygons])
    if crossing is None:
        return
    i, j = (polygons[k][0] + 1 for k in crossing)
    where = f"on slice {AXIS_NAMES[axis]} = {number}"
    if i == j:
        raise InputError(f"outline {i} crosses itself {where}: draw each contour without "
                         "crossings")
    raise InputError(f"outlines {i} and {j} cross {where}: outlines of one slice must not cross "
                     "(draw a hole as a background polygon inside a tumour polygon)")
