"""The optional previous-segmentation socket: found like the other sockets (never trusting
inputs.json's paths), checked against the image's grid, binary, and handed to the pipeline."""

import json
from dataclasses import dataclass, field

import numpy as np
import pytest
import SimpleITK as sitk

from algorithm.errors import InputError
from algorithm.io.grand_challenge import locate_inputs
from algorithm.io.previous_mask import binary_mask, distinct_values, read_previous_mask
from algorithm.methods.classical import GeodesicSegmenter
from algorithm.platform_case import process_case
from algorithm.prompts import Clicks
from tests.algorithm.helpers import box_phantom, extreme_clicks, write_platform_case


@pytest.fixture
def case(tmp_path):
    image, mask = box_phantom()
    clicks = Clicks.from_points(extreme_clicks(image, mask)).to_multiple_points()
    return image, mask, clicks, tmp_path


def previous_like(image: sitk.Image, array: np.ndarray) -> sitk.Image:
    previous = sitk.GetImageFromArray(array)
    previous.CopyInformation(image)
    return previous


def listing(previous_path: str | None) -> list[dict]:
    items = [
        {"socket": {"slug": "medical-image", "relative_path": "images/medical-image"}},
        {"socket": {"slug": "lesion-clicks", "relative_path": "lesion-clicks.json"}},
    ]
    if previous_path is not None:
        items.append({"socket": {"slug": "previous-segmentation", "kind": "Segmentation",
                                 "relative_path": previous_path}})
    return items


def test_no_previous_segmentation_is_none(case):
    image, _, clicks, tmp = case
    assert locate_inputs(write_platform_case(tmp / "in", image, clicks)).previous_segmentation is None


def test_default_folder_is_found(case):
    image, mask, clicks, tmp = case
    root = write_platform_case(tmp / "in", image, clicks, previous=previous_like(image, mask))
    found = locate_inputs(root).previous_segmentation
    assert found == (root / "images/previous-segmentation/previous.mha").resolve()


def test_inputs_json_relative_path_is_followed(case):
    image, mask, clicks, tmp = case
    root = write_platform_case(tmp / "in", image, clicks)
    (root / "images/earlier-mask").mkdir(parents=True)
    sitk.WriteImage(previous_like(image, mask), str(root / "images/earlier-mask/step1.mha"))
    (root / "inputs.json").write_text(json.dumps(listing("images/earlier-mask")))
    assert locate_inputs(root).previous_segmentation.name == "step1.mha"


def test_listed_but_missing_is_an_error(case):
    image, _, clicks, tmp = case
    root = write_platform_case(tmp / "in", image, clicks)
    (root / "inputs.json").write_text(json.dumps(listing("images/previous-segmentation")))
    with pytest.raises(InputError, match="previous-segmentation.*does not exist"):
        locate_inputs(root)


@pytest.mark.parametrize("bad", ["../outside", "/etc", "images/../../x"])
def test_a_path_escaping_the_input_folder_is_refused(case, bad):
    image, _, clicks, tmp = case
    root = write_platform_case(tmp / "in", image, clicks)
    (tmp / "outside").mkdir()
    (root / "inputs.json").write_text(json.dumps(listing(bad)))
    with pytest.raises(InputError, match="previous-segmentation.*(relative path|escapes)"):
        locate_inputs(root)


def test_a_symlink_out_of_the_input_folder_is_refused(case):
    image, mask, clicks, tmp = case
    root = write_platform_case(tmp / "in", image, clicks)
    (tmp / "elsewhere").mkdir()
    sitk.WriteImage(previous_like(image, mask), str(tmp / "elsewhere/previous.mha"))
    (root / "images/previous-segmentation").symlink_to(tmp / "elsewhere")
    with pytest.raises(InputError, match="previous-segmentation.*escapes"):
        locate_inputs(root)


def test_two_previous_masks_are_ambiguous(case):
    image, mask, clicks, tmp = case
    root = write_platform_case(tmp / "in", image, clicks, previous=previous_like(image, mask))
    sitk.WriteImage(previous_like(image, mask), str(root / "images/previous-segmentation/b.mha"))
    with pytest.raises(InputError, match="exactly one.*previous-segmentation.*found 2"):
        locate_inputs(root)


def _write(tmp, previous: sitk.Image):
    path = tmp / "previous.mha"
    sitk.WriteImage(previous, str(path))
    return path


@pytest.mark.parametrize("change, fragment", [
    (lambda im: sitk.Image([s + 1 for s in im.GetSize()], sitk.sitkUInt8), "has size"),
    (lambda im: im.SetSpacing([v * 1.01 for v in im.GetSpacing()]), "has spacing"),
    (lambda im: im.SetOrigin([v + 0.5 for v in im.GetOrigin()]), "has origin"),
    (lambda im: im.SetDirection(np.eye(3).ravel().tolist()), "has direction"),
])
def test_a_mask_on_another_grid_says_what_differs(case, change, fragment):
    image, mask, _, tmp = case
    previous = previous_like(image, mask)
    replaced = change(previous)
    previous = replaced if isinstance(replaced, sitk.Image) else previous
    with pytest.raises(InputError, match=f"previous segmentation previous.mha {fragment}.*the image"):
        read_previous_mask(_write(tmp, previous), image)


def test_rounding_of_the_geometry_is_tolerated(case):
    image, mask, _, tmp = case
    previous = previous_like(image, mask)
    previous.SetOrigin([v + 1e-6 for v in image.GetOrigin()])
    previous.SetSpacing([v * (1 + 1e-7) for v in image.GetSpacing()])
    got = read_previous_mask(_write(tmp, previous), image)
    assert np.array_equal(sitk.GetArrayFromImage(got), mask)


@pytest.mark.parametrize("values", [(0, 1, 2), (0, 2), (0, 0.5)])
def test_a_non_binary_mask_is_refused(case, values):
    image, mask, _, tmp = case
    array = np.where(mask, values[1], values[0]).astype(np.float32)
    if len(values) > 2:
        array[0, 0, :3] = values[2]
    with pytest.raises(InputError, match="not binary.*0 and 1"):
        read_previous_mask(_write(tmp, previous_like(image, array)), image)


@pytest.mark.parametrize("foreground, dtype", [(1, np.uint8), (255, np.uint8), (1.0, np.float32)])
def test_binary_masks_become_zero_one(case, foreground, dtype):
    image, mask, _, tmp = case
    array = (mask * foreground).astype(dtype)
    got = read_previous_mask(_write(tmp, previous_like(image, array)), image)
    assert got.GetPixelID() == sitk.sitkUInt8
    assert np.array_equal(sitk.GetArrayFromImage(got), mask)


@dataclass
class RecordingSegmenter(GeodesicSegmenter):
    """The classical method, keeping the previous mask each grid case carried."""

    previous_masks: list = field(default_factory=list)

    def predict(self, case):
        self.previous_masks.append(case.previous_mask)
        return super().predict(case)


def test_the_previous_mask_reaches_the_segmenter(case):
    image, mask, clicks, tmp = case
    first, refined = RecordingSegmenter(), RecordingSegmenter()
    process_case(locate_inputs(write_platform_case(tmp / "a", image, clicks)), tmp / "out-a",
                 first)
    root = write_platform_case(tmp / "b", image, clicks, previous=previous_like(image, mask))
    process_case(locate_inputs(root), tmp / "out-b", refined)
    assert all(m is None for m in first.previous_masks)
    on_grid = refined.previous_masks[-1]
    assert on_grid is not None and on_grid.max() == 1.0 and 0.0 < on_grid.mean() < 1.0


def test_a_bad_previous_mask_fails_the_case_without_output(case):
    image, mask, clicks, tmp = case
    bad = previous_like(image, (mask * 3).astype(np.uint8))
    root = write_platform_case(tmp / "in", image, clicks, previous=bad)
    with pytest.raises(InputError, match="not binary"):
        process_case(locate_inputs(root), tmp / "out", GeodesicSegmenter())
    assert not (tmp / "out").exists()


@pytest.mark.parametrize("values, pixel, kept", [
    ((0, 1), sitk.sitkUInt8, True), ((0,), sitk.sitkUInt8, True),
    ((0, 255), sitk.sitkUInt8, False), ((0, 1), sitk.sitkInt16, False),
    ((0.0, 1.0), sitk.sitkFloat32, False),
])
def test_binary_masks_become_uint8_zero_one_without_a_copy_when_they_are(values, pixel, kept):
    """A uint8 0/1 mask is returned as it is (a large CT's previous mask is 1 GB); others are
    converted, with the same values as a numpy comparison and the same grid."""
    array = np.zeros((5, 6, 7))
    array[1:3, 2:4, 3:6] = values[-1]
    mask = sitk.Cast(sitk.GetImageFromArray(array), pixel)
    mask.SetSpacing((0.7, 0.9, 3.0))
    mask.SetOrigin((1.0, -2.0, 3.0))
    np.testing.assert_array_equal(distinct_values(mask, slab=2), np.unique(array))
    out = binary_mask(mask, "previous segmentation")
    assert (out is mask) is kept
    assert out.GetPixelID() == sitk.sitkUInt8
    np.testing.assert_array_equal(sitk.GetArrayFromImage(out), (array != 0).astype(np.uint8))
    assert out.GetSpacing() == mask.GetSpacing() and out.GetOrigin() == mask.GetOrigin()


def test_non_binary_values_are_found_slab_by_slab():
    array = np.zeros((9, 4, 4), np.uint8)
    array[8, 0, 0] = 2  # in the last slab only
    array[0, 0, 0] = 1
    with pytest.raises(InputError, match="3 distinct values"):
        binary_mask(sitk.GetImageFromArray(array), "previous segmentation")
