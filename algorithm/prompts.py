"""The click prompt: grand-challenge's "Multiple points" value, validated as the platform does.

The schema mirrors grand-challenge's JSON schema (``MPOI`` with ``point-object`` items and a
``version-object``): required keys, exact ``type``, no extra keys. Points are world coordinates in
millimetres in LPS (x grows to the patient's left, y to posterior, z to superior), the frame of
DICOM, ITK, SimpleITK (``TransformContinuousIndexToPhysicalPoint``) and grand-challenge. A 3D
Slicer markups file (``*.mrk.json``) is read too, through its own coordinate system
(``algorithm.slicer_markups``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from algorithm.errors import InputError

POSITIVE_NAMES = frozenset({"tumor"})
NEGATIVE_NAMES = frozenset({"background"})

_NonNegativeInt = Annotated[float, Field(ge=0, multiple_of=1.0)]


class Version(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)
    major: _NonNegativeInt
    minor: _NonNegativeInt


class PointObject(BaseModel):
    model_config = ConfigDict(extra="forbid")
    point: Annotated[list[float], Field(min_length=3, max_length=3)]
    name: str | None = None
    type: Literal["Point"] | None = None
    probability: Annotated[float, Field(ge=0, le=1)] | None = None

    @field_validator("point")
    @classmethod
    def _finite(cls, value: list[float]) -> list[float]:
        if not all(math.isfinite(v) for v in value):
            raise ValueError("coordinates must be finite numbers (no NaN or Infinity)")
        return value


class MultiplePoints(BaseModel):
    """grand-challenge kind "Multiple points"."""

    model_config = ConfigDict(extra="forbid")
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
    try:
        value = MultiplePoints.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(_one_line(p) for p in first["loc"]) or "<root>"
        raise InputError(f"invalid clicks JSON at '{where}': {first['msg']}") from None
    positive, negative = [], []
    for i, p in enumerate(value.points):
        name = p.name if p.name is not None else "tumor"
        if name in POSITIVE_NAMES:
            positive.append(p.point)
        elif name in NEGATIVE_NAMES:
            negative.append(p.point)
        else:
            raise InputError(
                f"invalid clicks JSON at 'points.{i}.name': {name!r} is neither 'tumor' nor "
                "'background'"
            )
    if require_positive and not positive:
        raise InputError("clicks JSON has no positive ('tumor') click: at least one is needed")
    return Clicks.from_points(positive, negative)


def read_clicks(path: Path) -> Clicks:
    """Clicks from a grand-challenge "Multiple points" JSON or a 3D Slicer ``.mrk.json``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read clicks file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"clicks file {Path(path).name} is not UTF-8 text, so not the JSON "
                         "that is needed") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        raise InputError(f"clicks file {Path(path).name} is not valid JSON: {exc}") from None
    except RecursionError:
        raise InputError(f"clicks file {Path(path).name} is not valid clicks JSON: it is nested "
                         "too deeply") from None
    from algorithm.slicer_markups import is_slicer_markups, parse_slicer_markups  # uses Clicks

    return parse_slicer_markups(data) if is_slicer_markups(data) else parse_clicks(data)


def _one_line(key: object) -> str:
    """A key from the input as an error shows it: control characters escaped, one line."""
    return json.dumps(key, ensure_ascii=False)[1:-1] if isinstance(key, str) else str(key)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed in JSON")
