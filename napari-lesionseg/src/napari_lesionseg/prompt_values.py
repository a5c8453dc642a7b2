"""What the user drew, as the platform's JSON values and the server's prompt bodies.

Pure functions over world points (x, y, z mm, LPS; ``Volume.to_world`` makes them from layer
coordinates). A lesion's drawings layer holds napari shapes whose type says the prompt kind:
a path is a scribble, a polygon an outline of its slice, a rectangle a box, a line a RECIST
axis; each shape's label is ``tumor`` or ``background``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VERSION = {"major": 1, "minor": 0}
TUMOUR, BACKGROUND = "tumor", "background"
#: napari shape type -> (server prompt type, what the user calls it)
SHAPE_KINDS = {"path": ("scribbles", "scribbles"), "polygon": ("outlines", "outlines"),
               "rectangle": ("box", "boxes"), "line": ("recist", "RECIST lines")}


class PromptError(ValueError):
    """A drawing the server would refuse, said in one line before anything is sent."""


@dataclass(frozen=True)
class Drawing:
    """One napari shape in world coordinates."""

    shape_type: str  #: napari's: path, polygon, rectangle, line (ellipse is refused)
    points: np.ndarray  #: (N, 3) world x, y, z mm
    label: str = TUMOUR


def points_value(points: np.ndarray, labels: list[str]) -> dict:
    """grand-challenge "Multiple points" of world points and their labels."""
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    if len(points) != len(labels):
        raise ValueError(f"{len(points)} points but {len(labels)} labels")
    return {"type": "Multiple points", "version": VERSION,
            "points": [{"name": _label(name), "point": _xyz(p)} for p, name in zip(points, labels)]}


def drawings_prompt(drawings: list[Drawing]) -> dict:
    """The server prompt (``type`` and its value) of a lesion's drawings: one kind at a time, as
    the platform takes one prompt socket per kind."""
    if not drawings:
        raise PromptError("nothing drawn")
    unknown = sorted({d.shape_type for d in drawings} - set(SHAPE_KINDS))
    if unknown:
        raise PromptError(f"{', '.join(unknown)} shapes are no prompt: draw paths (scribbles), "
                          "polygons (outlines), rectangles (boxes) or lines (RECIST)")
    kinds = sorted({d.shape_type for d in drawings})
    if len(kinds) > 1:
        names = " and ".join(SHAPE_KINDS[k][1] for k in kinds)
        raise PromptError(f"the drawings mix {names}: a lesion starts from one kind (delete the "
                          "others, or use a new lesion), clicks then correct it")
    kind = kinds[0]
    if kind == "path":
        return {"type": "scribbles", "lines": scribbles_value(drawings)}
    if kind == "polygon":
        return {"type": "outlines", "polygons": outlines_value(drawings)}
    if kind == "rectangle":
        return {"type": "box", "box": boxes_value(drawings)}
    return {"type": "recist", "axes": recist_value(drawings)}


def scribbles_value(drawings: list[Drawing]) -> dict:
    lines = []
    for d in drawings:
        path = [_xyz(p) for p in _distinct(d.points)]
        if len(path) < 2:
            raise PromptError("a scribble needs at least 2 distinct points")
        lines.append({"name": _label(d.label), "seed_points": [path[0]],
                      "path_point_lists": [path]})
    return {"type": "Multiple lines", "version": VERSION, "lines": lines}


def outlines_value(drawings: list[Drawing]) -> dict:
    polygons = []
    for d in drawings:
        path = [_xyz(p) for p in _distinct(d.points)]
        if len(path) < 3:
            raise PromptError("an outline needs at least 3 distinct points")
        polygons.append({"name": _label(d.label), "seed_point": path[0], "path_points": path,
                         "sub_type": "poly", "groups": []})
    return {"type": "Multiple polygons", "version": VERSION, "polygons": polygons}


def boxes_value(drawings: list[Drawing]) -> dict:
    """One box is a "2D bounding box"; two (on orthogonal slices) "Multiple 2D bounding
    boxes". A box is the tumour's extent: a background box means nothing and is refused."""
    if any(d.label != TUMOUR for d in drawings):
        raise PromptError("a box says where the tumour is: label it tumor")
    corners = []
    for d in drawings:
        if len(d.points) != 4:
            raise PromptError(f"a box has 4 corners, this one {len(d.points)}")
        corners.append([_xyz(p) for p in d.points])
    if len(corners) == 1:
        return {"type": "2D bounding box", "version": VERSION, "corners": corners[0]}
    return {"type": "Multiple 2D bounding boxes", "version": VERSION,
            "boxes": [{"name": TUMOUR, "corners": c} for c in corners]}


def recist_value(drawings: list[Drawing]) -> dict:
    """The long axis alone ("Distance measurement") or with the short axis ("Multiple distance
    measurements", the longer line first): the order drawn does not matter."""
    if len(drawings) > 2:
        raise PromptError(f"RECIST is a long axis and optionally a short axis, not "
                          f"{len(drawings)} lines")
    lines = []
    for d in drawings:
        if len(d.points) != 2:
            raise PromptError("a RECIST axis is a line of 2 points")
        lines.append((np.asarray(d.points[0], float), np.asarray(d.points[1], float)))
    lines.sort(key=lambda line: -float(np.linalg.norm(line[1] - line[0])))
    if len(lines) == 1:
        start, end = lines[0]
        return {"type": "Distance measurement", "version": VERSION, "start": _xyz(start),
                "end": _xyz(end)}
    return {"type": "Multiple distance measurements", "version": VERSION,
            "lines": [{"name": name, "start": _xyz(s), "end": _xyz(e)}
                      for name, (s, e) in zip(("long axis", "short axis"), lines)]}


def _label(name: str) -> str:
    if name not in (TUMOUR, BACKGROUND):
        raise PromptError(f"label {name!r} is neither {TUMOUR} nor {BACKGROUND}")
    return name


def _xyz(point: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(point, dtype=float).reshape(3)]


def _distinct(points: np.ndarray) -> np.ndarray:
    """Consecutive duplicates dropped (a double click repeats the last vertex)."""
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    if len(points) < 2:
        return points
    keep = np.r_[True, np.linalg.norm(np.diff(points, axis=0), axis=1) > 1e-9]
    return points[keep]
