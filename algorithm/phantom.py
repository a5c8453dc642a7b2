"""Synthetic phantoms: a lesion in a body-like volume with oblique, anisotropic geometry.

Used by the tests, the bundled example case and the smoke tests, so nothing there needs real
patient data. Everything is derived from a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from algorithm.click_convention import PROTOCOL_INWARD, inward_shifts
from algorithm.geometry import index_to_world
from algorithm.preprocessing import Modality


@dataclass(frozen=True)
class Phantom:
    image: sitk.Image
    mask: sitk.Image  #: uint8 reference lesion on the image grid
    clicks_xyz: np.ndarray  #: six reference-protocol clicks, world mm (x, y, z)


def rotation_direction(angles_deg: tuple[float, float, float]) -> tuple[float, ...]:
    """Direction cosines (row-major 3x3) of rotations about x, y, z, in that order."""
    ax, ay, az = np.deg2rad(angles_deg)
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return tuple((rz @ ry @ rx).ravel())


def lesion_mask(shape: tuple[int, int, int], spacing: np.ndarray, centre: np.ndarray,
                radii_mm: np.ndarray, rng: np.random.Generator, lobulation: float = 0.25) -> np.ndarray:
    """A lobulated ellipsoid: the unit ellipsoid's radius modulated by smooth random noise."""
    grid = np.indices(shape, dtype=np.float32)
    rel = [(grid[a] - centre[a]) * spacing[a] / radii_mm[a] for a in range(3)]
    r = np.sqrt(sum(x**2 for x in rel))
    noise = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32),
                                    sigma=np.maximum(radii_mm / spacing / 3, 1))
    noise /= max(float(np.abs(noise).max()), 1e-6)
    return r < 1.0 + lobulation * noise


def reference_clicks(mask: np.ndarray, spacing: np.ndarray,
                     inward: int = PROTOCOL_INWARD) -> np.ndarray:
    """Six clicks just inside the extremes (two per axis), deterministic: the extreme voxel
    closest to the mask's centroid line, moved inward (1 voxel on thick-slice axes) and stepped
    back until inside the mask. Continuous indices (z, y, x)."""
    coords = np.argwhere(mask)
    centroid = coords.mean(axis=0)
    shifts = inward_shifts(spacing, inward)
    points = []
    for axis in range(3):
        for end, sign in ((coords[:, axis].min(), 1), (coords[:, axis].max(), -1)):
            plane = coords[coords[:, axis] == end]
            others = [a for a in range(3) if a != axis]
            start = plane[np.argmin(((plane[:, others] - centroid[others]) ** 2).sum(axis=1))]
            for shift in range(shifts[axis], -1, -1):
                p = start.copy()
                p[axis] += sign * shift
                if mask[tuple(p)]:
                    break
            points.append(p)
    return np.asarray(points, dtype=float)


def make_phantom(
    modality: Modality = "CT",
    shape: tuple[int, int, int] = (40, 96, 96),
    spacing_zyx: tuple[float, float, float] = (3.0, 0.8, 0.8),
    direction: tuple[float, ...] = rotation_direction((12.0, -8.0, 25.0)),
    origin: tuple[float, float, float] = (-35.2, 18.7, -102.4),
    radii_mm: tuple[float, float, float] = (24.0, 18.0, 14.0),
    seed: int = 0,
) -> Phantom:
    rng = np.random.default_rng(seed)
    spacing = np.asarray(spacing_zyx, dtype=float)
    grid = np.indices(shape, dtype=np.float32)
    centre = (np.asarray(shape) - 1) / 2.0
    body_rel = sum(((grid[a] - centre[a]) * spacing[a] / (0.45 * shape[a] * spacing[a])) ** 2
                   for a in (1, 2))
    body = body_rel < 1.0
    lesion_centre = centre + rng.uniform(-0.08, 0.08, 3) * np.asarray(shape)
    lesion = lesion_mask(shape, spacing, lesion_centre, np.asarray(radii_mm), rng) & body
    lesion = ndimage.binary_opening(lesion, iterations=1)
    labels, n = ndimage.label(lesion)
    if n > 1:
        lesion = labels == 1 + np.argmax(np.bincount(labels.ravel())[1:])
    smooth = lambda a, s: ndimage.gaussian_filter(a.astype(np.float32), s)
    texture = smooth(rng.standard_normal(shape), 2.0)
    if modality == "CT":
        values = np.where(body, 45.0, -1000.0) + np.where(lesion, 60.0 + 25 * texture, 0.0)
        values = smooth(values, 0.7) + rng.normal(0, 12.0, shape)
        array, pixel = np.round(values).astype(np.int16), sitk.sitkInt16
    else:
        bias = 1.0 + 0.2 * (grid[2] / shape[2] - 0.5)
        values = np.where(body, 300.0, 5.0) + np.where(lesion, 350.0 + 80 * texture, 0.0)
        values = np.clip(smooth(values, 0.7) * bias + rng.normal(0, 15.0, shape), 0, None)
        array, pixel = values.astype(np.float32), sitk.sitkFloat32
    image = sitk.GetImageFromArray(array)
    image = sitk.Cast(image, pixel)
    image.SetSpacing(tuple(float(s) for s in spacing[::-1]))
    image.SetDirection(direction)
    image.SetOrigin(origin)
    mask = sitk.GetImageFromArray(lesion.astype(np.uint8))
    mask.CopyInformation(image)
    clicks = index_to_world(image, reference_clicks(lesion, spacing))
    return Phantom(image=image, mask=mask, clicks_xyz=clicks)
