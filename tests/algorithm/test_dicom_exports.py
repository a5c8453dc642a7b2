"""DICOM folders as exported: several series listed and chosen by UID, nested folders searched."""

import json

import numpy as np
import pytest
import SimpleITK as sitk

from algorithm.errors import InputError
from algorithm.io.dicom import find_series
from algorithm.io.images import read_image
from algorithm.local_cli import main
from algorithm.phantom import rotation_direction
from algorithm.prompts import Clicks
from tests.algorithm.dicom import arrays_equal_on_same_grid, write_dicom_series
from tests.algorithm.helpers import box_phantom, extreme_clicks

UID_A, UID_B = "1.2.826.0.1.3680043.2.1125.10", "1.2.826.0.1.3680043.2.1125.20"
#: Oblique, with non-square pixels; right-handed, as DICOM's orientation tags imply.
GEOMETRY = dict(shape=(8, 40, 36), lo=(2, 12, 10), hi=(6, 28, 26), spacing_xyz=(0.7, 0.9, 3.0),
                direction=rotation_direction((10.0, 20.0, -15.0)))


def two_series(folder, nested=False):
    """Series A (the phantom, 'T1 axial') and B (its negative, 'T2 axial') in one folder, or in
    patient/study/series subfolders as PACS exports them."""
    image, truth = box_phantom(**GEOMETRY)
    other = sitk.Cast(-sitk.Cast(image, sitk.sitkInt16), sitk.sitkInt16)
    where_a = folder / "PAT1" / "STUDY1" / "SER1" if nested else folder
    where_b = folder / "PAT1" / "STUDY1" / "SER2" if nested else folder
    write_dicom_series(image, where_a, series=UID_A, description="T1 axial", prefix="a")
    write_dicom_series(other, where_b, series=UID_B, description="T2 axial", prefix="b")
    return image, other, truth


def test_several_series_are_listed_with_description_and_size(tmp_path):
    two_series(tmp_path / "dcm")
    with pytest.raises(InputError) as info:
        read_image(tmp_path / "dcm")
    message = str(info.value)
    assert "holds 2 DICOM series" in message and "choose one with --series UID" in message
    assert f"{UID_A} 'T1 axial' (8 files, " in message and f"{UID_B} 'T2 axial'" in message
    assert "\n" not in message


@pytest.mark.parametrize("nested", [False, True])
def test_series_are_chosen_by_uid_with_exact_geometry(tmp_path, nested):
    image, other, _ = two_series(tmp_path / "dcm", nested)
    assert [s.uid for s in find_series(tmp_path / "dcm")] == [UID_A, UID_B]
    assert arrays_equal_on_same_grid(read_image(tmp_path / "dcm", [UID_A]), image)
    assert arrays_equal_on_same_grid(read_image(tmp_path / "dcm", [UID_B]), other)


def test_a_nested_export_with_one_series_is_found(tmp_path):
    image, _ = box_phantom(**GEOMETRY)
    write_dicom_series(image, tmp_path / "export" / "PAT1" / "STUDY1" / "SER1")
    assert arrays_equal_on_same_grid(read_image(tmp_path / "export"), image)


def test_absent_or_missing_series_are_clear_errors(tmp_path):
    image, _, _ = two_series(tmp_path / "dcm")
    with pytest.raises(InputError, match=f"holds no series 9.9; it holds: {UID_A}"):
        read_image(tmp_path / "dcm", ["9.9"])
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(InputError, match="holds no DICOM series"):
        read_image(tmp_path / "empty")
    write_dicom_series(image, tmp_path / "one")
    with pytest.raises(InputError, match="holds no series 9.9"):
        read_image(tmp_path / "one", ["9.9"])
    assert arrays_equal_on_same_grid(read_image(tmp_path / "one", ["9.9"],
                                                series_required=False), image)


def test_segment_series_option_and_its_error(tmp_path, capfd):
    image, _, truth = two_series(tmp_path / "dcm", nested=True)
    clicks = Clicks.from_points(extreme_clicks(image, truth, inward=(1, 2, 2)))
    (tmp_path / "clicks.json").write_text(json.dumps(clicks.to_multiple_points()))
    out = tmp_path / "mask.mha"
    args = ["segment", str(tmp_path / "dcm"), str(tmp_path / "clicks.json"), "-o", str(out),
            "--method", "classical"]
    assert main(args) == 2 and not out.exists()
    last = capfd.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: folder dcm holds 2 DICOM series: ") and UID_B in last
    assert main([*args, "--series", UID_A]) == 0
    mask = sitk.ReadImage(str(out))
    assert mask.GetSize() == image.GetSize() and np.allclose(mask.GetOrigin(), image.GetOrigin())


def test_batch_series_option_applies_per_case(tmp_path, capfd):
    image, _, truth = two_series(tmp_path / "cases" / "two" / "DICOM")
    write_dicom_series(image, tmp_path / "cases" / "one" / "DICOM")
    clicks = Clicks.from_points(extreme_clicks(image, truth, inward=(1, 2, 2)))
    for case in ("one", "two"):
        (tmp_path / "cases" / case / "lesion-clicks.json").write_text(
            json.dumps(clicks.to_multiple_points()))
    out = tmp_path / "out"
    assert main(["batch", str(tmp_path / "cases"), str(out), "--method", "classical"]) == 2
    report = json.loads((out / "batch_report.json").read_text(encoding="utf-8"))
    assert [f["case"] for f in report["failed"]] == ["two"]
    assert "--series UID" in report["failed"][0]["error"]
    assert main(["batch", str(tmp_path / "cases"), str(tmp_path / "out2"), "--method",
                 "classical", "--series", UID_A]) == 0
    assert sorted(p.name for p in (tmp_path / "out2").glob("*.mha")) == ["one.mha", "two.mha"]


def test_series_option_on_an_image_file_is_refused(tmp_path, capfd):
    image, truth = box_phantom(**GEOMETRY)
    sitk.WriteImage(image, str(tmp_path / "scan.mha"))
    clicks = Clicks.from_points(extreme_clicks(image, truth, inward=(1, 2, 2)))
    (tmp_path / "clicks.json").write_text(json.dumps(clicks.to_multiple_points()))
    out = tmp_path / "mask.mha"
    assert main(["segment", str(tmp_path / "scan.mha"), str(tmp_path / "clicks.json"), "-o",
                 str(out), "--series", UID_A]) == 2 and not out.exists()
    assert "scan.mha is not a folder" in capfd.readouterr().err.strip().splitlines()[-1]
