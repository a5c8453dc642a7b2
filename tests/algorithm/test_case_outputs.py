"""What a platform case writes: the mask, lesion-measurements (kind Anything), lesion-recist-axes
(kind Multiple distance measurements) and, when asked, the probability map; all or nothing."""

import json

import numpy as np
import pytest
import SimpleITK as sitk

from algorithm.errors import InputError
from algorithm.io import case_outputs
from algorithm.io.atomic import StagedOutputs, write_json_file
from algorithm.io.case_outputs import probability_requested, write_case_outputs
from algorithm.measurements import LesionMeasurements
from algorithm.methods.classical import GeodesicSegmenter
from algorithm.pipeline import segment
from algorithm.prompts import Clicks
from tests.algorithm.helpers import box_phantom, extreme_clicks

MASK = "images/lesion-segmentation/scan.mha"


@pytest.fixture(scope="module")
def segmented():
    image, mask = box_phantom()
    clicks = Clicks.from_points(extreme_clicks(image, mask))
    return image, segment(image, clicks, GeodesicSegmenter())


def write(tmp_path, segmented, **kwargs):
    image, result = segmented
    return write_case_outputs(tmp_path, tmp_path / "in/scan.mha", image, result,
                              method="classical", version="classical", **kwargs)


def files_under(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_the_outputs_and_nothing_else(tmp_path, segmented):
    written = write(tmp_path, segmented)
    assert [str(p.relative_to(tmp_path)) for p in written] == [
        MASK, "lesion-measurements.json", "lesion-recist-axes.json"]
    assert files_under(tmp_path) == sorted(str(p.relative_to(tmp_path)) for p in written)


def test_the_mask_is_the_result_on_the_image_grid(tmp_path, segmented):
    image, result = segmented
    write(tmp_path, segmented)
    mask = sitk.ReadImage(str(tmp_path / MASK))
    assert mask.GetPixelID() == sitk.sitkUInt8
    assert mask.GetSize() == image.GetSize() and mask.GetDirection() == image.GetDirection()
    assert np.array_equal(sitk.GetArrayFromImage(mask), result.mask)


def test_lesion_measurements_schema(tmp_path, segmented):
    image, result = segmented
    write(tmp_path, segmented)
    report = json.loads((tmp_path / "lesion-measurements.json").read_text())
    assert set(report) == {"measurements", "method", "modality", "warnings", "confidence",
                           "version"}
    assert report["method"] == "classical" and report["version"] == "classical"
    assert report["modality"] == result.modality and report["warnings"] == []
    assert report["confidence"] is None  # the pipeline gives none yet
    m = report["measurements"]
    assert set(m) == set(LesionMeasurements.model_fields) >= {
        "volume_ml", "long_axis", "short_axis", "recist_slice_index", "max_3d_diameter_mm",
        "n_components"}
    voxel_ml = np.prod(image.GetSpacing()) / 1000.0
    assert m["volume_ml"] == pytest.approx(result.mask.sum() * voxel_ml)
    assert m["n_components"] == 1
    for axis in ("long_axis", "short_axis"):
        assert set(m[axis]) == {"length_mm", "start", "end"}
        length = np.linalg.norm(np.subtract(m[axis]["end"], m[axis]["start"]))
        assert m[axis]["length_mm"] == pytest.approx(length)
    assert m["long_axis"]["length_mm"] >= m["short_axis"]["length_mm"]
    assert m["max_3d_diameter_mm"] >= m["long_axis"]["length_mm"]


def test_recist_axes_are_a_multiple_distance_measurements_value(tmp_path, segmented):
    write(tmp_path, segmented)
    value = json.loads((tmp_path / "lesion-recist-axes.json").read_text())
    report = json.loads((tmp_path / "lesion-measurements.json").read_text())
    assert value["type"] == "Multiple distance measurements"
    assert value["version"] == {"major": 1, "minor": 0}
    assert set(value) == {"type", "lines", "version"}
    assert [line["name"] for line in value["lines"]] == ["RECIST long axis", "RECIST short axis"]
    long_axis = report["measurements"]["long_axis"]
    assert value["lines"][0]["start"] == long_axis["start"]
    assert value["lines"][0]["end"] == long_axis["end"]


def test_confidence_is_reported_when_the_result_has_one(tmp_path, segmented):
    image, result = segmented

    class WithConfidence:  # what SegmentationResult gains when the pipeline scores its answer
        def __getattr__(self, name):
            return 0.83 if name == "confidence" else getattr(result, name)

    write_case_outputs(tmp_path, tmp_path / "scan.mha", image, WithConfidence(),
                       method="m", version="v")
    assert json.loads((tmp_path / "lesion-measurements.json").read_text())["confidence"] == 0.83


def test_the_probability_map_only_when_asked(tmp_path, segmented):
    image, result = segmented
    written = write(tmp_path, segmented, write_probability=True)
    path = tmp_path / "images/lesion-probability/scan.mha"
    assert path in written
    probability = sitk.ReadImage(str(path))
    assert probability.GetPixelID() == sitk.sitkFloat32
    assert probability.GetSize() == image.GetSize()
    np.testing.assert_allclose(probability.GetOrigin(), image.GetOrigin())
    np.testing.assert_allclose(probability.GetDirection(), image.GetDirection())
    values = sitk.GetArrayFromImage(probability)
    assert np.array_equal(values, result.probability_image())
    assert values.min() >= 0.0 and values.max() <= 1.0


@pytest.mark.parametrize("value, wanted", [
    (None, False), ("", False), ("0", False), ("false", False), ("1", True), ("yes", True),
    ("TRUE", True),
])
def test_probability_requested(value, wanted):
    environ = {} if value is None else {case_outputs.PROBABILITY_ENV: value}
    assert probability_requested(environ) is wanted


def test_a_nonsense_probability_setting_is_an_error():
    with pytest.raises(InputError, match="LESIONSEG_WRITE_PROBABILITY must be 1 or 0"):
        probability_requested({case_outputs.PROBABILITY_ENV: "sometimes"})


def test_a_failure_while_writing_leaves_nothing(tmp_path, segmented, monkeypatch):
    calls = []

    def fail_on_second(value, path):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        write_json_file(value, path)

    monkeypatch.setattr(case_outputs, "write_json_file", fail_on_second)
    out = tmp_path / "out"
    with pytest.raises(OSError, match="disk full"):
        write(out, segmented)
    assert not out.exists()


def test_a_failed_measurement_writes_nothing(tmp_path, segmented, monkeypatch):
    def broken(*_):
        raise ValueError("cannot measure")

    monkeypatch.setattr(case_outputs, "measure_lesion", broken)
    (tmp_path / "out").mkdir()
    with pytest.raises(ValueError):
        write(tmp_path / "out", segmented)
    assert list((tmp_path / "out").iterdir()) == []


def test_staging_keeps_folders_it_did_not_make(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images/keep.txt").write_text("someone else's")
    with pytest.raises(RuntimeError):
        with StagedOutputs(tmp_path) as staged:
            staged.add("images/new/a.json", lambda p: write_json_file({"a": 1}, p), ".json")
            raise RuntimeError("the case failed")
    assert files_under(tmp_path) == ["images/keep.txt"]


def test_non_finite_numbers_become_null(tmp_path):
    write_json_file({"a": float("nan"), "b": [1.0, float("inf")]}, tmp_path / "v.json")
    assert json.loads((tmp_path / "v.json").read_text()) == {"a": None, "b": [1.0, None]}
