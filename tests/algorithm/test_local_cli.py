import json

import numpy as np
import pytest
import SimpleITK as sitk

from algorithm.io.images import read_image
from algorithm.local_cli import main
from algorithm.phantom import rotation_direction
from algorithm.prompts import Clicks
from tests.algorithm.dicom import arrays_equal_on_same_grid, write_dicom_series
from tests.algorithm.helpers import box_phantom, dice, extreme_clicks

RIGHT_HANDED = rotation_direction((10.0, 20.0, -15.0))


def clicks_file(path, image, mask):
    path.write_text(json.dumps(Clicks.from_points(extreme_clicks(image, mask))
                               .to_multiple_points()))
    return path


@pytest.mark.parametrize("suffix", [".nii.gz", ".nrrd", ".mha"])
def test_segment_common_formats(tmp_path, capfd, suffix):
    image, truth = box_phantom(direction=RIGHT_HANDED)
    sitk.WriteImage(image, str(tmp_path / f"scan{suffix}"))
    clicks = clicks_file(tmp_path / "clicks.json", image, truth)
    out = tmp_path / f"mask{suffix}"
    assert main(["segment", str(tmp_path / f"scan{suffix}"), str(clicks), "-o", str(out)]) == 0
    mask = sitk.ReadImage(str(out))
    assert mask.GetSize() == image.GetSize()
    np.testing.assert_allclose(mask.GetDirection(), image.GetDirection(), atol=1e-5)
    np.testing.assert_allclose(mask.GetOrigin(), image.GetOrigin(), atol=1e-4)
    assert dice(sitk.GetArrayFromImage(mask), truth) > 0.9


def test_dicom_series_keeps_geometry_and_modality(tmp_path):
    """Non-square pixels and an oblique orientation survive the DICOM round trip exactly."""
    image, truth = box_phantom(direction=RIGHT_HANDED, spacing_xyz=(0.7, 0.9, 3.0))
    write_dicom_series(image, tmp_path / "dicom", modality="MR")
    loaded = read_image(tmp_path / "dicom")
    assert arrays_equal_on_same_grid(image, loaded)
    assert loaded.GetMetaData("Modality") == "MR"
    clicks = clicks_file(tmp_path / "clicks.json", image, truth)
    out = tmp_path / "mask.mha"
    assert main(["segment", str(tmp_path / "dicom"), str(clicks), "-o", str(out)]) == 0
    assert dice(sitk.GetArrayFromImage(sitk.ReadImage(str(out))), truth) > 0.9


def test_refinement_with_previous_mask(tmp_path):
    image, truth = box_phantom()
    sitk.WriteImage(image, str(tmp_path / "scan.mha"))
    clicks = clicks_file(tmp_path / "clicks.json", image, truth)
    first, second = tmp_path / "first.mha", tmp_path / "second.mha"
    assert main(["segment", str(tmp_path / "scan.mha"), str(clicks), "-o", str(first)]) == 0
    assert main(["segment", str(tmp_path / "scan.mha"), str(clicks), "-o", str(second),
                 "--previous-mask", str(first)]) == 0
    assert second.is_file()


def test_batch_keeps_going_past_a_bad_case(tmp_path, capfd):
    cases = tmp_path / "cases"
    image, truth = box_phantom()
    for name in ("a_good", "c_good"):
        (cases / name).mkdir(parents=True)
        sitk.WriteImage(image, str(cases / name / "scan.nii.gz"))
        clicks_file(cases / name / "lesion-clicks.json", image, truth)
    (cases / "b_bad").mkdir()
    sitk.WriteImage(image, str(cases / "b_bad" / "scan.nii.gz"))
    (cases / "b_bad" / "lesion-clicks.json").write_text('{"type": "Multiple points"')
    write_dicom_series(image, cases / "d_dicom" / "series")
    clicks_file(cases / "d_dicom" / "lesion-clicks.json", image, truth)
    out = tmp_path / "out"
    code = main(["batch", str(cases), str(out)])
    last = capfd.readouterr().err.strip().splitlines()[-1]
    assert code != 0 and last.startswith("error: 1 of 4 cases failed (b_bad)")
    assert sorted(p.name for p in out.glob("*.mha")) == ["a_good.mha", "c_good.mha",
                                                          "d_dicom.mha"]
    report = json.loads((out / "batch_report.json").read_text(encoding="utf-8"))
    assert [f["case"] for f in report["failed"]] == ["b_bad"]
    assert "not valid JSON" in report["failed"][0]["error"]


def test_output_suffix_is_checked(tmp_path, capfd):
    image, truth = box_phantom()
    sitk.WriteImage(image, str(tmp_path / "scan.mha"))
    clicks = clicks_file(tmp_path / "clicks.json", image, truth)
    code = main(["segment", str(tmp_path / "scan.mha"), str(clicks), "-o", str(tmp_path / "m.png")])
    assert code == 2 and "must end in" in capfd.readouterr().err.splitlines()[-1]


def test_clicks_on_boundary_option_reaches_the_pipeline(tmp_path):
    """``--clicks-on-boundary`` gives what the pipeline gives with the option, in both
    commands, and not what it gives without it."""
    from algorithm.methods.classical import GeodesicSegmenter
    from algorithm.pipeline import PipelineConfig, segment

    image, truth = box_phantom(direction=RIGHT_HANDED)
    case = tmp_path / "cases" / "case1"
    case.mkdir(parents=True)
    sitk.WriteImage(image, str(case / "scan.mha"))
    boundary = Clicks.from_points(extreme_clicks(image, truth, inward=(0, 0, 0)))
    (case / "lesion-clicks.json").write_text(json.dumps(boundary.to_multiple_points()))
    out = tmp_path / "mask.mha"
    assert main(["segment", str(case / "scan.mha"), str(case / "lesion-clicks.json"), "-o",
                 str(out), "--method", "classical", "--clicks-on-boundary"]) == 0
    assert main(["batch", str(tmp_path / "cases"), str(tmp_path / "batch"), "--method",
                 "classical", "--clicks-on-boundary"]) == 0
    expected = {flag: segment(image, boundary, GeodesicSegmenter(),
                              config=PipelineConfig(clicks_on_boundary=flag)).mask
                for flag in (True, False)}
    for written in (out, tmp_path / "batch" / "case1.mha"):
        got = sitk.GetArrayFromImage(sitk.ReadImage(str(written)))
        np.testing.assert_array_equal(got, expected[True])
        assert not np.array_equal(got, expected[False])
