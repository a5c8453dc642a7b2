"""Small synthetic images for the algorithm tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from algorithm.phantom import rotation_direction

#: Oblique and with a flipped axis (determinant -1): the hardest ordinary case.
OBLIQUE_FLIPPED = tuple((np.asarray(rotation_direction((20.0, -15.0, 35.0))).reshape(3, 3)
                         @ np.diag([1.0, -1.0, 1.0])).ravel())
#: Axes permuted and flipped, as in a sagittal acquisition stored as-is.
PERMUTED = (0.0, 0.0, 1.0, 0.0, -1.0, 0.0, 1.0, 0.0, 0.0)


def make_image(array: np.ndarray, spacing_xyz=(0.7, 0.9, 3.0), direction=OBLIQUE_FLIPPED,
               origin=(12.5, -40.0, 100.0)) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing_xyz)
    image.SetDirection(direction)
    image.SetOrigin(origin)
    return image


def box_phantom(shape=(24, 64, 56), lo=(8, 20, 18), hi=(16, 44, 40), **geometry):
    """A bright box in a darker, CT-valued field; returns (image, mask array)."""
    rng = np.random.default_rng(0)
    mask = np.zeros(shape, np.uint8)
    mask[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = 1
    values = np.where(mask, 120.0, 20.0) + rng.normal(0, 3, shape)
    values[:, :4, :] = -1000.0  # some air, so the intensity test recognises CT
    return make_image(values.astype(np.int16), **geometry), mask


def two_box_phantom(**geometry):
    """Two separate bright boxes of the same intensity; returns (image, first, second masks)."""
    image, first = box_phantom(lo=(2, 8, 6), hi=(8, 24, 20), **geometry)
    array = sitk.GetArrayFromImage(image)
    second = np.zeros_like(first)
    second[14:22, 36:58, 30:50] = 1
    array[second.astype(bool)] = 120
    both = sitk.GetImageFromArray(array)
    both.CopyInformation(image)
    return both, first, second


def extreme_clicks(image: sitk.Image, mask: np.ndarray, inward=(1, 3, 3)) -> np.ndarray:
    """Six world-coordinate clicks just inside the mask's extremes, mapped with SimpleITK."""
    coords = np.argwhere(mask)
    centre = np.round(coords.mean(axis=0)).astype(int)
    points = []
    for axis in range(3):
        for end, sign in ((coords[:, axis].min(), 1), (coords[:, axis].max(), -1)):
            p = centre.copy()
            p[axis] = end + sign * inward[axis]
            points.append(image.TransformContinuousIndexToPhysicalPoint(
                [float(v) for v in p[::-1]]))
    return np.asarray(points)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(bool), b.astype(bool)
    return 2.0 * np.logical_and(a, b).sum() / max(a.sum() + b.sum(), 1)


def write_platform_case(root, image: sitk.Image, clicks: dict, name: str = "case.mha",
                        previous: sitk.Image | None = None):
    """A case laid out as grand-challenge lays it out (no inputs.json); returns ``root``."""
    root = Path(root)
    (root / "images/medical-image").mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(root / "images/medical-image" / name), useCompression=True)
    (root / "lesion-clicks.json").write_text(json.dumps(clicks))
    if previous is not None:
        (root / "images/previous-segmentation").mkdir(parents=True, exist_ok=True)
        sitk.WriteImage(previous, str(root / "images/previous-segmentation/previous.mha"))
    return root
