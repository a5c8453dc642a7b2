"""What one prompt says about the image, before the prompts are combined (``seeds``): voxels
known to be tumour or background, and how far the lesion reaches.

All in the image's own continuous voxel indices (z, y, x): voxel ``k`` is centred on ``k`` and
spans ``k - 0.5 .. k + 0.5`` (``algorithm.geometry.world_to_index`` gives these from world mm).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

from algorithm.geometry import check_inside, inside_image, shape_zyx, world_to_index
from algorithm.prompts.raster import SNAP

RAS_HINT = ("these look like RAS coordinates (3D Slicer): flip x and y (prompts are LPS world "
            "mm, as DICOM and ITK use)")
_FLIP_XY = np.array([-1.0, -1.0, 1.0])


def no_voxels() -> np.ndarray:
    return np.zeros((0, 3), dtype=np.int64)


@dataclass(frozen=True)
class ExtentPiece:
    """How far one prompt says the lesion reaches: ``lo`` .. ``hi`` (continuous indices, (3,)
    each), and per axis and side ((3, 2): low, high) whether the prompt bounds the lesion there
    (a box's edges do; the slice a box lies on says nothing about the lesion's depth across
    it, and a scribble inside the tumour only says it reaches at least that far)."""

    lo: np.ndarray
    hi: np.ndarray
    bounded: np.ndarray

    @classmethod
    def of(cls, lo, hi, bounded) -> "ExtentPiece":
        """``bounded``: (3, 2), (3,) per axis, or one flag for every side."""
        bounded = np.asarray(bounded, dtype=bool)
        if bounded.ndim == 1:
            bounded = bounded[:, None]
        bounded = np.broadcast_to(bounded, (3, 2)).copy()
        return cls(np.asarray(lo, dtype=float), np.asarray(hi, dtype=float), bounded)


@dataclass(frozen=True)
class PromptFacts:
    """One prompt kind's contribution: (K, 3) int voxel lists and extent pieces."""

    tumour: np.ndarray = field(default_factory=no_voxels)
    background: np.ndarray = field(default_factory=no_voxels)
    weak_tumour: np.ndarray = field(default_factory=no_voxels)
    extent: tuple[ExtentPiece, ...] = ()


def points_to_index(image: sitk.Image, points_xyz: np.ndarray, what: str) -> np.ndarray:
    """Continuous indices (z, y, x) of world points, refusing any outside the image (with a
    hint when x and y flipped would put them all inside: RAS taken for LPS). A point on the
    image's outer face (a box drawn to the edge) may land a rounding error beyond it: within
    ``SNAP`` it is taken as on it."""
    shape = shape_zyx(image)
    index = world_to_index(image, points_xyz)
    on_face = np.clip(index, -0.5, shape - 0.5)
    index = np.where(np.abs(index - on_face) <= SNAP, on_face, index)
    if not inside_image(index, shape).all() and inside_image(
            world_to_index(image, np.asarray(points_xyz) * _FLIP_XY), shape).all():
        check_inside(index, shape, f"{what} point",
                     hint=f"the prompt and the image do not overlap; {RAS_HINT}")
    check_inside(index, shape, f"{what} point", hint="the prompt and the image do not overlap")
    return index


def slice_voxels(axis: int, number: int, plane: np.ndarray) -> np.ndarray:
    """(K, 3) int voxels of the ``True`` cells of a 2D ``plane`` lying on slice ``number``
    across ``axis``."""
    cells = np.argwhere(plane)
    return np.insert(cells, axis, number, axis=1).astype(np.int64)


def plane_shape(shape, axis: int) -> tuple[int, int]:
    return tuple(int(n) for a, n in enumerate(shape) if a != axis)  # type: ignore[return-value]
