"""3D Slicer markups (``*.mrk.json``) as clicks, converted to the LPS world coordinates we use.

Slicer saves each point list with its own ``coordinateSystem``: "LPS" (Slicer >= 4.11's default
on save) or "RAS" (Slicer's internal frame, older files). RAS and LPS differ by the sign of x and
y, so RAS points are negated there; reading the file's own declaration is what keeps a Slicer
user from segmenting the mirror image of the place they clicked. Every control point is a tumour
click unless its label or description is ``background``, or its point list is named so.
"""

from __future__ import annotations

import math

import numpy as np

from algorithm.errors import InputError
from algorithm.prompts import Clicks

#: Slicer point lists; lines, curves, planes and ROIs are not clicks.
POINT_TYPES = frozenset({"Fiducial", "PointList"})
#: Factor to millimetres for each ``coordinateUnits`` Slicer writes.
UNIT_TO_MM = {"mm": 1.0, "um": 1e-3}
RAS_TO_LPS = np.array([-1.0, -1.0, 1.0])


def is_slicer_markups(data: object) -> bool:
    """A decoded JSON value is a Slicer markups file (it has a ``markups`` list)."""
    return isinstance(data, dict) and isinstance(data.get("markups"), list)


def parse_slicer_markups(data: dict) -> Clicks:
    """Clicks in LPS millimetres from a decoded ``.mrk.json``; points not yet placed
    (``positionStatus`` other than "defined") are skipped, as Slicer itself ignores them."""
    positive, negative = [], []
    for i, markup in enumerate(data["markups"]):
        where = f"markups.{i}"
        kind = markup.get("type") if isinstance(markup, dict) else type(markup).__name__
        if not isinstance(markup, dict) or not _one_of(kind, POINT_TYPES):
            raise InputError(f"invalid Slicer markups at '{where}': type {_shown(kind)} is not a "
                             "point list (Fiducial)")
        system = markup.get("coordinateSystem", "LPS")
        if not _one_of(system, ("LPS", "RAS")):
            raise InputError(f"invalid Slicer markups at '{where}.coordinateSystem': "
                             f"{_shown(system)} is neither 'LPS' nor 'RAS'")
        units = markup.get("coordinateUnits", "mm")
        if not _one_of(units, UNIT_TO_MM):
            raise InputError(f"invalid Slicer markups at '{where}.coordinateUnits': "
                             f"{_shown(units)} is neither 'mm' nor 'um'")
        scale = UNIT_TO_MM[units] * (RAS_TO_LPS if system == "RAS" else 1.0)
        list_is_background = _is_background(markup.get("name"))
        points = markup.get("controlPoints") or []
        if not isinstance(points, list):
            raise InputError(f"invalid Slicer markups at '{where}.controlPoints': a list of "
                             f"control points is needed, not {type(points).__name__}")
        for j, point in enumerate(points):
            if not isinstance(point, dict):
                raise InputError(f"invalid Slicer markups at '{where}.controlPoints.{j}': a "
                                 f"control point object is needed, not {type(point).__name__}")
            if point.get("positionStatus", "defined") != "defined":
                continue
            lps = _position(point, f"{where}.controlPoints.{j}.position") * scale
            background = list_is_background or _is_background(point.get("label")) or \
                _is_background(point.get("description"))
            (negative if background else positive).append(lps)
    if not positive:
        raise InputError("Slicer markups have no tumour point: at least one control point not "
                         "labelled 'background' is needed")
    return Clicks.from_points(positive, negative)


def _position(point: object, where: str) -> np.ndarray:
    value = point.get("position") if isinstance(point, dict) else None
    if (not isinstance(value, list) or len(value) != 3
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                    for v in value)):
        raise InputError(f"invalid Slicer markups at '{where}': three finite numbers are needed")
    return np.asarray(value, dtype=float)


def _one_of(value: object, allowed) -> bool:
    """``value in allowed`` for a value decoded from JSON, which may be unhashable."""
    return isinstance(value, str) and value in allowed


def _shown(value: object, limit: int = 40) -> str:
    """A JSON value as an error shows it: its repr, on one line, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_background(text: object) -> bool:
    return isinstance(text, str) and text.strip().lower() == "background"
