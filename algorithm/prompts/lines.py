"""Scribbles: grand-challenge's "Multiple lines" value (socket ``lesion-scribbles``).

The schema mirrors the platform's ``MLIN`` with ``spline-object`` items: ``type``, ``lines`` and
``version`` required; each line needs ``seed_points`` and ``path_point_lists`` and may have a
``name``, a ``type`` ("Line") and a ``probability``; no other keys. A line is one stroke: its
``path_point_lists`` are the polylines the viewer drew (in any slice orientation, or across
slices); its ``seed_points`` are the viewer's construction points and are not used. Each
polyline needs at least 2 points. ``name`` is ``tumor`` (or absent) for a stroke inside the
tumour and ``background`` for one on the tissue around it.
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
from algorithm.prompts.facts import ExtentPiece, PromptFacts, no_voxels, points_to_index
from algorithm.prompts.raster import segment_voxels

WHAT = "scribbles"


class SplineObject(PlatformModel):
    """``spline-object``."""

    name: str | None = None
    type: Literal["Line"] | None = None
    seed_points: list[WorldPoint]
    path_point_lists: list[list[WorldPoint]]
    probability: Probability | None = None


class MultipleLines(PlatformModel):
    """grand-challenge kind "Multiple lines" (``MLIN``)."""

    type: Literal["Multiple lines"]
    name: str | None = None
    lines: list[SplineObject]
    version: Version


@dataclass(frozen=True)
class Scribble:
    """One stroke: its polylines, each an (N >= 2, 3) array of world points (x, y, z mm)."""

    paths: tuple[np.ndarray, ...]
    tumour: bool  #: inside the tumour (``tumor``) or on the tissue around it (``background``)


def parse_scribbles(data: object) -> tuple[Scribble, ...]:
    value = validate(MultipleLines, data, WHAT)
    scribbles = []
    for i, line in enumerate(value.lines):
        where = f"lines.{i}"
        if not line.path_point_lists:
            raise InputError(f"invalid {WHAT} JSON at '{where}.path_point_lists': a line needs a "
                             "path of at least 2 points, this one has none")
        for j, path in enumerate(line.path_point_lists):
            if len(path) < 2:
                raise InputError(f"invalid {WHAT} JSON at '{where}.path_point_lists.{j}': a line "
                                 f"needs at least 2 points, this one has {len(path)}")
        paths = tuple(np.asarray(path, dtype=float) for path in line.path_point_lists)
        scribbles.append(Scribble(paths, is_tumour(line.name, where, WHAT)))
    return tuple(scribbles)


def read_scribbles(path: Path) -> tuple[Scribble, ...]:
    return parse_scribbles(read_json_file(path, WHAT))


def scribble_facts(image: sitk.Image, scribbles: tuple[Scribble, ...]) -> PromptFacts:
    """Every voxel a stroke passes through is tumour or background, by its name. A tumour
    stroke lies inside the tumour, short of its border: the lesion reaches at least as far,
    so it bounds nothing. Background strokes are drawn just outside the lesion, so they say
    how far its neighbourhood reaches: the extent spans them too (unbounded), and the volume of
    interest covers the lesion between a short tumour stroke and the background drawn around
    it (on the 22 dev lesions, classical method, one stroke of each: DSC 0.515 against 0.315
    with the tumour strokes alone; README, "Prompts other than clicks")."""
    shape = shape_zyx(image)
    tumour, background = [no_voxels()], [no_voxels()]
    for i, scribble in enumerate(scribbles):
        for path in scribble.paths:
            voxels = segment_voxels(points_to_index(image, path, f"scribble {i + 1}"), shape)
            (tumour if scribble.tumour else background).append(voxels)
    tumour_voxels, background_voxels = np.concatenate(tumour), np.concatenate(background)
    extent = ()
    if len(tumour_voxels):
        drawn = np.concatenate([tumour_voxels, background_voxels])
        extent = (ExtentPiece.of(drawn.min(axis=0), drawn.max(axis=0), False),)
    return PromptFacts(tumour=tumour_voxels, background=background_voxels, extent=extent)
