"""The click prompt: grand-challenge's "Multiple points" value, validated as the platform does.

The schema mirrors grand-challenge's JSON schema (``MPOI`` with ``point-object`` items and a
``version-object``): required keys, exact ``type``, no extra keys. Points are world coordinates in
millimetres in LPS (x grows to the patient's left, y to posterior, z to superior), the frame of
DICOM, ITK, SimpleITK (``TransformContinuousIndexToPhysicalPoint``) and grand-challenge. A 3D
Slicer markups file (``*.mrk.json``) is read too, through its own coordinate system
(``algorithm.slicer_markups``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from algorithm.errors import InputError
from algorithm.prompts.common import (
    NEGATIVE_NAMES, POSITIVE_NAMES, PlatformModel, Probability, Version, WorldPoint, is_tumour,
    read_json_file, validate,
)

__all__ = ["NEGATIVE_NAMES", "POSITIVE_NAMES", "Clicks", "MultiplePoints", "PointObject",
           "Version", "parse_clicks", "read_clicks"]


class PointObject(PlatformModel):
    """``point-object``: ``point`` required; ``name``, ``type`` and ``probability`` optional."""

    point: WorldPoint
    name: str | None = None
    type: Literal["Point"] | None = None
    probability: Probability | None = None


class MultiplePoints(PlatformModel):
    """grand-challenge kind "Multiple points" (``MPOI``)."""

    type: Literal["Multiple points"]
    points: list[PointObject]
    version: Version
    name: str | None = None


@dataclass(frozen=True)
class Clicks:
    """Positive and negative clicks in world coordinates (mm), each an (N, 3) array of x, y, z."""

    positive: np.ndarray
    negative: np.ndarray

    @classmethod
    def from_points(
        cls, positive: np.ndarray | list, negative: np.ndarray | list | None = None
    ) -> "Clicks":
        pos = np.asarray(positive, dtype=float).reshape(-1, 3)
        neg = np.asarray([] if negative is None else negative, dtype=float).reshape(-1, 3)
        return cls(positive=pos, negative=neg)

    def to_multiple_points(self) -> dict:
        points = [{"point": [float(v) for v in p], "name": "tumor"} for p in self.positive]
        points += [{"point": [float(v) for v in p], "name": "background"} for p in self.negative]
        return {"type": "Multiple points", "points": points, "version": {"major": 1, "minor": 0}}


def parse_clicks(data: object, *, require_positive: bool = True) -> Clicks:
    """Validate a decoded JSON value and split it into positive and negative clicks.

    A point without a name counts as a tumour click (the platform allows unnamed points); any
    name other than ``tumor`` or ``background`` is rejected rather than guessed.
    ``require_positive=False``: corrective clicks added to earlier ones may all be background.
    """
    value = validate(MultiplePoints, data, "clicks")
    positive, negative = [], []
    for i, p in enumerate(value.points):
        (positive if is_tumour(p.name, f"points.{i}", "clicks") else negative).append(p.point)
    if require_positive and not positive:
        raise InputError("clicks JSON has no positive ('tumor') click: at least one is needed")
    return Clicks.from_points(positive, negative)


def read_clicks(path: Path, *, require_positive: bool = True) -> Clicks:
    """Clicks from a grand-challenge "Multiple points" JSON or a 3D Slicer ``.mrk.json``
    (``require_positive``: as for ``parse_clicks``; a markups file always needs one)."""
    data = read_json_file(path, "clicks")
    from algorithm.slicer_markups import is_slicer_markups, parse_slicer_markups  # uses Clicks

    if is_slicer_markups(data):
        return parse_slicer_markups(data)
    return parse_clicks(data, require_positive=require_positive)
