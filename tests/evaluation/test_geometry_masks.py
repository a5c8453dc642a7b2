"""Grid geometry (axial axis, mismatch) and mask reading (formats, orientation, validation)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk

from evaluation.errors import EvaluationError
from evaluation.geometry import Geometry, axial_array_axis
from evaluation.masks import read_mask, strip_mask_suffix
from tests.evaluation.helpers import IDENTITY, write_mask


def rotation_about_x(degrees: float) -> tuple[float, ...]:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return (1.0, 0.0, 0.0, 0.0, c, -s, 0.0, s, c)


@pytest.mark.parametrize(
    "direction, axis",
    [
        (IDENTITY, 0),
        ((-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0), 0),  # LPS/RAS flip
        ((1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, -1.0), 0),  # slices stored feet first
        (rotation_about_x(20.0), 0),  # gantry tilt
        ((0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0), 1),  # index y runs along patient z
        ((0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0), 2),  # index x runs along patient z
        (rotation_about_x(45.0), 0),  # tie goes to the image z axis
    ],
)
def test_axial_axis_is_the_one_closest_to_patient_z(direction, axis: int) -> None:
    assert axial_array_axis(direction) == axis


def geometry(**changes) -> Geometry:
    values = dict(
        size_xyz=(8, 9, 10),
        spacing_xyz=(0.7, 0.7, 2.5),
        origin_xyz=(-100.0, 20.0, 3.0),
        direction=IDENTITY,
    )
    values.update(changes)
    return Geometry(**values)


def test_same_grid_within_float32_rounding() -> None:
    base = geometry()
    rounded = geometry(
        spacing_xyz=tuple(float(np.float32(s)) for s in base.spacing_xyz),
        origin_xyz=tuple(float(np.float32(o)) for o in base.origin_xyz),
    )
    assert base.mismatch(rounded) is None


@pytest.mark.parametrize(
    "changes, word",
    [
        ({"size_xyz": (8, 9, 11)}, "size"),
        ({"spacing_xyz": (0.7, 0.7, 2.0)}, "spacing"),
        ({"origin_xyz": (-100.0, 20.0, 3.5)}, "origin"),
        ({"direction": (-1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)}, "direction"),
    ],
)
def test_grid_mismatch_is_described(changes, word: str) -> None:
    assert geometry().mismatch(geometry(**changes)).startswith(word)


@pytest.mark.parametrize("suffix", [".mha", ".nii.gz", ".nii", ".nrrd"])
def test_reads_formats_in_zyx_order_with_reversed_spacing(tmp_path, suffix: str) -> None:
    array = np.zeros((3, 4, 5), np.uint8)
    array[1, 2, 3] = 1
    path = write_mask(tmp_path / f"mask{suffix}", array, spacing_xyz=(0.5, 0.75, 3.0))
    mask = read_mask(path)
    assert mask.array.dtype == bool and mask.array.shape == (3, 4, 5) and mask.array[1, 2, 3]
    assert mask.geometry.spacing_zyx == pytest.approx((3.0, 0.75, 0.5))
    assert strip_mask_suffix(path.name) == "mask"


def test_float_and_bool_like_masks_with_only_0_and_1_are_accepted(tmp_path) -> None:
    array = np.zeros((2, 3, 4), np.float32)
    array[0, 1, 2] = 1.0
    assert read_mask(write_mask(tmp_path / "m.mha", array, dtype=np.float32)).array.sum() == 1


@pytest.mark.parametrize("bad_value", [2, 255])
def test_non_binary_mask_is_an_input_error(tmp_path, bad_value: int) -> None:
    array = np.zeros((2, 3, 4), np.uint8)
    array[0, 0, 0] = bad_value
    with pytest.raises(EvaluationError, match=f"not binary.*{bad_value}"):
        read_mask(write_mask(tmp_path / "m.mha", array))


def test_2d_vector_missing_and_unreadable_masks_are_input_errors(tmp_path) -> None:
    flat = sitk.GetImageFromArray(np.zeros((4, 5), np.uint8))
    sitk.WriteImage(flat, str(tmp_path / "flat.mha"))
    with pytest.raises(EvaluationError, match="2-D"):
        read_mask(tmp_path / "flat.mha")
    rgb = sitk.GetImageFromArray(np.zeros((2, 4, 5, 3), np.uint8), isVector=True)
    sitk.WriteImage(rgb, str(tmp_path / "rgb.mha"))
    with pytest.raises(EvaluationError, match="scalar"):
        read_mask(tmp_path / "rgb.mha")
    with pytest.raises(EvaluationError, match="does not exist"):
        read_mask(tmp_path / "absent.mha")
    (tmp_path / "junk.mha").write_text("not an image")
    with pytest.raises(EvaluationError, match="cannot be read"):
        read_mask(tmp_path / "junk.mha")
