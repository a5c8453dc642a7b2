"""Maximum axial diameter (RECIST long axis) and short axis on shapes with known diameters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from algorithm.measurements import axial_diameters, feret_diameters
from tests.evaluation.helpers import ellipsoid


def grid_points(mask2d: np.ndarray, spacing) -> np.ndarray:
    return np.argwhere(mask2d) * np.asarray(spacing, float)


@pytest.mark.parametrize("spacing", [(0.5, 0.5), (0.5, 1.0), (1.0, 0.25)])
def test_axis_aligned_ellipse(spacing) -> None:
    """Semi-axes 5 mm (rows) and 10 mm (columns) on grids that contain the vertices: 20 x 10 mm."""
    shape = (int(12 / spacing[0]) * 2 + 1, int(12 / spacing[1]) * 2 + 1)
    centre = [(n - 1) / 2 for n in shape]
    mask = ellipsoid(shape, centre, (5.0, 10.0), spacing)
    long_mm, short_mm = feret_diameters(grid_points(mask, spacing))
    assert long_mm == pytest.approx(20.0)
    assert short_mm == pytest.approx(10.0)


def test_rectangle_long_axis_is_diagonal_short_axis_perpendicular_chord() -> None:
    """A W x H rectangle: long = its diagonal D, short = the chord through the centre, H * D / W."""
    mask = np.zeros((12, 14), bool)
    mask[2:10, 1:13] = True  # 8 x 12 voxels
    spacing = (0.6, 0.8)
    width, height = 11 * 0.8, 7 * 0.6
    diagonal = math.hypot(width, height)
    long_mm, short_mm = feret_diameters(grid_points(mask, spacing))
    assert long_mm == pytest.approx(diagonal)
    assert short_mm == pytest.approx(height * diagonal / width)


def test_rotated_ellipse_within_one_pixel() -> None:
    spacing = (0.5, 0.5)
    rows, cols = np.mgrid[:81, :81] * 0.5 - 20.0
    angle = math.radians(30)
    u = rows * math.cos(angle) + cols * math.sin(angle)
    v = -rows * math.sin(angle) + cols * math.cos(angle)
    mask = (u / 15.0) ** 2 + (v / 6.0) ** 2 <= 1.0
    long_mm, short_mm = feret_diameters(grid_points(mask, spacing))
    assert long_mm == pytest.approx(30.0, abs=0.5 * math.sqrt(2))
    assert short_mm == pytest.approx(12.0, abs=0.5 * math.sqrt(2))
    assert short_mm <= long_mm


def test_degenerate_point_sets() -> None:
    assert feret_diameters(np.array([[1.0, 2.0]])) == (0.0, 0.0)
    line = np.array([[0.0, 0.0], [0.0, 0.7], [0.0, 1.4], [0.0, 2.1]])
    long_mm, short_mm = feret_diameters(line)
    assert (long_mm, short_mm) == (pytest.approx(2.1), 0.0)
    diagonal = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    assert feret_diameters(diagonal) == (pytest.approx(2 * math.sqrt(2)), 0.0)


def test_3d_lesion_is_measured_in_its_largest_axial_slice() -> None:
    """Ellipsoid with in-plane semi-axes 8 and 4 mm: the centre slice gives 16 x 8 mm."""
    spacing = (3.0, 0.5, 1.0)  # thick slices, anisotropic in plane
    shape = (9, 41, 21)
    mask = ellipsoid(shape, (4, 20, 10), (9.0, 8.0, 4.0), spacing)
    result = axial_diameters(mask, spacing, axial_axis=0)
    assert (result.long_mm, result.short_mm, result.slice_index) == (
        pytest.approx(16.0),
        pytest.approx(8.0),
        4,
    )


def test_single_voxel_has_zero_diameters_no_voxel_width_added() -> None:
    mask = np.zeros((3, 3, 3), bool)
    mask[1, 1, 1] = True
    result = axial_diameters(mask, (1.0, 1.0, 1.0))
    assert (result.long_mm, result.short_mm, result.slice_index) == (0.0, 0.0, 1)


def test_empty_mask_has_zero_diameters() -> None:
    result = axial_diameters(np.zeros((3, 4, 5), bool), (1.0, 1.0, 1.0))
    assert (result.long_mm, result.short_mm, result.slice_index) == (0.0, 0.0, None)


def test_axial_axis_selects_the_measurement_plane() -> None:
    """A rod along array axis 0 is long in slices across axis 2 and a dot across axis 0."""
    mask = np.zeros((11, 5, 5), bool)
    mask[:, 2, 2] = True
    assert axial_diameters(mask, (2.0, 1.0, 1.0), axial_axis=0).long_mm == 0.0
    assert axial_diameters(mask, (2.0, 1.0, 1.0), axial_axis=2).long_mm == pytest.approx(20.0)
    assert axial_diameters(mask, (2.0, 1.0, 1.0), axial_axis=1).long_mm == pytest.approx(20.0)


def test_two_components_are_measured_as_one_lesion() -> None:
    mask = np.zeros((1, 3, 12), bool)
    mask[0, 1, 1] = True
    mask[0, 1, 10] = True
    assert axial_diameters(mask, (1.0, 1.0, 1.5)).long_mm == pytest.approx(13.5)
